/**
 * The single-user server a hub runs when spawner.cmd is not configured: JupyterLab 4 from the
 * Python virtual environment that `make start` and `make test` install (scripts/install-jupyterlab.sh),
 * else the jupyterhub-singleuser on PATH (Debian's: the classic Notebook 6). Read when the config is
 * parsed, so a hub started after the install picks JupyterLab up without any config.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package): this file is in src/config/ or dist/config/. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the install script puts the environment: $GANYMEDE_VENV (the Makefile's VENV), else <repo>/.venv. */
export function jupyterLabVenv(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.GANYMEDE_VENV || path.join(PACKAGE_ROOT, '.venv'));
}

/** The environment's jupyterhub-singleuser, which the install script writes last; null when it is not there. */
export function jupyterLabServerCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  const command = path.join(jupyterLabVenv(env), 'bin', 'jupyterhub-singleuser');
  try {
    accessSync(command, constants.X_OK);
    return command;
  } catch {
    return null;
  }
}

export interface SingleUserServerDefaults {
  /** spawner.cmd */
  cmd: string[];
  /** spawner.default_url: '' lets the server choose (the classic Notebook's /tree). */
  default_url: string;
}

export function singleUserServerDefaults(env: NodeJS.ProcessEnv = process.env): SingleUserServerDefaults {
  const lab = jupyterLabServerCommand(env);
  return lab ? { cmd: [lab], default_url: '/lab' } : { cmd: ['jupyterhub-singleuser'], default_url: '' };
}

/** The defaults as docs/configuration.md and `generate-config` state them, the same on every machine. */
export const SINGLE_USER_SERVER_DEFAULTS_DOC = {
  cmd: '`<repo>/.venv/bin/jupyterhub-singleuser` (JupyterLab 4) when `make` installed JupyterLab, else `jupyterhub-singleuser` (on PATH)',
  default_url: '`/lab` when `make` installed JupyterLab (as spawner.cmd), else `""` (the server chooses); set it too when cmd names another server',
};
