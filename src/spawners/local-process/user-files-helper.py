"""The hub's hands in a user's files (src/spawners/local-process/user-files.ts).

The launcher starts it as the user's uid, in the user's directory, with the hub's request as its
arguments: `python3 -I -S -c <this file's text> OP ARG...`. The launcher gives a process a single
log file for its standard output and error; this program keeps the two apart, so that the hub can
read a command's output exactly. It writes one JSON line (or, for `stream`, the command's output)
to that file and nothing else.

  run ARGV...       run ARGV (no shell): {"code", "signal", "stdout", "stderr"}, outputs in base64
  stream ARGV...    run ARGV with its standard output as this program's; when it fails, the file
                    holds its standard error instead, and this program exits with its code
  lstat PATH        {"info": null} or {"info": {"kind", "mtime_ms"}}, symbolic links not followed
  readdir PATH      {"names": [...]}
  realpath PATH     {"path": ...}, symbolic links resolved as far as the path exists
  rename FROM TO    {}
  unlink PATH       {}, a missing file is fine

An operation that fails answers {"error": "...", "errno": "ENOENT"} and exits 1.
"""
import errno
import json
import os
import stat
import sys

# base64, signal and subprocess are imported by the operations that run a command: the file
# operations, the most frequent, start faster without them.


def answer(value):
    os.write(1, (json.dumps(value) + '\n').encode())


def encoded(data):
    import base64
    return base64.b64encode(data).decode('ascii')


def run(argv):
    import signal
    import subprocess
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as error:
        return {'code': None, 'signal': None, 'stdout': '', 'stderr': encoded(('%s: %s' % (argv[0], error.strerror)).encode())}
    code = done.returncode
    return {
        'code': code if code >= 0 else None,
        'signal': signal.Signals(-code).name if code < 0 else None,
        'stdout': encoded(done.stdout),
        'stderr': encoded(done.stderr),
    }


def stream(argv):
    import subprocess
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        code, said = done.returncode, done.stderr
    except OSError as error:
        code, said = 127, ('%s: %s\n' % (argv[0], error.strerror)).encode()
    if code == 0:
        return 0
    os.ftruncate(1, 0)  # what was written is not the output the hub asked for
    os.write(1, said[-4000:] or ('%s failed (%s)\n' % (argv[0], code)).encode())
    return code if code > 0 else 128 - code


def lstat(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {'info': None}
    mode = info.st_mode
    kind = 'directory' if stat.S_ISDIR(mode) else 'file' if stat.S_ISREG(mode) else 'symlink' if stat.S_ISLNK(mode) else 'other'
    return {'info': {'kind': kind, 'mtime_ms': info.st_mtime_ns / 1e6}}


def unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return {}


OPERATIONS = {
    'run': lambda args: run(args),
    'lstat': lambda args: lstat(args[0]),
    'readdir': lambda args: {'names': os.listdir(args[0])},
    'realpath': lambda args: {'path': os.path.realpath(args[0])},
    'rename': lambda args: os.rename(args[0], args[1]) or {},
    'unlink': lambda args: unlink(args[0]),
}


def main():
    op, args = sys.argv[1], sys.argv[2:]
    if op == 'stream':
        return stream(args)
    try:
        answer(OPERATIONS[op](args))
        return 0
    except OSError as error:
        answer({'error': '%s: %s' % (error.strerror, error.filename), 'errno': errno.errorcode.get(error.errno, '')})
        return 1


sys.exit(main())
