/**
 * Where a course keeps its files on the hub host, and the archive and delete steps over them:
 *   <data_dir>/courses/<slug>/home/<user>/        a member's course server directory
 *   <data_dir>/courses/<slug>/archive/<user>.tar.gz
 * `tar` runs with an argument list (no shell); user names are escaped into safe file names.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { escapeName } from '../spawners/local-process/names.js';

const run = promisify(execFile);

export class CourseFiles {
  constructor(private readonly dataDir: string) {}

  courseDir(slug: string): string {
    return path.resolve(this.dataDir, 'courses', slug);
  }

  homeDir(slug: string, userName: string): string {
    return path.join(this.courseDir(slug), 'home', escapeName(userName));
  }

  archiveFile(slug: string, userName: string): string {
    return path.join(this.courseDir(slug), 'archive', `${escapeName(userName)}.tar.gz`);
  }

  /**
   * One tar.gz per directory under home/ (members, and people removed from the course: their work
   * is kept as well), then the directories are removed. Idempotent: a step interrupted by a restart
   * continues where it stopped.
   */
  async archive(slug: string): Promise<number> {
    const archiveDir = path.join(this.courseDir(slug), 'archive');
    await mkdir(archiveDir, { recursive: true, mode: 0o700 });
    const homes = path.join(this.courseDir(slug), 'home');
    let written = 0;
    for (const dirName of (await readdir(homes).catch(() => [] as string[])).sort()) {
      const home = path.join(homes, dirName);
      const file = path.join(archiveDir, `${dirName}.tar.gz`);
      const partial = `${file}.partial`;
      await run('tar', ['-czf', partial, '-C', home, '.'], { maxBuffer: 1024 * 1024 });
      await rename(partial, file);
      await rm(home, { recursive: true, force: true });
      written++;
    }
    await rm(path.join(this.courseDir(slug), 'home'), { recursive: true, force: true });
    return written;
  }

  /** The archives there are, by user (the file-safe form of the name: the same for usual names), with their sizes. */
  async archives(slug: string): Promise<Array<{ user: string; file: string; bytes: number }>> {
    const dir = path.join(this.courseDir(slug), 'archive');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: Array<{ user: string; file: string; bytes: number }> = [];
    for (const n of names.filter((n) => n.endsWith('.tar.gz')).sort()) {
      out.push({ user: n.slice(0, -'.tar.gz'.length), file: path.join(dir, n), bytes: (await stat(path.join(dir, n))).size });
    }
    return out;
  }

  async exists(slug: string): Promise<boolean> {
    return exists(this.courseDir(slug));
  }

  async remove(slug: string): Promise<void> {
    await rm(this.courseDir(slug), { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
