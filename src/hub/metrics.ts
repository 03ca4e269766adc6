/**
 * The hub's Prometheus metrics with JupyterHub's names, labels and buckets, so that the community's
 * Grafana dashboards (jupyterhub/grafana-dashboards) work unchanged: what the hub observes as it works
 * (spawns, stops, polls, requests, its start, the event loop). The gauges read from the database when
 * scraped are added beside them by src/http/metrics.ts, which serves the registry at /hub/metrics.
 *
 * Where Ganymede has no counterpart, the metric exists and stays empty: there is no external proxy
 * to poll (`jupyterhub_proxy_poll_duration_seconds`); routes are checked when the hub starts
 * (`jupyterhub_check_routes_duration_seconds`, with `jupyterhub_init_spawners_duration_seconds`).
 */
import { Histogram, Registry } from 'prom-client';

export type SpawnStatus = 'success' | 'failure' | 'already-pending' | 'throttled' | 'too-many-users';
export type StopStatus = 'success' | 'failure';
export type PollStatus = 'running' | 'stopped';

const SPAWN_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600, Infinity];
const EVENT_LOOP_BUCKETS = [0.05, 0.055, 0.06, 0.065, 0.07, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, Infinity];
/** How often the event loop's responsiveness is measured (JupyterHub's default resolution). */
const EVENT_LOOP_RESOLUTION_MS = 50;

export class HubMetrics {
  readonly registry = new Registry();
  private readonly spawnSeconds: Histogram<'status'>;
  private readonly stopSeconds: Histogram<'status'>;
  private readonly pollSeconds: Histogram<'status'>;
  private readonly requestSeconds: Histogram<'method' | 'handler' | 'code'>;
  private readonly startupSeconds: Histogram;
  private readonly initSpawnersSeconds: Histogram;
  private readonly checkRoutesSeconds: Histogram;
  private readonly eventLoopSeconds: Histogram;
  private eventLoopTimer: NodeJS.Timeout | null = null;
  private readonly requestSeries = new Map<string, { observe(value: number): void }>();

  constructor() {
    const registers = [this.registry];
    this.requestSeconds = new Histogram({ name: 'jupyterhub_request_duration_seconds', help: 'Request duration for all HTTP requests', labelNames: ['method', 'handler', 'code'], registers });
    this.spawnSeconds = new Histogram({ name: 'jupyterhub_server_spawn_duration_seconds', help: 'Time taken for server spawning operation', labelNames: ['status'], buckets: SPAWN_BUCKETS, registers });
    this.stopSeconds = new Histogram({ name: 'jupyterhub_server_stop_seconds', help: 'Time taken for server stopping operation', labelNames: ['status'], registers });
    this.pollSeconds = new Histogram({ name: 'jupyterhub_server_poll_duration_seconds', help: 'Time taken to poll if server is running', labelNames: ['status'], registers });
    new Histogram({ name: 'jupyterhub_proxy_poll_duration_seconds', help: 'Duration for polling all routes from proxy (Ganymede: none, its proxy is built in)', registers });
    this.checkRoutesSeconds = new Histogram({ name: 'jupyterhub_check_routes_duration_seconds', help: 'Time taken to validate all routes in proxy', registers });
    this.startupSeconds = new Histogram({ name: 'jupyterhub_hub_startup_duration_seconds', help: 'Time taken for Hub to start', registers });
    this.initSpawnersSeconds = new Histogram({ name: 'jupyterhub_init_spawners_duration_seconds', help: 'Time taken for spawners to initialize', registers });
    this.eventLoopSeconds = new Histogram({ name: 'jupyterhub_event_loop_interval_seconds', help: 'Distribution of measured event loop intervals', buckets: EVENT_LOOP_BUCKETS, registers });
    // As JupyterHub: every status exists from the start, so that dashboards and alerts see zeros.
    for (const status of ['success', 'failure', 'already-pending', 'throttled', 'too-many-users'] satisfies SpawnStatus[]) this.spawnSeconds.zero({ status });
    for (const status of ['success', 'failure'] satisfies StopStatus[]) this.stopSeconds.zero({ status });
    for (const status of ['running', 'stopped'] satisfies PollStatus[]) this.pollSeconds.zero({ status });
  }

  spawn(status: SpawnStatus, seconds: number): void {
    this.spawnSeconds.labels(status).observe(seconds);
  }

  stop(status: StopStatus, seconds: number): void {
    this.stopSeconds.labels(status).observe(seconds);
  }

  poll(status: PollStatus, seconds: number): void {
    this.pollSeconds.labels(status).observe(seconds);
  }

  /** `handler`: the route's pattern (`/hub/api/users/:name`), where JupyterHub names its handler class. */
  request(method: string, handler: string, code: number, seconds: number): void {
    // On every hub answer: the labelled series is looked up once per method, route and code.
    const key = `${method} ${code} ${handler}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      series = this.requestSeconds.labels(method, handler, String(code));
      this.requestSeries.set(key, series);
    }
    series.observe(seconds);
  }

  startup(seconds: number): void {
    this.startupSeconds.observe(seconds);
  }

  /** Reattaching the servers of the previous run at start: their spawners' state and their routes. */
  reattached(seconds: number): void {
    this.initSpawnersSeconds.observe(seconds);
    this.checkRoutesSeconds.observe(seconds);
  }

  /** Measures how late the event loop wakes up, as JupyterHub does, until `stop`. */
  startEventLoopMonitor(): void {
    let last = performance.now();
    const tick = (): void => {
      const now = performance.now();
      const interval = now - last;
      last = now;
      // Below twice the resolution nothing is known beyond "on time".
      const delay = interval < 2 * EVENT_LOOP_RESOLUTION_MS ? EVENT_LOOP_RESOLUTION_MS : interval - EVENT_LOOP_RESOLUTION_MS;
      this.eventLoopSeconds.observe(delay / 1000);
      this.eventLoopTimer = setTimeout(tick, EVENT_LOOP_RESOLUTION_MS);
      this.eventLoopTimer.unref();
    };
    this.eventLoopTimer = setTimeout(tick, EVENT_LOOP_RESOLUTION_MS);
    this.eventLoopTimer.unref();
  }

  stopEventLoopMonitor(): void {
    if (this.eventLoopTimer) clearTimeout(this.eventLoopTimer);
    this.eventLoopTimer = null;
  }
}

/** Seconds since `startMs` (a performance.now() value). */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}
