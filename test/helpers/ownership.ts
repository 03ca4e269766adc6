/** Whose a process or a file is, for tests of servers and files under their users' own uids. */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The real uid a process runs as, from /proc. */
export function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** Every file and folder below `dir` (itself included) not owned by `uid`, with its owner; symbolic links are not followed. */
export function notOwnedBy(dir: string, uid: number): string[] {
  const info = lstatSync(dir);
  const others = info.uid === uid ? [] : [`${dir} (uid ${info.uid})`];
  if (info.isDirectory()) for (const name of readdirSync(dir)) others.push(...notOwnedBy(path.join(dir, name), uid));
  return others;
}
