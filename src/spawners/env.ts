/** The environment every spawner gives a server: what JupyterHub 3-5's Spawner.get_env passes, built in one place. */
import type { SpawnerConfig } from '../config/schema.js';
import { HubUrls, escapePathSegment } from '../hub/urls.js';
import { parseByteSize } from './local-process/limits.js';

export interface ServerEnvInput {
  config: SpawnerConfig;
  urls: HubUrls;
  userName: string;
  serverName: string;
  apiToken: string;
  admin: boolean;
  /** The working directory chosen for the server (for JUPYTERHUB_ROOT_DIR when notebook_dir is unset). */
  rootDir?: string;
  hostEnv?: NodeJS.ProcessEnv;
}

export function oauthAccessScopes(userName: string, serverName: string): string[] {
  return [`access:servers!server=${userName}/${serverName}`, `access:servers!user=${userName}`];
}

/** `{username}` (and `{servername}`) in admin-provided strings. */
export function expandUserTemplate(s: string, userName: string, serverName = ''): string {
  return s.replaceAll('{username}', userName).replaceAll('{servername}', serverName);
}

export function buildServerEnv(i: ServerEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  const host = i.hostEnv ?? process.env;
  for (const key of i.config.env_keep) {
    const v = host[key];
    if (v !== undefined) env[key] = v;
  }
  for (const [k, v] of Object.entries(i.config.environment)) env[k] = expandUserTemplate(v, i.userName, i.serverName);

  const prefix = i.urls.userServer(i.userName, i.serverName);
  const access = JSON.stringify(oauthAccessScopes(i.userName, i.serverName));
  Object.assign(env, {
    JUPYTERHUB_API_TOKEN: i.apiToken,
    JPY_API_TOKEN: i.apiToken,
    JUPYTERHUB_CLIENT_ID: HubUrls.serverClientId(i.userName, i.serverName),
    // As JupyterHub: with subdomain_host, the hub's public origin and an absolute callback on the user's own origin.
    JUPYTERHUB_HOST: i.urls.subdomain?.origin ?? '',
    JUPYTERHUB_OAUTH_CALLBACK_URL: `${i.urls.userServerUrl(i.userName, i.serverName)}oauth_callback`,
    JUPYTERHUB_OAUTH_SCOPES: access,
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: access,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: JSON.stringify([]),
    JUPYTERHUB_USER: i.userName,
    JUPYTERHUB_SERVER_NAME: i.serverName,
    JUPYTERHUB_API_URL: i.urls.internalApiUrl,
    JUPYTERHUB_ACTIVITY_URL: `${i.urls.internalApiUrl}/users/${escapePathSegment(i.userName)}/activity`,
    JUPYTERHUB_BASE_URL: i.urls.base,
    JUPYTERHUB_SERVICE_PREFIX: prefix,
    // JupyterHub 5: absolute public URLs, empty when the hub does not know its public address.
    JUPYTERHUB_PUBLIC_URL: i.urls.publicServerUrl(i.userName, i.serverName),
    JUPYTERHUB_PUBLIC_HUB_URL: i.urls.publicHubUrl(),
  });
  if (i.admin) env.JUPYTERHUB_ADMIN_ACCESS = '1';
  if (i.config.default_url) env.JUPYTERHUB_DEFAULT_URL = i.config.default_url;
  const rootDir = i.config.notebook_dir ? expandUserTemplate(i.config.notebook_dir, i.userName, i.serverName) : i.rootDir;
  if (rootDir) env.JUPYTERHUB_ROOT_DIR = rootDir;
  // In bytes, as JupyterHub passes it (jupyter-resource-usage reads a number).
  if (i.config.mem_limit) env.MEM_LIMIT = String(parseByteSize(i.config.mem_limit));
  if (i.config.cpu_limit) env.CPU_LIMIT = String(i.config.cpu_limit);
  return env;
}
