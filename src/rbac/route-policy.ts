/**
 * The request policy every route declares, in one shape: who may call it (anyone, any logged-in
 * caller, or the holders of some scopes on the resource the path names), how the caller is known
 * (the door: the API's token-or-cookie rules, a page's login cookie, or credentials the route checks
 * itself), and whether it is open before the second factor is set up. Whether a route changes state
 * follows from its method: GET and HEAD never do; every other method needs the XSRF token when a
 * cookie authenticates it (a page form always).
 *
 * A route is declared with one of the builders below as its route options:
 *   app.get('/users/:name', api(scopes(['read:users'], { user: 'name' })), handler)
 * src/http/policy-check.ts refuses to register a route without a declaration (the hub does not
 * start), records every route with its policy (`ganymede routes`, the scope table of
 * docs/rest-api.md) and puts the one check in front of each handler.
 */
/** How the caller is known. */
export type Door =
  /** An API token (Authorization header or ?token=), else the login cookie with the API's XSRF rule. */
  | 'api'
  /** The login cookie, on navigations only (src/http/fetch-metadata.ts); every POST needs the form's XSRF token. */
  | 'page'
  /**
   * Nobody is identified by the hub: the route needs no caller (a redirect) or checks credentials of
   * its own (an OAuth client secret, a SAML signature, an identity provider's state).
   */
  | 'none';

/** Path parameters naming the resource that scopes apply to. */
export type ResourceParams =
  | { user: string }
  /** The owner's name and the server's name; an absent server parameter is the default server (''). */
  | { server: readonly [owner: string, server: string] }
  /**
   * The owner's server named by `server`; without that parameter the user `owner` itself, or their
   * default server when the path ends in `/` (JupyterHub's `/shares/{owner}/` is the default server).
   */
  | { userOrServer: readonly [owner: string, server: string] }
  | { group: string }
  | { service: string };

export type Access =
  /** Anyone, before login: login pages, static files, health, and routes with their own credentials. */
  | { kind: 'anyone' }
  /** Any logged-in caller; `checks` says what the handler decides further (shown in the route table). */
  | { kind: 'caller'; checks: string }
  /**
   * One of `scopes` on the resource the path names (none: hub-wide). `ownFree`: the caller's own
   * resource (or none named, as /hub/spawn) needs no scope: pages that act on one's own server.
   */
  | { kind: 'scopes'; scopes: readonly string[]; on?: ResourceParams; ownFree?: boolean; checks?: string }
  /** A list: the scope in any form; a filtered scope filters what the list shows. */
  | { kind: 'list'; scope: string };

export interface RoutePolicy {
  door: Door;
  /**
   * Whether the route changes state; by default, whether its method is other than GET and HEAD.
   * `false` for a route that only answers or redirects whatever the method (no XSRF needed).
   */
  changes?: boolean;
  /** For door `none`: what stands in for the hub's check (shown in the route table). */
  credentials?: string;
  access: Access;
  /** Served while the login still lacks a step the authenticator requires (two-factor enrolment). */
  beforeSecondFactor: boolean;
}

/** One registered route and its policy. */
export interface DeclaredRoute {
  method: string;
  url: string;
  policy: RoutePolicy;
  /** Changes state: not GET or HEAD (XSRF for cookie-authenticated requests). */
  changes: boolean;
}

export const anyone = (): Access => ({ kind: 'anyone' });
export const caller = (checks: string): Access => ({ kind: 'caller', checks });
export const scopes = (list: readonly string[], on?: ResourceParams, extra: { ownFree?: boolean; checks?: string } = {}): Access => ({ kind: 'scopes', scopes: list, on, ...extra });
export const list = (scope: string): Access => ({ kind: 'list', scope });

type Options = { beforeSecondFactor?: boolean; changes?: boolean };
const declare = (door: Door) => (access: Access, options: Options = {}) => ({
  config: { policy: { door, access, beforeSecondFactor: options.beforeSecondFactor ?? false, changes: options.changes } satisfies RoutePolicy },
});
/** Route options of a REST API route. */
export const api = declare('api');
/** Route options of a hub page (HTML, forms). */
export const page = declare('page');
/** Route options of a route that identifies nobody: `credentials` says what it checks instead, if anything. */
export const withoutCaller = (credentials: string) => ({
  config: { policy: { door: 'none', credentials, access: { kind: 'anyone' }, beforeSecondFactor: true } satisfies RoutePolicy },
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function changesState(method: string): boolean {
  return !SAFE_METHODS.has(method);
}
