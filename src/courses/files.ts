/**
 * Where a course keeps its files on the hub host, and the archive and delete steps over them:
 *   <users_root>/courses/<slug>/<user>/           a member's course directory, with isolation: the
 *                                                 member's own uid (the one of their personal server), 0700
 *   <data_dir>/courses/<slug>/home/<user>/        the same without isolation (run_as hub)
 *   <users_root>/course-shared/<slug>/shared/     the course's shared folder: teachers write, members
 *                                                 read (groups of the course's own, below); without
 *                                                 isolation <data_dir>/courses/<slug>/shared-root/shared/
 *   <data_dir>/courses/<slug>/archive/<user>.tar.gz   the hub's own, for the teachers to download
 *   <data_dir>/courses/<slug>/collected/<assignment>/<time>/<user>.tar   hand-ins as collected: the
 *                                                 hub's own, so nothing a participant does later changes them
 * A member's files are read and written only as their owner (src/spawners/user-files.ts): tar runs
 * as the owner of the directory it archives and writes to a file of the hub's. Commands run with an
 * argument list (no shell); user names are escaped into safe file names.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResourceLimits } from '../spawners/spawner.js';
import { escapeName } from '../spawners/local-process/names.js';
import type { UserFileAccess, UserFiles } from '../spawners/user-files.js';

/**
 * The course's two groups for its shared folder (gids of the hub's, from spawner.uid_range): its
 * teachers, who write there, and all its members, who alone may enter the folder above it.
 */
export function courseUnixGroups(slug: string): { teachers: string; members: string } {
  return { teachers: `course-${slug}-teachers`, members: `course-${slug}-members` };
}

export class CourseFiles {
  constructor(
    private readonly dataDir: string,
    private readonly userFiles: UserFiles,
  ) {}

  /** Above the shared folder: only the course's members may enter it. */
  sharedRoot(slug: string): string {
    const usersRoot = this.userFiles.usersRoot;
    return usersRoot ? path.resolve(usersRoot, 'course-shared', slug) : path.join(this.courseDir(slug), 'shared-root');
  }

  sharedDir(slug: string): string {
    return path.join(this.sharedRoot(slug), 'shared');
  }

  /**
   * Makes the shared folder when missing (idempotent): the folder above it belongs to the teachers'
   * group's account and the members' group, mode 0750 (members only); the shared folder to the
   * teachers' group, mode 2775 (teachers write, new files keep the group; members read).
   */
  async prepareShared(slug: string): Promise<string> {
    const { teachers, members } = courseUnixGroups(slug);
    await this.userFiles.groupDirectory(this.sharedRoot(slug), { owner: teachers, group: members, mode: 0o750 });
    await this.userFiles.groupDirectory(this.sharedDir(slug), { owner: teachers, group: teachers, mode: 0o2775 });
    return this.sharedDir(slug);
  }

  /** The hub's own directory of the course (its archives). */
  courseDir(slug: string): string {
    return path.resolve(this.dataDir, 'courses', slug);
  }

  /** The directory holding the members' course directories. */
  homesDir(slug: string): string {
    const usersRoot = this.userFiles.usersRoot;
    return usersRoot ? path.resolve(usersRoot, 'courses', slug) : path.join(this.courseDir(slug), 'home');
  }

  homeDir(slug: string, userName: string): string {
    return path.join(this.homesDir(slug), escapeName(userName));
  }

  archiveFile(slug: string, userName: string): string {
    return path.join(this.courseDir(slug), 'archive', `${escapeName(userName)}.tar.gz`);
  }

  /** The member's course directory, created as theirs when missing, and access to it as them. */
  async memberFiles(slug: string, user: { id: number; name: string }, limits: ResourceLimits): Promise<UserFileAccess> {
    const home = this.homeDir(slug, user.name);
    const files = await this.userFiles.forUser(user, { home, limits });
    await files.mkdir(home);
    return files;
  }

  /**
   * One tar.gz per directory under the homes (members, and people removed from the course: their work
   * is kept as well), each written by the directory's owner, then the directories are removed.
   * Idempotent: a step interrupted by a restart continues where it stopped.
   */
  async archive(slug: string): Promise<number> {
    const archiveDir = path.join(this.courseDir(slug), 'archive');
    await mkdir(archiveDir, { recursive: true, mode: 0o700 });
    const homes = this.homesDir(slug);
    let written = 0;
    for (const dirName of (await readdir(homes).catch(() => [] as string[])).sort()) {
      const home = path.join(homes, dirName);
      const owner = await this.userFiles.forOwnerOf(home);
      const output = await owner.runToFile(['tar', '--create', '--gzip', '--file=-', '.'], { cwd: home });
      await rename(output, path.join(archiveDir, `${dirName}.tar.gz`));
      await this.userFiles.remove(home);
      written++;
    }
    await this.userFiles.remove(homes);
    return written;
  }

  /**
   * Each named member's course directory as it is now, as a tar its owner wrote (for a zip): the
   * hub's own temporary files, which the caller deletes. Members without a directory are left out.
   */
  async snapshot(slug: string, userNames: readonly string[]): Promise<Array<{ user: string; file: string }>> {
    const out: Array<{ user: string; file: string }> = [];
    try {
      for (const user of userNames) {
        const home = this.homeDir(slug, user);
        if (!(await exists(home))) continue;
        const owner = await this.userFiles.forOwnerOf(home);
        out.push({ user, file: await owner.runToFile(['tar', '--create', '--file=-', '.'], { cwd: home }) });
      }
    } catch (err) {
      await Promise.all(out.map((f) => rm(f.file, { force: true })));
      throw err;
    }
    return out;
  }

  /** Where a participant hands in: `hand-in/` in their course directory. */
  handInDir(slug: string, userName: string): string {
    return path.join(this.homeDir(slug, userName), 'hand-in');
  }

  /**
   * Copies the member's `hand-in/` into the hub's own collection `<assignment>/<stamp>/<user>.tar`,
   * reading it as the member; 'empty' when they have no such folder or nothing in it.
   */
  async collect(slug: string, assignment: string, stamp: string, user: { id: number; name: string }, limits: ResourceLimits): Promise<'collected' | 'empty'> {
    const home = this.homeDir(slug, user.name);
    if (!(await exists(home))) return 'empty';
    const files = await this.userFiles.forUser(user, { home, limits });
    const handIn = this.handInDir(slug, user.name);
    if ((await files.lstat(handIn))?.kind !== 'directory' || (await files.readdir(handIn)).length === 0) return 'empty';
    // tar stores links as links (never follows them); the zip leaves them out.
    const tar = await files.runToFile(['tar', '--create', '--file=-', '-C', 'hand-in', '.'], { cwd: home });
    const dir = path.join(this.collectedDir(slug), assignment, stamp);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(tar, path.join(dir, `${escapeName(user.name)}.tar`));
    return 'collected';
  }

  collectedDir(slug: string): string {
    return path.join(this.courseDir(slug), 'collected');
  }

  /** The collections there are: assignment, when (the stamp) and the collected tars by file-safe user name, newest first per assignment. */
  async collections(slug: string): Promise<Array<{ assignment: string; stamp: string; files: Array<{ user: string; file: string }> }>> {
    const root = this.collectedDir(slug);
    const out: Array<{ assignment: string; stamp: string; files: Array<{ user: string; file: string }> }> = [];
    for (const assignment of (await readdir(root).catch(() => [] as string[])).sort()) {
      for (const stamp of (await readdir(path.join(root, assignment)).catch(() => [] as string[])).sort().reverse()) {
        const dir = path.join(root, assignment, stamp);
        const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.tar')).sort();
        out.push({ assignment, stamp, files: names.map((n) => ({ user: n.slice(0, -'.tar'.length), file: path.join(dir, n) })) });
      }
    }
    return out;
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

  /** Whether anything of the course is on disk: its archives, members' directories or shared folder. */
  async exists(slug: string): Promise<boolean> {
    return (await exists(this.courseDir(slug))) || (await exists(this.homesDir(slug))) || exists(this.sharedRoot(slug));
  }

  /** Members' directories and the shared folder first (as the launcher removes them with isolation), then the hub's own. */
  async remove(slug: string): Promise<void> {
    await this.userFiles.remove(this.homesDir(slug));
    await this.userFiles.remove(this.sharedRoot(slug));
    await rm(this.courseDir(slug), { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
