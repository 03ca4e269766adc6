/**
 * Composition root: builds the database, authenticator, spawner, route table, HTTP front server
 * and Fastify app from the config, and wires them. No behaviour of its own beyond start and stop.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import proxyaddr from 'proxy-addr';
import pino, { type Logger } from 'pino';
import type { HubConfig } from './config/schema.js';
import { openDatabase, type OpenDatabase } from './db/connect.js';
import { resolveDataPaths } from './hub/data-paths.js';
import { loadBranding } from './config/branding.js';
import { LoginSessionRepo } from './db/repos/login-sessions.js';
import { UserRepo } from './db/repos/users.js';
import { ServerRepo } from './db/repos/servers.js';
import { TokenRepo } from './db/repos/tokens.js';
import { RoleRepo, type RoleSpec } from './db/repos/roles.js';
import { OAuthRepo } from './db/repos/oauth.js';
import { GroupRepo } from './db/repos/groups.js';
import { AuthStateStore } from './auth/auth-state.js';
import { ShareRepo } from './db/repos/shares.js';
import { AuthGeneration } from './db/repos/generation.js';
import { isoNow } from './db/time.js';
import { ConfigError } from './errors.js';
import { AccessControl } from './hub/access.js';
import { ServerLifecycle } from './hub/server-lifecycle.js';
import { HubMetrics, secondsSince } from './hub/metrics.js';
import { IdleCuller } from './hub/culler.js';
import { SitePassword } from './http/site-password.js';
import { SECURITY_HEADERS } from './http/security-headers.js';
import { withoutCaller, type DeclaredRoute } from './rbac/route-policy.js';
import { installRoutePolicy, policyCheck } from './http/policy-check.js';
import { scrubUrl } from './http/scrub-url.js';
import { GuessLimits } from './http/guess-limits.js';
import { limitConnectionsPerClient, SERVER_TIMEOUTS } from './http/connection-limits.js';
import { registerMetrics } from './http/metrics.js';
import { TmpAuthenticator } from './auth/tmp.js';
import { Workshop } from './workshop/temporary-users.js';
import { ServerProfiles } from './hub/server-profiles.js';
import { startPrivileged } from './hub/privileged-start.js';
import { HubUrls } from './hub/urls.js';
import { Identity } from './http/identity.js';
import { Sessions } from './http/session.js';
import { describeError, reason } from './http/errors.js';
import { RouteTable, type RouteTarget } from './proxy/route-table.js';
import { Forwarder, type ForwardedInfo } from './proxy/forward.js';
import { AuthPolicy, NO_ALLOW_RULE, normalizeUsername } from './auth/authenticator.js';
import { createAuthenticator, hasOwnAllowRule } from './auth/index.js';
import { createSpawner } from './spawners/index.js';
import { HubAccountFiles } from './spawners/user-files.js';
import type { SpawnerState } from './spawners/spawner.js';
import { DEFAULT_ROLES, resolveServerFilter } from './rbac/roles.js';
import { defineCustomScopes } from './rbac/scopes.js';
import { defaultRole, validateRole } from './rbac/roles.js';
import type { HubContext, ShutdownOptions } from './http/context.js';
import { apiPlugin } from './api/plugin.js';
import { oauthPlugin } from './oauth/provider.js';
import { registerLoginRoutes, createHubLogin } from './web/login.js';
import { registerPageRoutes } from './web/pages.js';
import { registerAdminPage } from './web/admin.js';
import { registerCoursePages } from './web/courses.js';
import { registerStaticRoutes } from './web/static-files.js';
import { renderErrorPage } from './web/render.js';
import { GANYMEDE_VERSION } from './version.js';
import { ServiceRunner } from './services/services.js';
import { COURSE_ROLES, createCourses } from './courses/index.js';

export interface Hub {
  /** Public URL, from bind_url. */
  url: string;
  ctx: HubContext;
  /** Every route of the app with its declared request policy (`ganymede routes`). */
  routes: DeclaredRoute[];
  /**
   * Called when `POST /hub/api/shutdown` asks the hub to stop; the CLI exits the process from it.
   * Without a handler the hub closes itself.
   */
  onShutdownRequest(handler: (options: ShutdownOptions) => void): void;
  listen(): Promise<void>;
  /** Stops the hub; `servers` overrides cleanup_servers. */
  close(options?: ShutdownOptions): Promise<void>;
  /**
   * Runs now what the hub's timers run from time to time: course steps that fell due, a culler
   * pass (when the culler is on) and the warm pool's recycling. Resolves when all of it is done.
   */
  runDueWork(): Promise<void>;
}

/** How often the hub looks for commits of other processes to its database (PRAGMA data_version: no I/O). */
const EXTERNAL_WRITE_CHECK_MS = 500;

/** The cookie secret from config, or kept in <data_dir>/cookie_secret (created with mode 0600). */
function loadCookieSecret(config: HubConfig, dataDir: string): Buffer {
  if (config.cookie_secret) {
    if (!/^[0-9a-fA-F]+$/.test(config.cookie_secret)) throw new ConfigError('cookie_secret: must be hex (e.g. from `openssl rand -hex 32`)');
    return Buffer.from(config.cookie_secret, 'hex');
  }
  const file = path.join(dataDir, 'cookie_secret');
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  }
  const secret = randomBytes(32);
  writeFileSync(file, secret.toString('hex') + '\n', { mode: 0o600 });
  return secret;
}

function validateRoles(config: HubConfig): void {
  for (const [i, role] of config.load_roles.entries()) {
    // A load_roles entry without scopes keeps the default role's (it only adds members).
    const errors = validateRole({ name: role.name, scopes: role.scopes.length ? role.scopes : (defaultRole(role.name)?.scopes ?? []) });
    if (errors.length) throw new ConfigError(`load_roles.${i} (${role.name}): ${errors.join('; ')}`);
  }
  for (const [i, svc] of config.services.entries()) {
    if (!svc.url && !svc.command && !svc.api_token) throw new ConfigError(`services.${i} (${svc.name}): needs at least one of url, command or api_token`);
  }
}

/** Default roles plus load_roles; a load_roles entry for a default role adds members and keeps its scopes unless it sets some. */
function mergeRoleSpecs(config: HubConfig): RoleSpec[] {
  const defaults = [...DEFAULT_ROLES, ...(config.courses.enabled ? COURSE_ROLES : [])];
  const specs = new Map<string, RoleSpec>(
    defaults.map((r) => [r.name, { name: r.name, description: r.description ?? '', scopes: [...r.scopes], users: [], groups: [], services: [] }]),
  );
  for (const r of config.load_roles) {
    const base = specs.get(r.name);
    specs.set(r.name, base ? { ...r, description: r.description || base.description, scopes: r.scopes.length ? r.scopes : base.scopes } : r);
  }
  if (config.courses.enabled) {
    // Ganymede's course scopes, also when load_roles redefines these roles: every user may join a
    // course with its code, admins may do everything with courses.
    const add = (role: string, scope: string) => {
      const spec = specs.get(role)!;
      if (!spec.scopes.includes(scope)) specs.set(role, { ...spec, scopes: [...spec.scopes, scope] });
    };
    add('user', 'courses:join!user');
    add('admin', 'admin:courses');
  }
  return [...specs.values()];
}

export async function createHub(config: HubConfig, options: { log?: Logger } = {}): Promise<Hub> {
  const startBegan = performance.now();
  const log = options.log ?? pino({ level: config.log_level, base: { app: 'ganymede' } });
  const metrics = new HubMetrics();
  try {
    defineCustomScopes(config.custom_scopes);
  } catch (err) {
    throw new ConfigError(`custom_scopes: ${(err as Error).message}`);
  }
  validateRoles(config);
  const { dataDir, dbUrl } = resolveDataPaths(config);
  // Read while the hub may still read what its starter can (a logo in the operator's folder).
  const branding = loadBranding(config);
  // Before anything is written: the launcher keeps root, the rest of the hub runs as `user`.
  const isolation = await startPrivileged(config, dataDir, log);
  const secret = loadCookieSecret(config, dataDir);
  const database: OpenDatabase = await openDatabase(dbUrl);
  const db = database.db;
  const urls = new HubUrls(config);
  const generation = new AuthGeneration();
  // An operator's `ganymede users …` or `token …` wrote to the database: who may do what may have changed.
  const stopWatchingDatabase = database.watchExternalWrites(() => {
    generation.bump();
    log.debug('the database was changed by another process: identity and scope caches dropped');
  }, EXTERNAL_WRITE_CHECK_MS);
  const users = new UserRepo(db, generation);
  const servers = new ServerRepo(db);
  const tokens = new TokenRepo(db, generation);
  const roles = new RoleRepo(db, generation);
  const oauth = new OAuthRepo(db);
  const groups = new GroupRepo(db, generation);
  const shares = new ShareRepo(db, generation);
  const roleSpecs = new Map(mergeRoleSpecs(config).map((r) => [r.name, r]));
  const access = new AccessControl(roles, users, shares, generation, { user: roleSpecs.get('user')!.scopes, admin: roleSpecs.get('admin')!.scopes });
  const sessions = new Sessions(secret, urls, config.cookie_max_age_days * 86400);
  const loginSessions = new LoginSessionRepo(db, generation);
  const identity = new Identity({ tokens, users, roles, access, sessions, loginSessions, generation });
  const routes = new RouteTable();
  const spawner = createSpawner(config.spawner, dataDir, log.child({ component: 'spawner' }), isolation?.isolation(db) ?? null);
  const authenticator = await createAuthenticator(config.authenticator, log.child({ component: 'auth' }), { db, cookieSecret: secret });
  const policy = new AuthPolicy(config.authenticator, hasOwnAllowRule(config.authenticator));
  if (config.authenticator.class !== 'tmp' && (config.authenticator.warm_pool > 0 || config.authenticator.force_new_server)) {
    log.warn({ authenticator: config.authenticator.class }, 'authenticator.warm_pool and force_new_server apply to class tmp only: ignored');
  }
  if (policy.nobodyAllowed) log.warn({ authenticator: config.authenticator.class }, NO_ALLOW_RULE);
  const authState = AuthStateStore.create(config.authenticator.enable_auth_state, process.env.GANYMEDE_CRYPT_KEY, config.authenticator.auth_state_env);
  const serverRole = roleSpecs.get('server')!;
  // Workshop mode (authenticator.class tmp): temporary users and the warm pool; set once the hub is built.
  let workshop: Workshop | null = null;
  const lifecycle = new ServerLifecycle({
    config,
    urls,
    servers,
    tokens,
    oauth,
    spawner,
    routes,
    log: log.child({ component: 'servers' }),
    atomically: (work) => db.transaction().execute((trx) => work({ servers: servers.within(trx), tokens: tokens.within(trx), oauth: oauth.within(trx) })),
    serverTokenScopes: (userName, serverName) => [...resolveServerFilter(serverRole.scopes, `${userName}/${serverName}`)],
    userGroups: (user) => access.userGroups(user),
    authState: (user) => authState.read(user),
    authStateEnv: (state) => authState.env(state),
    onStopped: async (userId) => workshop?.serverStopped(userId),
    metrics,
  });

  const ensureUser = async (name: string) => {
    const existing = await users.byName(name);
    if (existing) {
      if (policy.isAdmin(name) && !existing.admin) {
        await users.update(existing.id, { admin: true });
        return (await users.byId(existing.id))!;
      }
      return existing;
    }
    const created = await users.create(name, policy.isAdmin(name), spawner.kind);
    return created;
  };

  // Config is applied to the database at every start: default roles, load_roles, services, admins,
  // allowed_users and load_groups (as JupyterHub creates them, so that the API finds them at once).
  for (const name of policy.adminNames) await ensureUser(name);
  for (const name of config.authenticator.allowed_users) await ensureUser(normalizeUsername(name));
  for (const [name, spec] of Object.entries(config.load_groups)) {
    const members: number[] = [];
    for (const u of spec.users) members.push((await ensureUser(normalizeUsername(u))).id);
    const existing = await groups.byName(name);
    const group = existing ?? (await groups.create([name], []).then((created) => ('taken' in created ? undefined : created[0])));
    if (!group) throw new Error(`load_groups: group ${name} could not be created`);
    await groups.addUsers(group.id, members);
    if (spec.properties) await groups.setProperties(group.id, spec.properties);
  }
  const serviceRunner = new ServiceRunner(config.services, { urls, tokens, roles, oauth, routes, log: log.child({ component: 'services' }) });
  await serviceRunner.register();
  await roles.syncFromConfig([...roleSpecs.values()], async (name) => (await ensureUser(name)).id);

  let shutdownHandler: ((options: ShutdownOptions) => void) | undefined;
  const serverProfiles = new ServerProfiles();
  const courses = config.courses.enabled
    ? createCourses({
        config, db, dataDir, secret, users, groups, roles, servers, lifecycle,
        userFiles: spawner.userFiles ?? new HubAccountFiles(path.join(dataDir, 'logs', 'tasks')),
        log: log.child({ component: 'courses' }),
        authState: (u) => authState.read(u),
      })
    : null;
  if (courses) serverProfiles.add(courses.profiles);
  const ctx: HubContext = {
    config, urls, log, users, servers, tokens, roles, groups, shares, oauth, access, identity, sessions, loginSessions, guessing: new GuessLimits(config.guess_limits), lifecycle, serverProfiles, courses: courses?.service ?? null, routes,
    authenticator, policy, authState, services: config.services, ensureUser, startedAt: isoNow(), branding,
    servicePid: (name) => serviceRunner.pid(name),
    async refreshAuthState(user) {
      const state = authenticator.refresh ? authState.read(user) : null;
      if (!state) return 'ok';
      const result = await authenticator.refresh!(state);
      if (result === 'expired') return 'expired';
      if (result === 'unchanged') return 'ok';
      await users.setAuthState(user.id, authState.encode(result.authState));
      return 'refreshed';
    },
    requestShutdown(options) {
      // After the reply is written: the caller gets its 202 before connections close.
      setImmediate(() => (shutdownHandler ? shutdownHandler(options) : void hub.close(options).catch((err: unknown) => log.error({ err }, 'error during shutdown'))));
    },
  };

  /**
   * The key a request is routed by: its path, or with subdomain_host `/<host><path>` when it came to a
   * user's host (the host as the client asked for it, through a trusted proxy's X-Forwarded-Host).
   * Null: a user's host with no route for it (a server not running, or a path of the hub's): the
   * request goes to the hub's own origin instead.
   */
  const routeFor = (req: http.IncomingMessage, info?: ForwardedInfo): { prefix: string; value: RouteTarget } | null | undefined => {
    if (!urls.subdomain) return routes.match(req.url ?? '/');
    const hostname = hostnameOf((info ?? forwardedInfo(req)).host);
    if (!urls.isUserHost(hostname)) return routes.match(req.url ?? '/');
    return routes.match(`/${hostname}${req.url ?? '/'}`) ?? null;
  };
  /** A request to a user's host that no route takes: the hub answers it at its own origin only (its cookies live there). */
  const toHubOrigin = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(302, { ...SECURITY_HEADERS, Location: `${urls.subdomain!.origin}${req.url ?? '/'}`, 'Content-Length': '0' });
    res.end();
  };

  const forwarder = new Forwarder({
    onError: (err, req, res) => {
      const m = routeFor(req);
      log.warn({ url: scrubUrl(req.url), err: err.message }, 'proxy target unreachable');
      // The server may have died: check it now rather than at the next poll.
      if (m?.value.kind === 'user') void lifecycle.pollOnce().catch(() => undefined);
      if (res && !res.headersSent) {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 503, message: `The server at ${m?.prefix ?? req.url} is not answering` }));
      } else {
        res?.destroy();
      }
    },
    onActivity: (prefix) => routes.recordActivity(prefix),
  });
  const trust = proxyaddr.compile(config.trusted_proxies);
  const forwardedInfo = (req: http.IncomingMessage): ForwardedInfo => {
    const remote = req.socket.remoteAddress ?? '';
    const trusted = remote !== '' && trust(remote, 0);
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v.split(',')[0]!.trim() : undefined;
    };
    const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
    return {
      proto: trusted && header('x-forwarded-proto') === 'https' ? 'https' : trusted && header('x-forwarded-proto') === 'http' ? 'http' : encrypted ? 'https' : 'http',
      host: (trusted ? header('x-forwarded-host') : undefined) ?? req.headers.host ?? '',
      clientIp: remote,
    };
  };

  const sitePassword = config.shared_password
    ? new SitePassword(
        config.shared_password,
        secret,
        { base: urls.base, health: `${urls.hub}health`, api: urls.api, tokenPaths: [urls.api, `${urls.base}user/`, `${urls.base}services/`] },
        (config.public_url ?? config.bind_url).startsWith('https:'),
        async (token) => (await identity.byToken(token).catch(() => null)) !== null,
      )
    : null;
  let server!: http.Server;
  const app: FastifyInstance = Fastify({
    logger: false,
    trustProxy: config.trusted_proxies,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 10 * 1024 * 1024,
    serverFactory: (handler) => {
      server = http.createServer(SERVER_TIMEOUTS, (req, res) => {
        const route = (): void => {
          // Under subdomain_host the route depends on the Host the client asked for: read it once.
          const info = urls.subdomain ? forwardedInfo(req) : undefined;
          const m = routeFor(req, info);
          if (m) forwarder.web(req, res, m.value.target, m.prefix, info ?? forwardedInfo(req));
          else if (m === null) toHubOrigin(req, res);
          else handler(req, res);
        };
        if (!sitePassword) return route();
        void sitePassword.check(req, proxyaddr(req, trust)).then((answer) => {
          if (!answer.pass) {
            res.writeHead(answer.status, { ...SECURITY_HEADERS, ...answer.headers });
            res.end(answer.body);
            return;
          }
          if (answer.setCookie) res.appendHeader('Set-Cookie', answer.setCookie);
          route();
        });
      });
      limitConnectionsPerClient(server, config.max_connections_per_client, (address) => trust(address, 0), log);
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        const route = (): void => {
          const info = urls.subdomain ? forwardedInfo(req) : undefined;
          const m = routeFor(req, info);
          if (m) return forwarder.ws(req, socket, head, m.value.target, m.prefix, info ?? forwardedInfo(req));
          socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nThe server is not running\n');
        };
        if (!sitePassword) return route();
        void sitePassword.check(req, proxyaddr(req, trust)).then((gate) => {
          if (gate.pass) return route();
          socket.end(`HTTP/1.1 ${gate.status} ${gate.status === 401 ? 'Unauthorized' : 'Too Many Requests'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        });
      });
      return server;
    },
  });
  await app.register(cookie, { secret });
  // Every route from here on declares its request policy; one check enforces it (src/http/policy-check.ts).
  app.decorateRequest('caller', null);
  const declaredRoutes = installRoutePolicy(app, policyCheck(ctx));
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
  // JupyterHub's request histogram, by route pattern (proxied requests never reach Fastify).
  app.addHook('onResponse', (req, reply, done) => {
    metrics.request(req.method, req.routeOptions.url ?? 'not-found', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.setErrorHandler((err, req, reply) => renderErrorPage(ctx, req, reply, describeError(err, log, req)));
  app.setNotFoundHandler((req, reply) => renderErrorPage(ctx, req, reply, { status: 404, message: `${reason(404)}: ${req.url.split('?')[0]}`, headers: {} }));

  const hubLogin = createHubLogin(ctx);
  await app.register(apiPlugin, { prefix: urls.api.slice(0, -1), ctx });
  await app.register(oauthPlugin, { prefix: `${urls.api}oauth2`, ctx });
  await app.register(
    async (pages) => {
      await pages.register(formbody);
      registerStaticRoutes(pages, branding);
      registerLoginRoutes(pages, ctx, hubLogin);
      authenticator.registerRoutes?.(pages, hubLogin);
      registerPageRoutes(pages, ctx);
      registerAdminPage(pages, ctx);
      registerMetrics(pages, ctx, { metrics, culler: () => culler, workshop: () => workshop });
      if (ctx.courses) registerCoursePages(pages, ctx, ctx.courses);
    },
    { prefix: urls.hub.slice(0, -1) },
  );
  // /user/<name>/… with no route: the server is not running; the hub decides what to do.
  app.all(`${urls.base}user/*`, withoutCaller('none: redirects to /hub/user/…'), async (req, reply) => reply.redirect(urls.hub + req.url.slice(urls.base.length), 302));
  app.get(urls.base, withoutCaller('none: redirects to /hub/'), async (_req, reply) => reply.redirect(urls.hub, 302));

  let activityTimer: NodeJS.Timeout | null = null;
  const flushActivity = async () => {
    for (const [prefix, when] of routes.drainActivity()) {
      const route = routes.get(prefix);
      if (!route || route.kind !== 'user') continue;
      const ts = new Date(when).toISOString();
      await servers.touch(route.id, ts);
      if (route.userId !== undefined) await users.touch(route.userId, ts);
    }
  };

  const culler = new IdleCuller({
    settings: config.culler,
    servers,
    users,
    lifecycle,
    log: log.child({ component: 'culler' }),
    flushActivity,
    async removeUser(user) {
      await lifecycle.stopUserServers(user);
      await users.delete(user.id);
    },
    removeServer: (id) => servers.delete(id),
    skip: (userId) => workshop?.isPooled(userId) ?? false,
  });
  if (authenticator instanceof TmpAuthenticator) {
    workshop = new Workshop({
      users,
      servers,
      lifecycle,
      log: log.child({ component: 'workshop' }),
      ensureUser,
      removeUserFiles: async (user) => spawner.removeUserFiles?.(user, (await servers.forUser(user.id)).map((row) => JSON.parse(row.spawner_state) as SpawnerState)),
      poolSize: config.authenticator.warm_pool,
      poolMaxAge: config.authenticator.warm_pool_max_age,
      spawnerKind: spawner.kind,
    });
    authenticator.setVisits(workshop);
  }

  const hub: Hub = {
    url: config.bind_url,
    ctx,
    routes: declaredRoutes,
    async listen() {
      const reattachBegan = performance.now();
      const { reattached, lost } = await lifecycle.reattach();
      metrics.reattached(secondsSince(reattachBegan));
      if (reattached || lost) log.info({ reattached, lost }, 'servers from the previous run');
      lifecycle.startPolling();
      culler.start();
      workshop?.start();
      const every = Math.max(1, Math.min(config.last_activity_interval, 60)) * 1000;
      activityTimer = setInterval(() => void flushActivity().catch((err) => log.error({ err }, 'activity flush failed')), every);
      activityTimer.unref();
      await app.ready();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(urls.listenPort, urls.listenHost, () => resolve());
      });
      serviceRunner.launchManaged();
      metrics.startEventLoopMonitor();
      metrics.startup(secondsSince(startBegan));
      // Catches up with course steps that fell due while the hub was down (in the background: a
      // content check may take a while), then keeps time.
      void courses?.scheduler.start();
      log.info({ url: config.bind_url, version: GANYMEDE_VERSION, db: database.description, spawner: spawner.kind, authenticator: authenticator.kind }, 'Ganymede is running');
    },
    onShutdownRequest(handler) {
      shutdownHandler = handler;
    },
    async runDueWork() {
      await courses?.scheduler.tick();
      if (config.culler.enabled) await culler.runFresh();
      await workshop?.recycle();
    },
    async close(options: ShutdownOptions = {}) {
      if (activityTimer) clearInterval(activityTimer);
      metrics.stopEventLoopMonitor();
      await culler.stop();
      await workshop?.close();
      await flushActivity().catch(() => undefined);
      await courses?.close();
      await lifecycle.shutdown(options.servers);
      await isolation?.launcher.close();
      await serviceRunner.stop();
      forwarder.close();
      server.closeAllConnections?.();
      await app.close();
      stopWatchingDatabase();
      await database.close();
    },
  };
  return hub;
}

/** The host name of a Host header value: without its port, lower case ('[::1]:8000' gives '[::1]'). */
function hostnameOf(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':');
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
}
