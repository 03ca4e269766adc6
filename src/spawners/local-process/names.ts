/**
 * Where a user's server lives on disk: its working directory and its log file, named with a
 * filesystem-safe form of the user (and server) name.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HubError } from '../../errors.js';

const SAFE_CHAR = /^[a-zA-Z0-9._]$/;

/**
 * Escape a name for use as one path component, like JupyterHub's `escapism.escape(name, escape_char='-')`:
 * every byte of an unsafe character becomes `-xx` (lowercase hex). The escape character `-` is itself
 * escaped (as escapism does), so two different names never share a directory: `a/` → `a-2f`, `a-2f` → `a-2d2f`.
 */
export function escapeName(name: string): string {
  let escaped = '';
  for (const char of name) {
    if (SAFE_CHAR.test(char)) {
      escaped += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) escaped += `-${byte.toString(16).padStart(2, '0')}`;
  }
  if (escaped === '' || escaped === '.' || escaped === '..') {
    throw new HubError(400, `User or server name ${JSON.stringify(name)} cannot be used as a directory name`);
  }
  return escaped;
}

/** The working directory of a user's servers: `cwd` from the config (default `<dataDir>/users/{username}`), `{username}` expanded. */
export function workingDirectory(cwdTemplate: string | undefined, dataDir: string, userName: string): string {
  const template = cwdTemplate ?? path.join(dataDir, 'users', '{username}');
  return path.resolve(template.replaceAll('{username}', escapeName(userName)));
}

/** A new directory name for one ephemeral run: `<dataDir>/ephemeral/<username>-<random>` (not created here). */
export function ephemeralDirectory(dataDir: string, userName: string): string {
  return path.resolve(dataDir, 'ephemeral', `${escapeName(userName)}-${randomBytes(6).toString('hex')}`);
}

/** `<dataDir>/logs/<username>[-<servername>].log`; unambiguous because `-` is escaped inside names. */
export function logFilePath(dataDir: string, userName: string, serverName: string): string {
  const base = serverName === '' ? escapeName(userName) : `${escapeName(userName)}-${escapeName(serverName)}`;
  return path.resolve(dataDir, 'logs', `${base}.log`);
}
