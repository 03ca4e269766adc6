import { readFileSync } from 'node:fs';

/** Ganymede's own version, from package.json. */
export const GANYMEDE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The JupyterHub version whose REST API we implement. Clients (jupyterhub-singleuser,
 * jupyterhub-idle-culler) read it from `GET /hub/api/` and the `X-JupyterHub-Version` header
 * to pick features; singleuser only warns on a major/minor mismatch.
 */
export const JUPYTERHUB_API_VERSION = '5.3.0';
