/**
 * `GET /hub/metrics`: Prometheus metrics, as JupyterHub serves them there, for a token or login with
 * the `read:metrics` scope (JupyterHub's default, authenticate_prometheus). JupyterHub's histograms
 * (src/hub/metrics.ts) are observed as the hub works; the gauges here are read from the database
 * when scraped; the culler and the warm pool report their counts.
 */
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { HubContext } from './context.js';
import { api, scopes } from '../rbac/route-policy.js';
import type { IdleCuller } from '../hub/culler.js';
import type { HubMetrics } from '../hub/metrics.js';
import { wallClock } from '../clock.js';
import type { Workshop } from '../workshop/temporary-users.js';

/** Read when scraped (they are built after the routes). */
export interface MetricSources {
  /** The registry with the hub's histograms, which the gauges join. */
  metrics: HubMetrics;
  culler(): IdleCuller;
  workshop(): Workshop | null;
}

export function registerMetrics(app: FastifyInstance, ctx: HubContext, sources: MetricSources): void {
  const registry = sources.metrics.registry;
  new Gauge({
    name: 'jupyterhub_total_users',
    help: 'Total number of users',
    registers: [registry],
    async collect() {
      this.set((await ctx.users.list({ offset: 0, limit: 1 })).total);
    },
  });
  new Gauge({
    name: 'jupyterhub_active_users',
    help: 'Number of users who were active in the given time period',
    labelNames: ['period'],
    registers: [registry],
    async collect() {
      const now = wallClock.now();
      for (const [period, hours] of [['24h', 24], ['7d', 7 * 24], ['30d', 30 * 24]] as const) {
        this.set({ period }, await ctx.users.countActiveSince(new Date(now - hours * 3600_000).toISOString()));
      }
    },
  });
  new Gauge({
    name: 'jupyterhub_running_servers',
    help: 'The number of user servers currently running',
    registers: [registry],
    async collect() {
      this.set((await ctx.servers.inPhases(['running'])).length);
    },
  });
  new Gauge({
    name: 'jupyterhub_pending_spawns',
    help: 'The number of servers starting',
    registers: [registry],
    collect() {
      this.set(ctx.lifecycle.progress.pendingCount);
    },
  });
  new Gauge({
    name: 'ganymede_spawn_queue',
    help: 'Starts waiting their turn beyond concurrent_spawn_limit',
    registers: [registry],
    collect() {
      this.set(ctx.lifecycle.queue.queued);
    },
  });
  new Gauge({
    name: 'ganymede_culled',
    help: 'Servers stopped and users deleted by the idle culler since start',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'servers' }, sources.culler().totals.servers);
      this.set({ kind: 'users' }, sources.culler().totals.users);
    },
  });
  new Gauge({
    name: 'ganymede_culler_runs',
    help: 'Passes of the idle culler since start',
    registers: [registry],
    collect() {
      this.set(sources.culler().totals.runs);
    },
  });
  if (ctx.config.authenticator.class === 'tmp') {
    new Gauge({
      name: 'ganymede_warm_pool_ready',
      help: 'Temporary users whose servers wait ready in the warm pool',
      registers: [registry],
      collect() {
        this.set(sources.workshop()?.ready ?? 0);
      },
    });
    new Gauge({
      name: 'ganymede_warm_pool_visitors',
      help: 'Visitors since start, handed a pooled server or not',
      labelNames: ['pooled'],
      registers: [registry],
      collect() {
        const counts = sources.workshop()?.counts ?? { pooled: 0, fresh: 0 };
        this.set({ pooled: 'true' }, counts.pooled);
        this.set({ pooled: 'false' }, counts.fresh);
      },
    });
  }

  // A token (as Prometheus sends it), or a cookie with the API's rules: the metrics are an API.
  app.get('/metrics', api(scopes(['read:metrics'])), async (_req, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
