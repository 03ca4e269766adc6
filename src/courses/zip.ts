/**
 * One zip for teachers out of tar files that users' own uids wrote (src/spawners/user-files.ts:
 * `tar` runs as the owner of the files, the hub only ever reads its output). Each tar's regular files
 * and folders go into the zip under `<prefix>/`; links and devices are left out (never followed);
 * names that would leave the prefix are refused. Streamed: nothing is held in memory but the entry
 * being copied. Libraries: tar-stream reads the tars, yazl writes the zip.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import path from 'node:path';
import { extract } from 'tar-stream';
import { ZipFile } from 'yazl';

export interface TarSource {
  /** The folder inside the zip, e.g. the user's name. */
  prefix: string;
  /** A tar file of the hub's. */
  file: string;
}

/** The zip as a stream; it ends with an error when a tar cannot be read. */
export function zipOfTars(sources: readonly TarSource[]): Readable {
  const zip = new ZipFile();
  const out = new PassThrough();
  zip.outputStream.pipe(out);
  void (async () => {
    for (const source of sources) await addTar(zip, source);
    zip.end();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

async function addTar(zip: ZipFile, source: TarSource): Promise<void> {
  const prefix = safeEntryName(source.prefix);
  if (!prefix) throw new Error(`not a folder name for a zip: ${JSON.stringify(source.prefix)}`);
  zip.addEmptyDirectory(prefix);
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  reader.on('entry', (header, stream, next) => {
    const name = safeEntryName(header.name);
    const mtime = header.mtime ?? new Date(0);
    if (name && header.type === 'file') {
      stream.once('end', next);
      // tar-stream's entries are streamx streams; yazl reads Node streams.
      zip.addReadStream(Readable.from(stream), `${prefix}/${name}`, { mtime, mode: 0o100644 });
      return;
    }
    if (name && header.type === 'directory') zip.addEmptyDirectory(`${prefix}/${name}`, { mtime });
    stream.once('end', next);
    stream.resume();
  });
  createReadStream(source.file).on('error', (err) => reader.destroy(err)).pipe(reader);
  await done;
}

/** A tar member's name as a relative zip path (`./a/b` → `a/b`), or null for `.`, absolute names and `..`. */
export function safeEntryName(name: string): string | null {
  const normal = path.posix.normalize(name.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (normal === '.' || normal === '' || normal.startsWith('/') || normal === '..' || normal.startsWith('../')) return null;
  return normal.replace(/^\.\//, '');
}
