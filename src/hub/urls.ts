/** Every URL the hub builds, derived once from bind_url (its path is the base URL). */
import type { HubConfig } from '../config/schema.js';

/** Percent-encodes one path segment as JupyterHub's url_escape_path does (quote with safe '@~'). */
export function escapePathSegment(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%40/g, '@');
}

export class HubUrls {
  /** e.g. '/' or '/jh/' */
  readonly base: string;
  /** base + 'hub/' */
  readonly hub: string;
  /** base + 'hub/api/' */
  readonly api: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** The hub API as servers reach it (JUPYTERHUB_API_URL), without trailing slash. */
  readonly internalApiUrl: string;

  constructor(config: Pick<HubConfig, 'bind_url' | 'hub_connect_url'>) {
    const bind = new URL(config.bind_url);
    this.base = bind.pathname.endsWith('/') ? bind.pathname : bind.pathname + '/';
    this.hub = this.base + 'hub/';
    this.api = this.hub + 'api/';
    this.listenHost = bind.hostname.replace(/^\[|\]$/g, '');
    this.listenPort = Number(bind.port || (bind.protocol === 'https:' ? 443 : 80));
    let connect: URL;
    if (config.hub_connect_url) {
      connect = new URL(config.hub_connect_url);
    } else {
      connect = new URL(bind.href);
      if (connect.hostname === '0.0.0.0' || connect.hostname === '[::]') connect.hostname = '127.0.0.1';
    }
    this.internalApiUrl = `${connect.protocol}//${connect.host}${this.api.slice(0, -1)}`;
  }

  /** /user/alice/ or /user/alice/gpu/ */
  userServer(userName: string, serverName = ''): string {
    return `${this.base}user/${escapePathSegment(userName)}/${serverName ? escapePathSegment(serverName) + '/' : ''}`;
  }

  progress(userName: string, serverName = ''): string {
    const u = escapePathSegment(userName);
    return serverName
      ? `${this.api}users/${u}/servers/${escapePathSegment(serverName)}/progress`
      : `${this.api}users/${u}/server/progress`;
  }

  service(name: string): string {
    return `${this.base}services/${escapePathSegment(name)}/`;
  }

  /** JupyterHub's OAuth client id for a server. */
  /**
   * The OAuth client id of a server: `jupyterhub-user-<name>` for the default server, as JupyterHub;
   * `jupyterhub-user-<name>|<server>` for a named one. (JupyterHub joins with `-`, so that alice's
   * server `gpu` and user alice-gpu's default server share an id. `|` never appears in an escaped name,
   * and it is allowed in the cookie name that jupyterhub-singleuser derives from the id.)
   */
  static serverClientId(userName: string, serverName = ''): string {
    const own = `jupyterhub-user-${escapePathSegment(userName)}`;
    return serverName ? `${own}|${escapePathSegment(serverName)}` : own;
  }

  /** Whether an OAuth client id is one of this user's servers' (default or named). */
  static isOwnServerClient(clientId: string, userName: string): boolean {
    const own = HubUrls.serverClientId(userName);
    return clientId === own || clientId.startsWith(`${own}|`);
  }
}
