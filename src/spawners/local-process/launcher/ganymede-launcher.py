"""Ganymede's launcher: the one process that keeps root's powers while the hub runs unprivileged.

It starts each user's server as that user's uid, in a cgroup of its own with the server's limits,
reports its exit, and refuses everything outside that brief: root, uids outside the configured ranges,
the hub's own account, paths outside the users' root. client.ts is its only caller and documents the
protocol: newline-delimited JSON, the configuration as the first line on stdin, then requests on stdin,
answers and exit events on stdout; stderr carries the launcher's own diagnostics, one JSON object a
line, never an environment value.

Run as `/usr/bin/python3 -I -S ganymede-launcher.py`: the standard library only, imported sparingly
(its resident memory stays near 10 MB), single-threaded (a fork from a threaded process is unsafe).
Each server is forked from this small process, so a spawn costs the hub nothing but a pipe write.

The cgroup tree is the record that outlives the launcher: a server runs in `<base>/<scope>/<name>`,
where base is `<own cgroup>/ganymede` in each cgroup v1 hierarchy (memory, cpu, cpuacct, pids), or
`<own cgroup>/servers` on cgroup v2 (the hub and the launcher move to `<own cgroup>/hub`, since a v2
cgroup with processes cannot hand controllers to its children). A restarted launcher lists and cleans
up servers from there; it removes the empty cgroups of its scope at start, and the scope itself when
it exits with no server left in it. The v2 path is tested against a directory laid out as cgroup2fs, not a real one.
"""
import errno
import json
import os
import re
import selectors
import signal
import stat
import subprocess
import sys

import _posixsubprocess
import time

NAME = re.compile(r'[a-z0-9._-]{1,100}')
SCOPE = re.compile(r'[a-z0-9]{1,32}')
# _posixsubprocess.fork_exec's arguments are private to each Python version; those whose layout this
# launcher passes (Debian 12's 3.11) start servers without waiting for each exec, others use Popen.
SETPRIV = '/usr/bin/setpriv'
SWITCH_POLL_S = 0.001
SWITCH_TIMEOUT_S = 10
FORK_EXEC_ARGS = 23 if sys.version_info[:2] == (3, 11) and os.access(SETPRIV, os.X_OK) else None
SIGNALS = {'SIGTERM': signal.SIGTERM, 'SIGKILL': signal.SIGKILL, 'SIGINT': signal.SIGINT, 'SIGHUP': signal.SIGHUP}
MAX_ID = 4294967294  # (uid_t) -1 means "unchanged" to setresuid
CFS_PERIOD_US = 100000
KILL_ROUNDS = 200  # x 10 ms: how long a cgroup is SIGKILLed before the launcher gives up on it
MAX_LINE = 1 << 20
V1_CONTROLLERS = ('memory', 'cpu', 'cpuacct', 'pids')
V2_CONTROLLERS = ('memory', 'cpu', 'pids')
UNLIMITED_V1 = 1 << 62  # memory.limit_in_bytes reads 9223372036854771712 when unset
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
O_DIR_NOFOLLOW = O_DIR | os.O_NOFOLLOW
# CapEff bits the launcher cannot work without: change uids and gids, signal, hand over and tidy the
# users' directories and logs, write the cgroup tree.
NEEDED_CAPABILITIES = {'CAP_CHOWN': 0, 'CAP_DAC_OVERRIDE': 1, 'CAP_FOWNER': 3, 'CAP_KILL': 5, 'CAP_SETGID': 6, 'CAP_SETUID': 7}


class Refused(Exception):
    """A request the launcher does not carry out; the message goes back to the hub as is."""


class Exit(Exception):
    """Leave the event loop and exit 0, leaving the servers running."""


# ---------------------------------------------------------------------------------------------
# Output


def emit(message):
    """An answer or event on stdout."""
    data = (json.dumps(message, separators=(',', ':')) + '\n').encode()
    while data:
        data = data[os.write(1, data):]


def diag(level, msg, **fields):
    """A diagnostic on stderr: the hub logs it through pino."""
    fields['level'] = level
    fields['msg'] = msg
    try:
        os.write(2, (json.dumps(fields, separators=(',', ':')) + '\n').encode())
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Small file and /proc helpers


def read_text(path):
    with open(path, 'rb') as f:
        return f.read().decode()


def write_text(path, value):
    """Write a cgroup file (created when missing: only a directory laid out like cgroupfs lets that happen)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def keyed_value(path, key):
    """The number after `key` in a file of `key value` lines (memory.events, cpu.stat, memory.oom_control); 0 when absent."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(' ')
        if name == key:
            return int(value)
    return 0


def read_number(path):
    """An integer cgroup file; None for `max` (no limit)."""
    text = read_text(path).strip()
    return None if text == 'max' else int(text)


def proc_stat(pid):
    """(state, ppid, pgrp, session, start_time) from /proc/<pid>/stat; None when the process is gone."""
    try:
        text = read_text('/proc/%d/stat' % pid)
    except OSError:
        return None
    # The command name in parentheses may hold spaces and ')': the fields after the last ')' are fixed.
    fields = text[text.rindex(')') + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def runs_setpriv(pid):
    """Is the process still setpriv, before its exec of the server?"""
    try:
        return os.readlink('/proc/%d/exe' % pid) == SETPRIV
    except OSError:
        return False


def proc_uids(pid):
    """Real, effective, saved and filesystem uid of a process; None when it is gone."""
    try:
        for line in read_text('/proc/%d/status' % pid).splitlines():
            if line.startswith('Uid:'):
                return [int(field) for field in line.split()[1:5]]
    except OSError:
        pass
    return None


def proc_ids(pid, key):
    """The real id on the `Uid:` or `Gid:` line of /proc/<pid>/status; None when the process is gone."""
    try:
        for line in read_text('/proc/%d/status' % pid).splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def is_alive(pid):
    state = proc_stat(pid)
    return state is not None and state[0] not in ('Z', 'X')


def missing_capabilities():
    for line in read_text('/proc/self/status').splitlines():
        if line.startswith('CapEff:'):
            effective = int(line.split()[1], 16)
            return [name for name, bit in NEEDED_CAPABILITIES.items() if not effective >> bit & 1]
    return list(NEEDED_CAPABILITIES)


def settle():
    """Adopt the servers' orphaned descendants, so that they are reaped even where PID 1 reaps nothing;
    and hand back to the system the memory that compiling this file took."""
    try:
        import ctypes  # only here: it costs half a megabyte

        libc = ctypes.CDLL(None, use_errno=True)
        libc.malloc_trim(0)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    except (ImportError, OSError) as error:
        diag('warn', 'cannot become a child subreaper; orphaned server processes go to PID 1', error=str(error))


# ---------------------------------------------------------------------------------------------
# Checking requests


def integer(value, what, low=0, high=MAX_ID):
    if type(value) is not int or not low <= value <= high:
        raise Refused('%s must be an integer from %d to %d, not %s' % (what, low, high, json.dumps(value)))
    return value


def positive_number(value, what):
    if type(value) not in (int, float) or not value > 0:
        raise Refused('%s must be a positive number, not %s' % (what, json.dumps(value)))
    return value


def checked_string(value, what):
    if not isinstance(value, str) or '\0' in value:
        raise Refused('%s must be a string without NUL characters' % what)
    return value


def absolute_path(value, what):
    checked_string(value, what)
    if not value.startswith('/'):
        raise Refused('%s must be an absolute path, not %s' % (what, json.dumps(value)))
    return value


def server_name(value):
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise Refused('server name must match [a-z0-9._-]{1,100}, not %s' % json.dumps(value))
    return value


def inside(path, root):
    return path.startswith(root + '/')


class Config:
    KEYS = {'uid_ranges', 'min_uid', 'allowed_gids', 'users_root', 'logs_root', 'log_owner', 'scope', 'cgroup'}

    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise Refused('the configuration must be a JSON object')
        unknown = sorted(set(raw) - self.KEYS)
        if unknown:
            raise Refused('unknown configuration keys: %s' % ', '.join(unknown))
        ranges = raw.get('uid_ranges')
        if not isinstance(ranges, list) or not ranges:
            raise Refused('uid_ranges must be a non-empty list of [first, last] pairs')
        self.uid_ranges = []
        for pair in ranges:
            if not isinstance(pair, list) or len(pair) != 2:
                raise Refused('each of uid_ranges must be a [first, last] pair, not %s' % json.dumps(pair))
            first, last = integer(pair[0], 'a uid range start', 1), integer(pair[1], 'a uid range end', 1)
            if first > last:
                raise Refused('uid range %d-%d is empty' % (first, last))
            self.uid_ranges.append((first, last))
        self.min_uid = integer(raw.get('min_uid', 1000), 'min_uid', 1)
        gids = raw.get('allowed_gids', [])
        if not isinstance(gids, list):
            raise Refused('allowed_gids must be a list of gids')
        self.allowed_gids = {integer(gid, 'each of allowed_gids', 1) for gid in gids}
        self.users_root = self.root_directory(raw.get('users_root'), 'users_root')
        self.logs_root = self.root_directory(raw.get('logs_root'), 'logs_root')
        owner = raw.get('log_owner')
        if not isinstance(owner, list) or len(owner) != 2:
            raise Refused('log_owner must be a [uid, gid] pair')
        self.log_owner = (integer(owner[0], 'log_owner uid'), integer(owner[1], 'log_owner gid'))
        scope = raw.get('scope')
        if not isinstance(scope, str) or not SCOPE.fullmatch(scope):
            raise Refused('scope must match [a-z0-9]{1,32}, not %s' % json.dumps(scope))
        self.scope = scope
        cgroup = raw.get('cgroup', {})
        if not isinstance(cgroup, dict) or set(cgroup) - {'mode', 'root'}:
            raise Refused('cgroup must be an object with mode and, optionally, root')
        self.cgroup_mode = cgroup.get('mode', 'auto')
        if self.cgroup_mode not in ('auto', 'v1', 'v2', 'none'):
            raise Refused('cgroup.mode must be auto, v1, v2 or none, not %s' % json.dumps(self.cgroup_mode))
        root = cgroup.get('root')
        self.cgroup_root = None if root is None else os.path.normpath(absolute_path(root, 'cgroup.root'))

    @staticmethod
    def root_directory(value, what):
        """(as given, normalized; resolved) of an existing directory other than /."""
        given = os.path.normpath(absolute_path(value, what))
        real = os.path.realpath(given)
        if real == '/' or not os.path.isdir(real):
            raise Refused('%s %s must be an existing directory other than /' % (what, given))
        return given, real


class Policy:
    """Who a server may run as, and where its files may be."""

    def __init__(self, config):
        self.config = config
        parent = os.getppid()
        # The hub's own account, before and after it drops root: never a server's.
        self.hub_uids = {config.log_owner[0], proc_ids(parent, 'Uid:')}
        self.hub_gids = {config.log_owner[1], proc_ids(parent, 'Gid:')}

    def uid_refusal(self, uid):
        """Why `uid` may not run a server (or be signalled); None when it may."""
        config = self.config
        if uid == 0:
            return 'uid 0 (root) is never allowed'
        if uid in self.hub_uids:
            return 'uid %d is the hub\'s own account' % uid
        if uid < config.min_uid:
            return 'uid %d is below min_uid %d' % (uid, config.min_uid)
        if not any(first <= uid <= last for first, last in config.uid_ranges):
            ranges = ', '.join('%d-%d' % pair for pair in config.uid_ranges)
            return 'uid %d is outside the allowed uid ranges (%s)' % (uid, ranges)
        return None

    def check_uid(self, value):
        uid = integer(value, 'uid')
        refusal = self.uid_refusal(uid)
        if refusal:
            raise Refused(refusal)
        return uid

    def check_gid(self, value, what='gid'):
        gid = integer(value, what)
        if gid == 0:
            raise Refused('%s 0 (root) is never allowed' % what)
        if gid in self.hub_gids:
            raise Refused('%s %d is the hub\'s own group' % (what, gid))
        if gid < self.config.min_uid and gid not in self.config.allowed_gids:
            raise Refused('%s %d is below min_uid %d and not in allowed_gids' % (what, gid, self.config.min_uid))
        return gid

    def working_directory(self, value):
        given, real = self.config.users_root
        path = os.path.realpath(absolute_path(value, 'cwd'))
        if not inside(path, real):
            raise Refused('working directory %s is not inside users_root %s' % (value, given))
        return path

    def log_file(self, value):
        given, real = self.config.logs_root
        absolute_path(value, 'log_file')
        directory, name = os.path.split(value)
        directory = os.path.realpath(directory)
        if name in ('', '.', '..') or not (directory == real or inside(directory, real)):
            raise Refused('log file %s is not inside logs_root %s' % (value, given))
        return directory + '/' + name

    def below_users_root(self, value):
        """The components of `value` below users_root (at least one); refuses users_root itself and '..'."""
        absolute_path(value, 'path')
        parts = value.rstrip('/').split('/')
        if '..' in parts or '.' in parts:
            raise Refused('path %s must not contain . or .. components' % value)
        path = os.path.normpath(value)
        for root in self.config.users_root:
            if path == root:
                raise Refused('%s is users_root itself' % value)
            if inside(path, root):
                return path[len(root) + 1:].split('/')
        raise Refused('path %s is not inside users_root %s' % (value, self.config.users_root[0]))


def open_log(path, owner):
    """The server's log, appended to, owned by the hub's account so that it can read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise Refused('cannot open log file %s: %s' % (path, error.strerror))
    try:
        info = os.fstat(fd)
        # A hard link could make the chown below hand another file to the hub's account.
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise Refused('log file %s must be a regular file with a single link' % path)
        os.fchown(fd, owner[0], owner[1])
        os.fchmod(fd, 0o600)
        return fd
    except BaseException:
        os.close(fd)
        raise


def limits_of(value):
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {'memory_bytes', 'cpu', 'pids'}:
        raise Refused('limits must be an object with memory_bytes, cpu and pids, each optional')
    limits = {}
    if value.get('memory_bytes') is not None:
        limits['memory_bytes'] = integer(value['memory_bytes'], 'limits.memory_bytes', 1 << 20, 1 << 62)
    if value.get('cpu') is not None:
        limits['cpu'] = positive_number(value['cpu'], 'limits.cpu')
        if round(limits['cpu'] * CFS_PERIOD_US) < 1000:
            raise Refused('limits.cpu must be at least 0.01')
    if value.get('pids') is not None:
        limits['pids'] = integer(value['pids'], 'limits.pids', 1, 1 << 22)
    return limits


# ---------------------------------------------------------------------------------------------
# Directories under users_root, walked with directory descriptors so that no symlink is followed


def refuse_link(dir_fd, name, shown):
    try:
        is_link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        is_link = False
    raise Refused(('refusing to follow the symlink %s' if is_link else '%s is not a directory') % shown)


def open_subdir(dir_fd, name, shown):
    """The directory `name` in `dir_fd`, opened without following a symlink; None when it is missing."""
    try:
        return os.open(name, O_DIR_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            refuse_link(dir_fd, name, shown)
        raise


def open_parent(root, parts, create):
    """A descriptor of the directory that holds parts[-1], below `root`; None when missing and not `create`.
    Directories it creates are root's, mode 0755."""
    fd = os.open(root, O_DIR)
    try:
        for depth, part in enumerate(parts[:-1]):
            shown = root + '/' + '/'.join(parts[:depth + 1])
            child = open_subdir(fd, part, shown)
            created = False
            if child is None:
                if not create:
                    os.close(fd)
                    return None
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    created = True
                except FileExistsError:
                    pass
                child = open_subdir(fd, part, shown)
                if child is None:
                    raise Refused('%s vanished while it was created' % shown)
            os.close(fd)
            fd = child
            if created:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o755)
        return fd
    except BaseException:
        os.close(fd)
        raise


def remove_tree(dir_fd):
    """Empty the directory open at `dir_fd`, never following a symlink."""
    with os.scandir(dir_fd) as entries:
        found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in found:
        if is_dir:
            try:
                child = os.open(name, O_DIR_NOFOLLOW, dir_fd=dir_fd)
            except FileNotFoundError:
                continue
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                os.unlink(name, dir_fd=dir_fd)  # replaced by a symlink or file meanwhile
                continue
            try:
                remove_tree(child)
            finally:
                os.close(child)
            os.rmdir(name, dir_fd=dir_fd)
        else:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------------------------------------
# Cgroups: one class per layout, the same questions asked of each


class NoCgroups:
    """cgroup mode none: no limits, and a server's processes are known by its process group only."""

    version = None

    def describe(self):
        return {'version': None, 'base': None, 'bases': []}

    def create(self, name, limits):
        if limits:
            raise Refused('limits need cgroups, and this launcher has none (cgroup mode none, or no cgroup v1 or v2 found)')
        return {'cgroup': None}, [], 0

    def oom_kills(self, name):
        return 0

    def watch_oom(self, name):
        return None

    def join(self, procs):
        pass

    def leave(self):
        pass

    def remove(self, name):
        pass

    def sweep(self):
        pass

    def release(self):
        pass


class CgroupTree:
    """What cgroup v1 and v2 share: a server's cgroup is `<base>/<scope>/<name>` in each base."""

    version = None

    def __init__(self, scope):
        self.scope = scope
        self.bases = []
        self._home = None

    def describe(self):
        return {'version': self.version, 'base': self.bases[0], 'bases': list(self.bases)}

    def server_dirs(self, name):
        return [base + '/' + self.scope + '/' + name for base in self.bases]

    def join(self, procs):
        """Move the launcher into a server's cgroups (their cgroup.procs files), so that what it forks is born there."""
        for path in procs:
            try:
                write_text(path, str(os.getpid()))
            except OSError as error:
                self.leave()
                raise Refused('cannot join cgroup %s: %s' % (os.path.dirname(path), error.strerror))

    def leave(self):
        """Back to the launcher's own cgroups."""
        for path in self.home_procs():
            try:
                write_text(path, str(os.getpid()))
            except OSError as error:
                diag('error', 'cannot return to the launcher\'s own cgroup', cgroup=os.path.dirname(path), error=error.strerror)

    def home_procs(self):
        """The cgroup.procs files of the launcher's own cgroups, read once at start (open_cgroups), before any join."""
        return self._home

    def remember_home(self):
        self._home = self.own_procs()
        return self

    def names(self):
        try:
            found = os.listdir(self.bases[0] + '/' + self.scope)
        except FileNotFoundError:
            return []
        return sorted(name for name in found if NAME.fullmatch(name) and os.path.isdir(self.bases[0] + '/' + self.scope + '/' + name))

    def live_pids(self, name):
        pids = set()
        for directory in self.server_dirs(name):
            try:
                listed = read_text(directory + '/cgroup.procs').split()
            except FileNotFoundError:
                continue
            # Checked against /proc, since a directory laid out like cgroupfs keeps the pids written to it.
            pids.update(pid for pid in map(int, listed) if is_alive(pid))
        return sorted(pids)

    def prepare(self, name):
        """Remove an empty cgroup left by an earlier server of this name; refuse when one still runs in it."""
        if self.live_pids(name):
            raise Refused('server %s still runs in its cgroup (left by an earlier launcher): kill_cgroup it first' % name)
        self.remove(name)

    def kill(self, name):
        """SIGKILL every process of the cgroup until it is empty; the number of processes killed."""
        killed = set()
        for _ in range(KILL_ROUNDS):
            pids = self.live_pids(name)
            if not pids:
                return len(killed)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        raise Refused('processes of server %s still run after %d rounds of SIGKILL' % (name, KILL_ROUNDS))

    def remove(self, name):
        for directory in self.server_dirs(name):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
            except OSError as error:
                diag('warn', 'cannot remove a server cgroup', cgroup=directory, error=error.strerror)

    def sweep(self):
        """Remove the cgroups in which nothing runs any more (servers that ended while no launcher watched them)."""
        for name in self.names():
            if not self.live_pids(name):
                self.remove(name)

    def release(self):
        """At exit: sweep, then remove the scope's own directories unless servers still run in them (cleanup_servers: false)."""
        self.sweep()
        for base in self.bases:
            try:
                os.rmdir(base + '/' + self.scope)
            except OSError:
                pass  # not empty: servers left running for the next hub, or never made

    def make_dirs(self, name):
        made = []
        for directory in self.server_dirs(name):
            try:
                os.mkdir(directory)
            except OSError as error:
                for done in made:
                    os.rmdir(done)
                raise Refused('cannot create cgroup %s: %s' % (directory, error.strerror))
            made.append(directory)

    def write_limit(self, path, value):
        try:
            write_text(path, value)
        except OSError as error:
            raise Refused('cannot write %s to %s: %s' % (value, path, error.strerror))

    def create(self, name, limits):
        """Make the server's cgroup with its limits: (answer fields, cgroup.procs files to join, OOM kills so far)."""
        self.prepare(name)
        self.make_dirs(name)
        try:
            answer = {'cgroup': self.server_dirs(name)[0]}
            answer.update(self.write_limits(name, limits))
            return answer, [directory + '/cgroup.procs' for directory in self.server_dirs(name)], self.oom_kills(name)
        except BaseException:
            self.remove(name)
            raise

    def require(self, controller, limit):
        if controller not in self.controllers:
            raise Refused('a %s limit needs the %s cgroup controller, which %s' % (limit, controller, self.missing_controller))


class CgroupV1(CgroupTree):
    version = 1
    missing_controller = 'this machine does not mount'

    def __init__(self, scope, root):
        super().__init__(scope)
        mounted = set()
        for line in read_text('/proc/self/cgroup').splitlines():
            _, controllers, _path = line.split(':', 2)
            mounted.update(controllers.split(','))
        self.dir_of = {}  # controller -> its base directory
        for controller in V1_CONTROLLERS:
            if root is not None:
                base = root + '/' + controller
            else:
                mount = '/sys/fs/cgroup/' + controller
                if controller not in mounted or not os.path.exists(mount + '/cgroup.procs'):
                    continue
                # cpu and cpuacct may share one hierarchy (/sys/fs/cgroup/cpu -> cpu,cpuacct). The base is
                # the hierarchy's top, not the launcher's own cgroup: a restarted hub may sit in another
                # one (a service manager's new cgroup, or one per process as in some sandboxes) and must
                # still find its servers, which must outlive the old cgroup when cleanup_servers is false.
                base = os.path.realpath(mount) + '/ganymede'
            self.dir_of[controller] = base
        if 'memory' not in self.dir_of:
            raise Refused('cgroup v1 without a memory hierarchy at /sys/fs/cgroup/memory')
        self.controllers = set(self.dir_of)
        for base in self.dir_of.values():
            if base not in self.bases:
                self.bases.append(base)
        for base in self.bases:
            os.makedirs(base + '/' + scope, exist_ok=True)

    def dir(self, controller, name):
        return self.dir_of[controller] + '/' + self.scope + '/' + name

    def own_procs(self):
        own = set()
        for line in read_text('/proc/self/cgroup').splitlines():
            _, controllers, path = line.split(':', 2)
            for controller in controllers.split(','):
                if controller in self.dir_of:
                    top = os.path.realpath('/sys/fs/cgroup/' + controller)
                    own.add(top + path.rstrip('/') + '/cgroup.procs')
        return sorted(own)

    def write_limits(self, name, limits):
        answer = {}
        if 'memory_bytes' in limits:
            memory = self.dir('memory', name)
            value = str(limits['memory_bytes'])
            self.write_limit(memory + '/memory.limit_in_bytes', value)
            # memsw is memory + swap: the same figure leaves no swap. It exists only with swap accounting.
            answer['swap_limited'] = os.path.exists(memory + '/memory.memsw.limit_in_bytes')
            if answer['swap_limited']:
                self.write_limit(memory + '/memory.memsw.limit_in_bytes', value)
        if 'cpu' in limits:
            self.require('cpu', 'cpu')
            self.write_limit(self.dir('cpu', name) + '/cpu.cfs_period_us', str(CFS_PERIOD_US))
            self.write_limit(self.dir('cpu', name) + '/cpu.cfs_quota_us', str(round(limits['cpu'] * CFS_PERIOD_US)))
        if 'pids' in limits:
            self.require('pids', 'pids')
            self.write_limit(self.dir('pids', name) + '/pids.max', str(limits['pids']))
        return answer

    def oom_kills(self, name):
        return keyed_value(self.dir('memory', name) + '/memory.oom_control', 'oom_kill')

    def watch_oom(self, name):
        """An eventfd that becomes readable when the kernel's OOM killer acts in the server's cgroup (v1's cgroup.event_control)."""
        memory = self.dir('memory', name)
        event_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        control_fd = os.open(memory + '/memory.oom_control', os.O_RDONLY | os.O_CLOEXEC)
        try:
            write_text(memory + '/cgroup.event_control', '%d %d' % (event_fd, control_fd))
        except OSError as error:
            os.close(event_fd)
            raise Refused('cannot watch the memory limit of server %s: %s' % (name, error.strerror))
        finally:
            os.close(control_fd)  # the kernel keeps its own reference
        return event_fd

    def stats(self, name):
        memory = self.dir('memory', name)
        if not os.path.isdir(memory):
            raise Refused('no cgroup for server %s' % name)
        limit = read_number(memory + '/memory.limit_in_bytes')
        result = {
            'memory_bytes': read_number(memory + '/memory.usage_in_bytes'),
            'memory_limit': None if limit >= UNLIMITED_V1 else limit,
            'cpu_usage_ns': None,
            'pids_current': None,
            'pids_limit': None,
            'oom_kills': self.oom_kills(name),
        }
        if 'cpuacct' in self.controllers:
            result['cpu_usage_ns'] = read_number(self.dir('cpuacct', name) + '/cpuacct.usage')
        if 'pids' in self.controllers:
            result['pids_current'] = read_number(self.dir('pids', name) + '/pids.current')
            result['pids_limit'] = read_number(self.dir('pids', name) + '/pids.max')
        return result


class CgroupV2(CgroupTree):
    version = 2
    missing_controller = 'the launcher\'s cgroup was not given (with systemd: Delegate=yes in the hub\'s unit)'

    def __init__(self, scope, root):
        super().__init__(scope)
        if root is None:
            path = next(line[3:] for line in read_text('/proc/self/cgroup').splitlines() if line.startswith('0::'))
            own = '/sys/fs/cgroup' + path.rstrip('/')
        else:
            own = root
        if own.endswith('/hub'):
            own = os.path.dirname(own)
        available = read_text(own + '/cgroup.controllers').split()
        self.controllers = {controller for controller in V2_CONTROLLERS if controller in available}
        top = root is None and own == '/sys/fs/cgroup'  # the root cgroup may hold processes and hand out controllers
        if not top:
            self.move_processes(own, own + '/hub')
        try:
            self.enable_controllers(own)
        except OSError as error:
            if not (top and error.errno == errno.EBUSY):
                raise
            self.move_processes(own, own + '/hub')  # a cgroup namespace's root is no real root
            self.enable_controllers(own)
        base = own + '/servers'
        for directory in (base, base + '/' + scope):
            os.makedirs(directory, exist_ok=True)
            self.enable_controllers(directory)
        self.bases = [base]
        # Where the launcher lives between starts: its leaf after the move, or the real root it stays in.
        self.own = own if top and not os.path.isdir(own + '/hub') else own + '/hub'

    def own_procs(self):
        return [self.own + '/cgroup.procs']

    @staticmethod
    def move_processes(source, target):
        """Move every process of `source` to `target`, again for those forked meanwhile."""
        os.makedirs(target, exist_ok=True)
        moved = set()
        for _ in range(10):
            pids = set(map(int, read_text(source + '/cgroup.procs').split())) - moved
            if not pids:
                return
            for pid in sorted(pids):
                try:
                    write_text(target + '/cgroup.procs', str(pid))
                except OSError as error:
                    if error.errno != errno.ESRCH:
                        raise Refused('cannot move process %d from %s to %s: %s' % (pid, source, target, error.strerror))
                moved.add(pid)

    def enable_controllers(self, directory):
        path = directory + '/cgroup.subtree_control'
        try:
            enabled = read_text(path).split()
        except FileNotFoundError:
            enabled = []
        missing = [controller for controller in V2_CONTROLLERS if controller in self.controllers and controller not in enabled]
        if missing:
            write_text(path, ' '.join('+' + controller for controller in missing))

    def write_limits(self, name, limits):
        directory = self.server_dirs(name)[0]
        answer = {}
        if 'memory_bytes' in limits:
            self.require('memory', 'memory')
            self.write_limit(directory + '/memory.max', str(limits['memory_bytes']))
            # An OOM kill takes the whole server, not just its largest process (a kernel), as on v1 below.
            self.write_limit(directory + '/memory.oom.group', '1')
            try:
                write_text(directory + '/memory.swap.max', '0')
                answer['swap_limited'] = True
            except OSError:  # no swap accounting in this kernel
                answer['swap_limited'] = False
        if 'cpu' in limits:
            self.require('cpu', 'cpu')
            self.write_limit(directory + '/cpu.max', '%d %d' % (round(limits['cpu'] * CFS_PERIOD_US), CFS_PERIOD_US))
        if 'pids' in limits:
            self.require('pids', 'pids')
            self.write_limit(directory + '/pids.max', str(limits['pids']))
        return answer

    def oom_kills(self, name):
        return keyed_value(self.server_dirs(name)[0] + '/memory.events', 'oom_kill')

    def watch_oom(self, name):
        return None  # memory.oom.group kills the whole server

    def kill(self, name):
        try:
            write_text(self.server_dirs(name)[0] + '/cgroup.kill', '1')  # Linux 5.14+: all at once, forks included
        except OSError:
            pass
        return super().kill(name)

    def stats(self, name):
        directory = self.server_dirs(name)[0]
        if not os.path.isdir(directory):
            raise Refused('no cgroup for server %s' % name)
        return {
            'memory_bytes': read_number(directory + '/memory.current'),
            'memory_limit': read_number(directory + '/memory.max'),
            'cpu_usage_ns': keyed_value(directory + '/cpu.stat', 'usage_usec') * 1000,
            'pids_current': read_number(directory + '/pids.current'),
            'pids_limit': read_number(directory + '/pids.max'),
            'oom_kills': self.oom_kills(name),
        }


def open_cgroups(mode, root, scope):
    top = root or '/sys/fs/cgroup'
    if mode == 'auto':
        if os.path.exists(top + '/cgroup.controllers'):
            mode = 'v2'
        elif os.path.exists(top + '/memory/cgroup.procs'):
            mode = 'v1'
        else:
            mode = 'none'
    if mode == 'none':
        return NoCgroups()
    if mode == 'v2':
        if not os.path.exists(top + '/cgroup.controllers'):
            raise Refused('cgroup v2 asked for, but %s is not a cgroup2 tree' % top)
        return CgroupV2(scope, root).remember_home()
    if not os.path.exists(top + '/memory/cgroup.procs'):
        raise Refused('cgroup v1 asked for, but %s/memory is not a cgroup v1 hierarchy' % top)
    return CgroupV1(scope, root).remember_home()


# ---------------------------------------------------------------------------------------------
# Why a server could not start, in words for the hub's progress stream.


def describe_error(error, path, what, uid):
    if error.errno in (errno.EACCES, errno.EPERM):
        return 'permission denied on %s (%s, as uid %d)' % (path, what, uid)
    return '%s %s: %s' % (what, path, error.strerror)


def blocking_directory(path, uid, gid, groups):
    """The first directory on the way to `path` (itself included) that the account may not pass through, or None."""
    current = '/'
    for part in [''] + [p for p in path.split('/') if p]:
        current = os.path.join(current, part)
        info = os.stat(current)
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid == gid or info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return current
    return None


def resolve_command(plan):
    """
    The server command's path, found along the server's PATH as execvp would, and checked for the
    server's uid: the exec that setpriv makes could only say why it failed after the start was answered.
    """
    command, uid, gid, groups = plan['argv'][0], plan['uid'], plan['gid'], plan['groups']
    search = None if '/' in command else plan['env'].get('PATH', os.defpath)
    candidates = [command] if search is None else [os.path.join(directory or '.', command) for directory in search.split(':')]
    denied = None
    for path in candidates:
        path = path if os.path.isabs(path) else os.path.join(plan['cwd'], path)
        try:
            info = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        if blocking_directory(os.path.dirname(path), uid, gid, groups) is None and may_execute(info, uid, gid, groups):
            return path
        denied = denied or path
    if denied:
        raise Refused('permission denied on %s (the command, as uid %d)' % (denied, uid))
    if search is None:
        raise Refused('command %s not found' % command)
    raise Refused('command %s not found in PATH %s' % (command, search))


def may_execute(info, uid, gid, groups):
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == gid or info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def child_error(data, plan):
    """The OSError a child reported before its exec, as subprocess encodes it: b'OSError:<hex errno>:<noexec or not>'."""
    try:
        name, hex_errno, message = data.split(b':', 2)
        number = int(hex_errno, 16)
    except ValueError:
        return OSError(0, 'the server process failed before its exec: %r' % data[:200])
    if name != b'OSError' and not name.endswith(b'Error'):
        return OSError(0, message.decode(errors='replace'))
    # "noexec": the failure came before the exec, from chdir (the only step with a file name).
    return OSError(number, os.strerror(number), plan['cwd'] if message.startswith(b'noexec') else plan['argv'][0])


def describe_spawn_error(error, plan):
    """Why the server's exec failed, from what subprocess reports of its child: the directory or the command."""
    uid, command, cwd = plan['uid'], plan['argv'][0], plan['cwd']
    if error.filename == cwd:
        return describe_error(error, cwd, 'the working directory', uid)
    if error.errno in (errno.EACCES, errno.EPERM):
        return 'permission denied on %s (the command, as uid %d)' % (command, uid)
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        if '/' in command:
            return 'command %s not found' % command
        return 'command %s not found in PATH %s' % (command, plan['env'].get('PATH', os.defpath))
    return describe_error(error, command, 'the command', uid)


# ---------------------------------------------------------------------------------------------
# The launcher


class Server:
    """A server this launcher started, running until reaped."""

    __slots__ = ('name', 'pid', 'start_time', 'uid', 'request_id', 'answer', 'oom_baseline', 'status', 'oom_fd', 'oom_notified', 'plan', 'answered', 'failure', 'switch_deadline', 'exit_uids')

    def __init__(self, name, pid, start_time, uid, request_id, answer, oom_baseline):
        self.name, self.pid, self.start_time, self.uid = name, pid, start_time, uid
        self.request_id, self.answer, self.oom_baseline = request_id, answer, oom_baseline
        self.status = None
        self.plan = None
        self.answered = True
        self.failure = b''
        self.switch_deadline = 0.0
        self.exit_uids = None  # its uids as a zombie, when it exited before a switch was seen
        self.oom_fd = None
        self.oom_notified = False


class Launcher:
    def __init__(self, config, cgroups, wakeup_fd):
        self.config = config
        self.policy = Policy(config)
        self.cgroups = cgroups
        self.servers = {}  # name -> Server
        self.by_pid = {}
        self.selector = selectors.DefaultSelector()
        self.selector.register(0, selectors.EVENT_READ, self.on_input)
        self.selector.register(wakeup_fd, selectors.EVENT_READ, self.on_child_signal)
        self.pending = b''
        self.switching = []  # started through setpriv, not yet under their uid
        self.ops = {
            'start': self.op_start,
            'signal': self.op_signal,
            'kill_cgroup': self.op_kill_cgroup,
            'list': self.op_list,
            'stats': self.op_stats,
            'mkdir': self.op_mkdir,
            'remove': self.op_remove,
            'shutdown': self.op_shutdown,
        }

    def run(self, pending):
        self.pending = pending
        self.handle_lines()
        while True:
            # While a start waits for setpriv to change its uid, look again every millisecond.
            for key, _ in self.selector.select(SWITCH_POLL_S if self.switching else None):
                key.data(key.fd)
            if self.switching:
                self.check_switches()

    def check_switches(self):
        """Answer the starts whose process is now the server, under its uid (setpriv has done its part); fail those that took too long."""
        now = time.monotonic()
        for server in list(self.switching):
            # A server that exited at once (a command that fails): its uids as they were when it exited.
            exited = server.status is not None
            uids = server.exit_uids if exited else proc_uids(server.pid)
            if uids is not None and all(uid == server.uid for uid in uids) and (exited or not runs_setpriv(server.pid)):
                self.switching.remove(server)
                server.answered = True
                self.answer_start(server)
                if server.status is not None:
                    self.finish(server)
            elif uids is None or server.status is not None or now > server.switch_deadline:
                self.switching.remove(server)
                server.failure = b'noswitch'
                emit({'id': server.request_id, 'ok': False, 'error': 'the server process did not change to uid %d' % server.uid})
                diag('warn', 'server did not change its uid', name=server.name, pid=server.pid, uid=server.uid)
                self.kill_leftovers(server.name, server.pid)
                server.answered = True
                if server.status is not None:
                    self.finish(server)

    # -- requests --------------------------------------------------------------------------------

    def on_input(self, fd):
        data = os.read(fd, 65536)
        if not data:
            raise Exit()  # the hub is gone; its servers run on
        self.pending += data
        self.handle_lines()
        if len(self.pending) > MAX_LINE:
            self.pending = b''
            emit({'id': None, 'ok': False, 'error': 'request longer than %d bytes dropped' % MAX_LINE})

    def handle_lines(self):
        while b'\n' in self.pending:
            line, _, self.pending = self.pending.partition(b'\n')
            if line.strip():
                self.handle(line)

    def handle(self, line):
        try:
            request = json.loads(line)
        except ValueError:
            emit({'id': None, 'ok': False, 'error': 'a request that is not JSON'})
            return
        if not isinstance(request, dict) or type(request.get('id')) is not int:
            emit({'id': None, 'ok': False, 'error': 'a request must be an object with an integer id'})
            return
        request_id = request['id']
        handler = self.ops.get(request.get('op'))
        try:
            if handler is None:
                raise Refused('unknown op %s' % json.dumps(request.get('op')))
            answer = handler(request)
        except Refused as refusal:
            emit({'id': request_id, 'ok': False, 'error': str(refusal)})
        except Exit:
            raise
        except Exception as error:  # an OSError the checks did not foresee: answer, and keep serving
            diag('error', 'request failed', op=request.get('op'), error=repr(error))
            emit({'id': request_id, 'ok': False, 'error': '%s failed: %s' % (request.get('op'), error)})
        else:
            if answer is not None:  # start answers once its exec report is in
                answer.update(id=request_id, ok=True)
                emit(answer)

    def op_start(self, request):
        policy = self.policy
        name = server_name(request.get('name'))
        if name in self.servers:
            raise Refused('a server named %s is already running' % name)
        uid = policy.check_uid(request.get('uid'))
        gid = policy.check_gid(request.get('gid'))
        groups = request.get('groups', [])
        if not isinstance(groups, list):
            raise Refused('groups must be a list of gids')
        groups = [policy.check_gid(group, 'supplementary gid') for group in groups]
        # Others never write: a looser umask only lets a group (a course's teachers) share files.
        umask = integer(request.get('umask', 0o077), 'umask', 0, 0o777)
        if not umask & 0o002:
            raise Refused('umask %04o would let everyone write the server\'s files' % umask)
        argv = request.get('argv')
        if not isinstance(argv, list) or not argv or argv[0] == '':
            raise Refused('argv must be a non-empty list of strings')
        argv = [checked_string(arg, 'each argument') for arg in argv]
        env = request.get('env', {})
        if not isinstance(env, dict):
            raise Refused('env must be an object of strings')
        for key, value in env.items():
            if not key or '=' in key or '\0' in key:
                raise Refused('environment variable name %s is not valid' % json.dumps(key))
            checked_string(value, 'environment variable ' + key)
        if request.get('make_cwd') is True:
            # As mkdir with mode 0700: saves the hub a round trip per start.
            self.make_directory(request.get('cwd'), uid, gid, 0o700)
        cwd = policy.working_directory(request.get('cwd'))
        log_path = policy.log_file(request.get('log_file'))
        limits = limits_of(request.get('limits'))
        header = request.get('log_header', '')
        if not isinstance(header, str) or len(header) > 4096:
            raise Refused('log_header must be a string of at most 4096 characters')
        log_fd = open_log(log_path, self.config.log_owner)
        try:
            # The hub's line before the server's own output; the offset after it is where this run's output starts.
            if header:
                os.write(log_fd, header.encode('utf-8', 'replace'))
            log_offset = os.fstat(log_fd).st_size
            answer, procs, oom_baseline = self.cgroups.create(name, limits)
            answer['log_offset'] = log_offset
        except BaseException:
            os.close(log_fd)
            raise
        plan = {'uid': uid, 'gid': gid, 'groups': groups, 'argv': argv, 'env': env, 'cwd': cwd, 'umask': umask}
        try:
            pid, report = self.spawn(plan, procs, log_fd)
        except BaseException:
            self.discard_cgroup(name)
            raise
        finally:
            os.close(log_fd)
        state = proc_stat(pid)  # ours until we reap it, so the pid cannot have been reused
        server = Server(name, pid, state[4] if state else None, uid, request['id'], answer, oom_baseline)
        server.plan = plan
        self.servers[name] = server
        self.by_pid[pid] = server
        if report is not None:
            # Answered once the exec is known to have happened (or failed): see on_exec_report.
            server.answered = False
            self.selector.register(report, selectors.EVENT_READ, lambda fd: self.on_exec_report(fd, server))
        else:
            diag('info', 'server started', name=name, pid=pid, uid=uid)
        if 'memory_bytes' in limits:
            try:
                server.oom_fd = self.cgroups.watch_oom(name)
            except Refused as refusal:
                diag('warn', 'memory limit not watched', name=name, error=str(refusal))
            if server.oom_fd is not None:
                self.selector.register(server.oom_fd, selectors.EVENT_READ, lambda fd: self.on_oom(fd, server))
        return dict(answer, pid=pid, start_time=server.start_time) if server.answered else None

    def on_exec_report(self, fd, server):
        """What the child wrote before its exec (a failure), or EOF: it exec'd, and its start is answered."""
        data = os.read(fd, 4096)
        if data:
            server.failure += data
            return
        self.selector.unregister(fd)
        os.close(fd)
        server.answered = True
        if server.failure:
            emit({'id': server.request_id, 'ok': False, 'error': describe_spawn_error(child_error(server.failure, server.plan), server.plan)})
            diag('info', 'server did not start', name=server.name, uid=server.uid)
        elif server.plan.get('switch'):
            # setpriv runs: the start is answered once it has changed to the server's uid.
            server.answered = False
            server.switch_deadline = time.monotonic() + SWITCH_TIMEOUT_S
            self.switching.append(server)
            return
        else:
            self.answer_start(server)
        if server.status is not None:
            self.finish(server)

    def answer_start(self, server):
        emit(dict(server.answer, id=server.request_id, ok=True, pid=server.pid, start_time=server.start_time))
        diag('info', 'server started', name=server.name, pid=server.pid, uid=server.uid)

    def spawn(self, plan, procs, log_fd):
        """
        Start the server with subprocess's fork and exec, done in C: no Python runs in the child, so
        a start costs about a millisecond rather than the tens a Python fork takes (copied pages, a
        child running interpreter code). The child must be born in the server's cgroup, so the
        launcher steps into it for the fork and back out after.
        """
        uid = plan['uid']
        # subprocess enters cwd while still root: check first that the uid itself may.
        blocked = blocking_directory(plan['cwd'], uid, plan['gid'], plan['groups'])
        if blocked is not None:
            raise Refused('permission denied on %s (the working directory, as uid %d)' % (blocked, uid))
        if FORK_EXEC_ARGS is not None:
            return self.fork_exec(plan, procs, log_fd)
        self.cgroups.join(procs)
        try:
            return subprocess.Popen(
                plan['argv'],
                env=plan['env'],
                cwd=plan['cwd'],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                close_fds=True,
                start_new_session=True,
                user=uid,
                group=plan['gid'],
                extra_groups=plan['groups'],
                umask=plan['umask'],
                restore_signals=True,
            ).pid, None
        except OSError as error:
            raise Refused(describe_spawn_error(error, plan))
        except (subprocess.SubprocessError, ValueError) as error:
            raise Refused('cannot start the server: %s' % error)
        finally:
            self.cgroups.leave()

    def fork_exec(self, plan, procs, log_fd):
        """
        subprocess's own fork and exec (C, no Python in the child), without waiting for the exec: the
        child reports a failure before it on a close-on-exec pipe, which the event loop reads, so a
        storm of starts is not a queue of waits for each child to be scheduled. The child is a vfork
        (it borrows the launcher's memory until its exec): a plain fork made every page the launcher
        wrote afterwards a copy-on-write fault with a TLB shootdown, about 9 ms of CPU per start.
        subprocess only vforks when the child keeps the launcher's uid, so the uid change is done by
        util-linux's setpriv, the child's first exec, which then execs the server.
        """
        env = plan['env']
        command = resolve_command(plan)
        groups = ','.join(str(group) for group in plan['groups'])
        plan['switch'] = True
        argv = [SETPRIV, '--reuid=%d' % plan['uid'], '--regid=%d' % plan['gid'], '--groups=' + groups if groups else '--clear-groups', '--', command] + plan['argv'][1:]
        executables = (os.fsencode(SETPRIV),)
        env_list = [os.fsencode(key) + b'=' + os.fsencode(value) for key, value in env.items()]
        null = os.open('/dev/null', os.O_RDONLY | os.O_CLOEXEC)
        report_read, report_write = os.pipe()
        try:
            self.cgroups.join(procs)
            try:
                pid = _posixsubprocess.fork_exec(
                    [os.fsencode(arg) for arg in argv], executables,
                    True, (report_write,), plan['cwd'], env_list,
                    null, -1, -1, log_fd, -1, log_fd,
                    report_read, report_write,
                    True, True, -1,
                    None, None, None, plan['umask'],
                    None, True,
                )
            finally:
                self.cgroups.leave()
        except BaseException:
            os.close(report_read)
            raise
        finally:
            os.close(report_write)
            os.close(null)
        return pid, report_read

    def on_oom(self, fd, server):
        """The OOM killer acted in a server's cgroup: the whole server stops, so that people learn why."""
        try:
            os.read(fd, 8)
        except BlockingIOError:
            return
        if self.servers.get(server.name) is not server or server.status is not None:
            return
        # The notice comes when the cgroup runs out of memory, before the kernel's OOM killer has counted
        # its kill: the server is stopped now, and reported as stopped by its memory limit.
        server.oom_notified = True
        diag('info', 'server over its memory limit: stopping it', name=server.name, pid=server.pid)
        self.kill_leftovers(server.name, server.pid)

    def op_signal(self, request):
        pid = integer(request.get('pid'), 'pid', 2, 1 << 22)
        start_time = integer(request.get('start_time'), 'start_time', 0, 1 << 62)
        signum = SIGNALS.get(request.get('signal'))
        if signum is None:
            raise Refused('signal must be one of %s' % ', '.join(SIGNALS))
        state = proc_stat(pid)
        if state is None or state[4] != start_time:
            return {'sent': False}  # gone, or the pid now belongs to another process
        uid = proc_ids(pid, 'Uid:')
        if uid is None:
            return {'sent': False}
        refusal = self.policy.uid_refusal(uid)
        if refusal:
            raise Refused('refusing to signal process %d: %s' % (pid, refusal))
        if state[2] != pid:
            raise Refused('refusing to signal process %d: it does not lead a process group' % pid)
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            return {'sent': False}
        return {'sent': True}

    def op_kill_cgroup(self, request):
        name = server_name(request.get('name'))
        if isinstance(self.cgroups, NoCgroups):
            server = self.servers.get(name)
            if server is None or server.status is not None:
                return {'killed': 0}
            os.killpg(server.pid, signal.SIGKILL)
            return {'killed': 1}
        killed = self.cgroups.kill(name)
        self.cgroups.remove(name)
        return {'killed': killed}

    def op_list(self, request):
        if isinstance(self.cgroups, NoCgroups):
            servers = [
                {'name': s.name, 'pids': [s.pid], 'leader': {'pid': s.pid, 'start_time': s.start_time, 'uid': s.uid}}
                for s in self.servers.values() if s.status is None
            ]
            return {'servers': servers}
        return {'servers': [self.describe_cgroup(name) for name in self.cgroups.names()]}

    def describe_cgroup(self, name):
        pids = self.cgroups.live_pids(name)
        server = self.servers.get(name)
        # A server leads its session and started first in its cgroup: its processes came after it.
        candidates = [server.pid] if server is not None and server.pid in pids else pids
        leaders = []
        for pid in candidates:
            state, uid = proc_stat(pid), proc_ids(pid, 'Uid:')
            if state is not None and state[3] == pid and uid is not None:
                leaders.append((state[4], pid, uid))
        if not leaders:
            return {'name': name, 'pids': pids, 'leader': None}
        start_time, pid, uid = min(leaders)
        return {'name': name, 'pids': pids, 'leader': {'pid': pid, 'start_time': start_time, 'uid': uid}}

    def op_stats(self, request):
        name = server_name(request.get('name'))
        if isinstance(self.cgroups, NoCgroups):
            raise Refused('stats need cgroups, and this launcher has none')
        return self.cgroups.stats(name)

    def op_mkdir(self, request):
        uid = self.policy.check_uid(request.get('uid'))
        gid = self.policy.check_gid(request.get('gid'))
        # Permission bits and the setgid bit (a shared folder's new files keep its group); never setuid or sticky.
        mode = integer(request.get('mode'), 'mode', 0, 0o2777)
        if mode & 0o1000:
            raise Refused('mode %04o: the sticky bit is not for users\' folders' % mode)
        return {'created': self.make_directory(request.get('path'), uid, gid, mode)}

    def make_directory(self, path, uid, gid, mode):
        """`path` below users_root as a directory of uid:gid with `mode` (parents root's); whether it was made now."""
        parts = self.policy.below_users_root(path)
        root = self.config.users_root[1]
        shown = path
        parent = open_parent(root, parts, create=True)
        try:
            name = parts[-1]
            created = True
            try:
                os.mkdir(name, 0o700, dir_fd=parent)
            except FileExistsError:
                created = False
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                refuse_link(parent, name, shown)
            if not created and info.st_uid not in (uid, 0):
                raise Refused('%s already exists and belongs to uid %d' % (shown, info.st_uid))
            fd = os.open(name, O_DIR_NOFOLLOW, dir_fd=parent)
            try:
                opened = os.fstat(fd)
                if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                    raise Refused('%s changed while it was checked' % shown)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        finally:
            os.close(parent)
        return created

    def op_remove(self, request):
        parts = self.policy.below_users_root(request.get('path'))
        parent = open_parent(self.config.users_root[1], parts, create=False)
        if parent is None:
            return {'removed': False}
        try:
            name = parts[-1]
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                return {'removed': False}
            if stat.S_ISDIR(info.st_mode):
                fd = os.open(name, O_DIR_NOFOLLOW, dir_fd=parent)
                try:
                    remove_tree(fd)
                finally:
                    os.close(fd)
                os.rmdir(name, dir_fd=parent)
            else:
                os.unlink(name, dir_fd=parent)
        finally:
            os.close(parent)
        return {'removed': True}

    def op_shutdown(self, request):
        emit({'id': request['id'], 'ok': True})
        raise Exit()

    # -- servers starting and exiting ------------------------------------------------------------

    def on_child_signal(self, fd):
        try:
            while os.read(fd, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            server = self.by_pid.get(info.si_pid)
            if server is not None:
                # Before reaping: until then the zombie holds the pid, so the group cannot be a newer one's.
                self.kill_leftovers(server.name, server.pid)
                # If it exits before its switch to the server's uid was seen (a command that fails at
                # once; its exec report may even come after this), only the zombie tells whether setpriv changed the uid.
                server.exit_uids = proc_uids(server.pid)
            _, status = os.waitpid(info.si_pid, 0)
            if server is None:
                continue  # an orphan of some server, adopted as subreaper
            server.status = status
            if server.answered:
                self.finish(server)

    def kill_leftovers(self, name, pid):
        """The server's other processes must not outlive it: its cgroup's, or without cgroups its process group's."""
        if isinstance(self.cgroups, NoCgroups):
            if pid is not None:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            return
        try:
            self.cgroups.kill(name)
        except Refused as refusal:
            diag('warn', 'processes outlive their server', name=name, error=str(refusal))

    def finish(self, server):
        if server.failure:  # never exec'd: its start was refused, there is no exit to report
            self.forget(server)
            return
        code = os.waitstatus_to_exitcode(server.status)
        oom_kills = self.cgroups.oom_kills(server.name)
        event = {
            'event': 'exit',
            'name': server.name,
            'pid': server.pid,
            'start_time': server.start_time,
            'code': code if code >= 0 else None,
            'signal': signal.Signals(-code).name if code < 0 else None,
            'oom_killed': oom_kills > server.oom_baseline or server.oom_notified,
        }
        emit(event)
        diag('info', 'server exited', name=server.name, pid=server.pid, code=event['code'], signal=event['signal'], oom_killed=event['oom_killed'])
        self.forget(server)

    def forget(self, server):
        if server.oom_fd is not None:
            self.selector.unregister(server.oom_fd)
            os.close(server.oom_fd)
            server.oom_fd = None
        del self.servers[server.name]
        del self.by_pid[server.pid]
        self.discard_cgroup(server.name)

    def discard_cgroup(self, name):
        self.kill_leftovers(name, None)
        self.cgroups.remove(name)


def read_config_line():
    """The first line on stdin, and whatever came after it."""
    data = b''
    while b'\n' not in data:
        chunk = os.read(0, 65536)
        if not chunk:
            raise Refused('stdin closed before the configuration line')
        data += chunk
        if len(data) > MAX_LINE:
            raise Refused('configuration line too long')
    line, _, rest = data.partition(b'\n')
    return line, rest


def main():
    os.umask(0o022)
    # A Ctrl-C meant for the hub's terminal. Handled rather than ignored: an ignored signal would stay
    # ignored in the servers across exec, and Jupyter interrupts kernels with SIGINT.
    signal.signal(signal.SIGINT, lambda number, frame: None)
    try:
        line, rest = read_config_line()
        try:
            raw = json.loads(line)
        except ValueError:
            raise Refused('the configuration line is not JSON')
        config = Config(raw)
        missing = missing_capabilities()
        if missing:
            raise Refused('the launcher needs %s (run it as root)' % ', '.join(missing))
        cgroups = open_cgroups(config.cgroup_mode, config.cgroup_root, config.scope)
    except (Refused, OSError) as error:
        message = str(error)
        diag('error', 'launcher not ready', error=message)
        emit({'ready': False, 'error': message})
        sys.exit(2)
    settle()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)  # wakes the selector through wakeup_write
    cgroups.sweep()
    launcher = Launcher(config, cgroups, wakeup_read)
    emit({'ready': True, 'cgroup': cgroups.describe(), 'pid': os.getpid()})
    diag('info', 'launcher ready', cgroup_version=cgroups.version, pid=os.getpid())
    try:
        launcher.run(rest)
    except (Exit, BrokenPipeError):
        pass
    cgroups.release()
    sys.exit(0)


# The interpreter keeps the syntax tree of its __main__ file until that file's code returns, which
# here is never (2 MB): run again, importing this file as a module, whose tree is freed once compiled.
BOOTSTRAP = (
    'import sys, _frozen_importlib as b, _frozen_importlib_external as e; '
    's = e.spec_from_file_location("ganymede_launcher", sys.argv[1]); m = b.module_from_spec(s); '
    's.loader.exec_module(m); m.main()'
)

if __name__ == '__main__':
    os.execv(sys.executable, [sys.executable, '-I', '-S', '-B', '-c', BOOTSTRAP, os.path.abspath(__file__)])
