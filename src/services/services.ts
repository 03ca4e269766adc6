/**
 * Services from config, as JupyterHub's c.JupyterHub.services: a token, an OAuth client, a proxy
 * route /services/{name}/ when they have a url, and for managed services (`command`) a process the
 * hub starts, restarts when it dies, and stops on shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/schema.js';
import type { OAuthRepo } from '../db/repos/oauth.js';
import type { RoleRepo } from '../db/repos/roles.js';
import type { TokenRepo } from '../db/repos/tokens.js';
import type { HubUrls } from '../hub/urls.js';
import type { RouteTable } from '../proxy/route-table.js';

export interface ServiceDeps {
  urls: HubUrls;
  tokens: TokenRepo;
  roles: RoleRepo;
  oauth: OAuthRepo;
  routes: RouteTable;
  log: Logger;
}

const RESTART_DELAY_MS = 1000;

export function serviceClientId(svc: ServiceConfig): string {
  return svc.oauth_client_id ?? `service-${svc.name}`;
}

export class ServiceRunner {
  private procs = new Map<string, ChildProcess>();
  private tokensByName = new Map<string, string>();
  private stopping = false;

  constructor(
    private readonly services: ServiceConfig[],
    private readonly d: ServiceDeps,
  ) {}

  /** Registers tokens, OAuth clients and routes (before the hub listens). */
  async register(): Promise<void> {
    for (const svc of this.services) {
      const serviceId = await this.d.roles.ensureService(svc.name);
      let token = svc.api_token;
      if (token) {
        if (!(await this.d.tokens.byToken(token))) {
          await this.d.tokens.create({ owner: { serviceId }, kind: 'service', note: `Token for service ${svc.name} from config`, token });
        }
      } else {
        // A managed service without a configured token gets a fresh one each time the hub starts.
        const created = await this.d.tokens.create({ owner: { serviceId }, kind: 'service', note: `Token for managed service ${svc.name}` });
        token = created.token;
      }
      if (svc.url) {
        const u = new URL(svc.url);
        this.d.routes.add(this.d.urls.serviceRouteKey(svc.name), { target: `${u.protocol}//${u.host}`, kind: 'service', id: serviceId, data: { service: svc.name } });
        await this.d.oauth.upsertClient({
          id: serviceClientId(svc),
          description: `Service ${svc.name}`,
          secret: token,
          redirectUri: svc.oauth_redirect_uri ?? `${this.d.urls.serviceUrl(svc.name)}oauth_callback`,
          allowedScopes: [`access:services!service=${svc.name}`],
        });
      }
      this.tokensByName.set(svc.name, token);
    }
  }

  /** Starts managed services (once the hub answers, so they can reach its API at once). */
  launchManaged(): void {
    for (const svc of this.services) if (svc.command) this.launch(svc, this.tokensByName.get(svc.name)!);
  }

  env(svc: ServiceConfig, token: string): Record<string, string> {
    const prefix = this.d.urls.service(svc.name);
    const access = JSON.stringify([`access:services!service=${svc.name}`]);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
      ...svc.environment,
      JUPYTERHUB_SERVICE_NAME: svc.name,
      JUPYTERHUB_API_TOKEN: token,
      JUPYTERHUB_API_URL: this.d.urls.internalApiUrl,
      JUPYTERHUB_BASE_URL: this.d.urls.base,
      JUPYTERHUB_HOST: this.d.urls.subdomain?.origin ?? '',
      JUPYTERHUB_CLIENT_ID: serviceClientId(svc),
      JUPYTERHUB_OAUTH_SCOPES: access,
      JUPYTERHUB_OAUTH_ACCESS_SCOPES: access,
      JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: JSON.stringify([]),
      JUPYTERHUB_PUBLIC_HUB_URL: this.d.urls.publicHubUrl(),
      JUPYTERHUB_PUBLIC_URL: svc.url ? this.d.urls.publicServiceUrl(svc.name) : '',
    };
    if (svc.url) {
      env.JUPYTERHUB_SERVICE_URL = svc.url;
      env.JUPYTERHUB_SERVICE_PREFIX = prefix;
      env.JUPYTERHUB_OAUTH_CALLBACK_URL = svc.oauth_redirect_uri ?? `${this.d.urls.serviceUrl(svc.name)}oauth_callback`;
    }
    return env;
  }

  private launch(svc: ServiceConfig, token: string): void {
    const [cmd, ...args] = svc.command!;
    const child = spawn(cmd!, args, { env: this.env(svc, token), cwd: svc.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    this.procs.set(svc.name, child);
    this.d.log.info({ service: svc.name, pid: child.pid }, 'managed service started');
    child.on('error', (err) => this.d.log.error({ service: svc.name, err: err.message }, 'managed service failed to start'));
    child.on('exit', (code, signal) => {
      if (this.procs.get(svc.name) === child) this.procs.delete(svc.name);
      if (this.stopping) return;
      this.d.log.warn({ service: svc.name, code, signal }, 'managed service exited; restarting');
      setTimeout(() => {
        if (!this.stopping) this.launch(svc, token);
      }, RESTART_DELAY_MS).unref();
    });
  }

  pid(name: string): number {
    return this.procs.get(name)?.pid ?? 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.procs.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
