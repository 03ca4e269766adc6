/** Every URL the hub builds, derived once from bind_url (its path is the base URL) and subdomain_host. */
import { createHash } from 'node:crypto';
import type { HubConfig } from '../config/schema.js';

/** Percent-encodes one path segment as JupyterHub's url_escape_path does (quote with safe '@~'). */
/**
 * The server a `/shares/{owner}[/{server}]`-style path names: its server parameter, or with none the
 * default server ('') when the path ends in `/` (`/shares/alice/`), else undefined (the user itself).
 * One rule for the route's scope check and its handler.
 */
export function serverNameInPath(serverParam: string | undefined, url: string): string | undefined {
  return serverParam ?? (url.split('?')[0]!.endsWith('/') ? '' : undefined);
}

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

  /** With subdomain_host: the hub's origin (`https://hub.example.org`), its host name, and its port ('' for the scheme's). */
  readonly subdomain: { origin: string; protocol: string; hostname: string; port: string } | null;

  /**
   * The public origin people reach the site at (`public_url`'s, or subdomain_host's), '' when the
   * hub only knows its bind_url: JupyterHub 5's JUPYTERHUB_PUBLIC_URL and _PUBLIC_HUB_URL are empty then.
   */
  readonly publicOrigin: string;

  constructor(config: Pick<HubConfig, 'bind_url' | 'hub_connect_url'> & { subdomain_host?: string; public_url?: string }) {
    if (config.subdomain_host) {
      const u = new URL(config.subdomain_host);
      this.subdomain = { origin: u.origin, protocol: u.protocol, hostname: u.hostname.toLowerCase(), port: u.port };
    } else {
      this.subdomain = null;
    }
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
    this.publicOrigin = this.subdomain?.origin ?? (config.public_url ? new URL(config.public_url).origin : '');
  }

  /** JUPYTERHUB_PUBLIC_HUB_URL: the site's public URL with the base URL (`https://hub.example.org/`), or ''. */
  publicHubUrl(): string {
    return this.publicOrigin ? `${this.publicOrigin}${this.base}` : '';
  }

  /** JUPYTERHUB_PUBLIC_URL of a server: its absolute public URL (on its own origin with subdomain_host), or ''. */
  publicServerUrl(userName: string, serverName = ''): string {
    if (this.subdomain) return this.userServerUrl(userName, serverName);
    return this.publicOrigin ? `${this.publicOrigin}${this.userServer(userName, serverName)}` : '';
  }

  /** JUPYTERHUB_PUBLIC_URL of a service with a url: its absolute public URL, or ''. */
  publicServiceUrl(name: string): string {
    if (this.subdomain) return this.serviceUrl(name);
    return this.publicOrigin ? `${this.publicOrigin}${this.service(name)}` : '';
  }

  /** /user/alice/ or /user/alice/gpu/ */
  userServer(userName: string, serverName = ''): string {
    return `${this.base}user/${escapePathSegment(userName)}/${serverName ? escapePathSegment(serverName) + '/' : ''}`;
  }

  /**
   * Where a browser finds a user's server: the path (/user/alice/) on the hub's origin, or with
   * subdomain_host the absolute URL on the user's own origin (https://alice.hub.example.org/user/alice/).
   */
  userServerUrl(userName: string, serverName = ''): string {
    return `${this.userOrigin(userName)}${this.userServer(userName, serverName)}`;
  }

  /** The user's own origin with subdomain_host (`https://alice.hub.example.org`), else '' (the hub's). */
  userOrigin(userName: string): string {
    const sub = this.subdomain;
    return sub ? `${sub.protocol}//${this.userHost(userName)}${sub.port ? `:${sub.port}` : ''}` : '';
  }

  /** The host name of a user's servers with subdomain_host: `<DNS-safe name>.<hub host>`. */
  userHost(userName: string): string {
    return `${dnsLabel(userName)}.${this.subdomain?.hostname ?? ''}`;
  }

  /**
   * With subdomain_host, the one host of all services (`services.hub.example.org`, as JupyterHub):
   * apart from the hub's and every user's, so a service's pages cannot touch their cookies.
   */
  servicesHost(): string {
    return `services.${this.subdomain?.hostname ?? ''}`;
  }

  /** The services' origin with subdomain_host, else '' (the hub's). */
  servicesOrigin(): string {
    const sub = this.subdomain;
    return sub ? `${sub.protocol}//${this.servicesHost()}${sub.port ? `:${sub.port}` : ''}` : '';
  }

  /** Where people open a service: its prefix, absolute on the services' origin with subdomain_host. */
  serviceUrl(name: string): string {
    return `${this.servicesOrigin()}${this.service(name)}`;
  }

  /** The proxy's key of a service: its prefix, or with subdomain_host `/<services host>/services/<name>/`. */
  serviceRouteKey(name: string): string {
    return this.subdomain ? `/${this.servicesHost()}${this.service(name)}` : this.service(name);
  }

  /** Whether a request's host name is one of the users' or the services' (with subdomain_host), not the hub's. */
  isUserHost(hostname: string): boolean {
    const sub = this.subdomain;
    return sub !== null && hostname.length > sub.hostname.length + 1 && hostname.toLowerCase().endsWith(`.${sub.hostname}`);
  }

  /**
   * The proxy's key of a user's server: its path, or with subdomain_host `/<user host>/user/alice/`
   * (the proxy matches `/<host><path>` for requests to a user host).
   */
  userRouteKey(userName: string, serverName = ''): string {
    return this.subdomain ? `/${this.userHost(userName)}${this.userServer(userName, serverName)}` : this.userServer(userName, serverName);
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

/**
 * A user name as one DNS label, as JupyterHub 5's subdomain hook: a name that is already a safe
 * label (lower-case letters, digits, single hyphens, at most 40 characters) is itself; any other
 * becomes its safe characters (at most 20) and `--` and a hash, which no safe name can equal.
 * Unlike JupyterHub, a user named `services` cannot take the services' host.
 */
export function dnsLabel(name: string): string {
  const lower = name.toLowerCase();
  // `services` is the services' host (HubUrls.servicesHost): a user of that name gets the hashed form.
  if (/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/.test(lower) && !lower.includes('--') && lower === name && lower !== 'services') return lower;
  const safe = lower.replace(/[^a-z0-9]/g, '').slice(0, 20) || 'u';
  return `${safe}--${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}
