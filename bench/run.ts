/**
 * `npm run bench [-- --quick]`: Ganymede and JupyterHub side by side on this machine, same mock
 * server, same loopback, alternating runs. Prints one Markdown table and writes bench/RESULTS.md.
 * See bench/README.md for what each figure means and what was found while making them fast.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildMock } from './lib/mock.js';
import { cpuSplitOf, jupyterHubAvailable, startGanymede, startJupyterHub, type HubOptions, type RunningHub } from './lib/hubs.js';
import { median } from './lib/stats.js';
import { PeakRss, rssOfPid, rssOfPids } from './lib/rss.js';
import { visitorsAtOnce } from './lib/workshop.js';
import { adminPageSearch, searchLatency, seedJupyterHubUsers } from './lib/admin-search.js';
import { api, generatedAdminToken, latencyAtRate, launchMocksDirectly, loadTest, spawnStorm, startLoneMock, stopStorm, waitAllAnswer, wsEchoRate } from './lib/figures.js';

const quick = process.argv.includes('--quick');
const P = quick
  ? { storm: 20, bigStorm: 40, real: 2, users: 500, batch: 100, reps: 1, seconds: 2, restart: 20, visitors: 3, searchUsers: 2000, searchRunning: 50, searches: 50 }
  : { storm: 300, bigStorm: 1000, real: 20, users: 5000, batch: 500, reps: 3, seconds: 5, restart: 300, visitors: 10, searchUsers: 50_000, searchRunning: 1000, searches: 300 };
/** BENCH_ONLY=storm, proxy, admin or workshop runs those figures alone (while working on them). */
const only = process.env.BENCH_ONLY;

/** Requests/s for the latency figures: well below every proxy's saturation, so queueing does not hide its own cost. */
const PACED_RATE = 500;

type HubName = 'ganymede' | 'jupyterhub';
type Starter = (opts: HubOptions) => Promise<RunningHub>;
const STARTERS: Record<HubName, Starter> = { ganymede: startGanymede, jupyterhub: startJupyterHub };

interface Row {
  figure: string;
  ganymede: number | null;
  jupyterhub: number | null;
  unit: string;
  /** true when bigger is better (rates); the ratio is then g/j, else j/g ("times faster"). */
  higherIsBetter: boolean;
  limit?: number | null;
}

const rows: Row[] = [];
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function record(row: Row): void {
  rows.push(row);
  log(`${row.figure}: ganymede ${fmt(row.ganymede, row.unit)}, jupyterhub ${fmt(row.jupyterhub, row.unit)}`);
}

function fmt(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return '—';
  if (unit === 's') return `${v.toFixed(2)} s`;
  if (unit === 'ms') return `${v.toFixed(2)} ms`;
  if (unit === 'MB') return `${(v / 1024 / 1024).toFixed(0)} MB`;
  if (unit === '/s') return `${Math.round(v).toLocaleString('en-US')} /s`;
  return `${v} ${unit}`;
}

function ratio(r: Row): string {
  if (r.ganymede === null || r.jupyterhub === null || r.ganymede === 0 || r.jupyterhub === 0) return '—';
  const x = r.higherIsBetter ? r.ganymede / r.jupyterhub : r.jupyterhub / r.ganymede;
  return `${x.toFixed(x >= 10 ? 0 : 1)}×`;
}

/** BENCH_HUBS=ganymede measures one hub alone (while working on a figure); the table then lacks the other column. */
const wanted = (process.env.BENCH_HUBS ?? 'ganymede,jupyterhub').split(',');
const hubs: HubName[] = (jupyterHubAvailable() ? (['ganymede', 'jupyterhub'] as const) : (['ganymede'] as const)).filter((h) => wanted.includes(h));

/** Runs `fn` for each hub, `reps` times, alternating hubs, and returns the medians of each measured value. */
async function alternate<T extends Record<string, number>>(fn: (hub: HubName) => Promise<T>, reps = P.reps): Promise<Record<HubName, T | null>> {
  const results: Record<HubName, T[]> = { ganymede: [], jupyterhub: [] };
  for (let i = 0; i < reps; i++) for (const h of hubs) results[h].push(await fn(h));
  const out = { ganymede: null, jupyterhub: null } as Record<HubName, T | null>;
  for (const h of hubs) {
    const runs = results[h];
    if (runs.length === 0) continue;
    out[h] = Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, median(runs.map((r) => r[k]!))])) as T;
  }
  return out;
}

async function withHub<T>(name: HubName, opts: HubOptions, fn: (hub: RunningHub) => Promise<T>): Promise<T> {
  const hub = await STARTERS[name](opts);
  try {
    return await fn(hub);
  } finally {
    await hub.stop();
  }
}

async function createUsers(hub: RunningHub, names: string[], batch: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < names.length; i += batch) {
    const res = await api(hub, 'POST', '/users', { usernames: names.slice(i, i + batch) });
    if (res.status !== 201) throw new Error(`${hub.name}: POST /users answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  return (performance.now() - t0) / 1000;
}

const userNames = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

async function main(): Promise<void> {
  if (!existsSync('dist/cli.js') || process.env.BENCH_BUILD !== '0') {
    log('building Ganymede (npm run build)');
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const mock = await buildMock();
  log(`hubs: ${hubs.join(', ')}${jupyterHubAvailable() ? '' : ' (JupyterHub not installed: its column stays empty)'}; ${quick ? 'quick' : 'full'} run`);

  if (only === 'storm') await stormFigures(mock);
  else if (only === 'proxy') await proxyFigures(mock);
  else if (only === 'admin') await adminSearchFigures(mock);
  else if (only !== 'workshop') {
    await sideBySide(mock);
    await adminSearchFigures(mock);
  }
  if (!only || only === 'workshop') await workshopFigure();

  const table = [
    `| figure | Ganymede | JupyterHub 3.0.0 | ratio | limit |`,
    `|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.figure} | ${fmt(r.ganymede, r.unit)} | ${fmt(r.jupyterhub, r.unit)} | ${ratio(r)} | ${r.limit === undefined ? '' : fmt(r.limit, r.unit)} |`),
  ].join('\n');
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  const text = `# Benchmark results\n\n${quick ? 'Quick run' : 'Full run'} on ${machine}. Each figure is the median of ${P.reps} runs unless noted in bench/README.md; "ratio" is how many times better Ganymede is.\n\n${table}\n`;
  process.stdout.write(text);
  // A partial run (BENCH_ONLY, BENCH_HUBS) never replaces the full table.
  if ((!quick || process.argv.includes('--write')) && !only && !process.env.BENCH_HUBS) writeFileSync('bench/RESULTS.md', text);
}

/**
 * The admin's search with many users and running servers: the REST API side by side, and
 * Ganymede's admin page in Chromium (JupyterHub's is not measured: see bench/README.md).
 */
async function adminSearchFigures(mock: string) {
  const names = userNames('u', P.searchUsers);
  const running = names.filter((_, i) => i % Math.floor(P.searchUsers / P.searchRunning) === 0).slice(0, P.searchRunning);
  // Valid both as JupyterHub 3's prefix and as JupyterHub 5's (and Ganymede's) substring: many matches to few.
  const filters = ['u1', 'u12', 'u123', 'u1234', 'u2', 'u23', 'u234', 'u2345', 'u3', 'u34', 'u345', 'u3456'];
  const result = await alternate(async (h) => {
    let hub: RunningHub;
    if (h === 'jupyterhub') {
      const first = await startJupyterHub({ serverCmd: [mock], cleanupServers: false });
      await first.stop();
      seedJupyterHubUsers(path.join(first.dataDir, 'jupyterhub.sqlite'), names);
      hub = await startJupyterHub({ serverCmd: [mock], dataDir: first.dataDir, concurrentSpawnLimit: 0 });
    } else {
      hub = await startGanymede({ serverCmd: [mock], concurrentSpawnLimit: 0, ganymedeConfig: { authenticator: { class: 'dummy', admin_users: ['benchadmin'] } } });
      await createUsers(hub, names, P.batch);
    }
    try {
      await spawnStorm(hub, running, 32, 600_000);
      const search = await searchLatency(hub, filters, P.searches);
      const page = h === 'ganymede' ? await adminPageSearch(hub, 'benchadmin', [names[777]!, names[P.searchUsers - 3]!, names[4242 % P.searchUsers]!, names[12]!, names[P.searchUsers >> 1]!]) : 0;
      return { p50: search.p50, p99: search.p99, page };
    } finally {
      await hub.stop();
    }
  }, 1);
  const label = `${P.searchUsers.toLocaleString('en-US')} users, ${P.searchRunning.toLocaleString('en-US')} running`;
  record({ figure: `Admin search: GET /users?name_filter=…&limit=50, p50 (${label})`, ganymede: result.ganymede?.p50 ?? null, jupyterhub: result.jupyterhub?.p50 ?? null, unit: 'ms', higherIsBetter: false });
  record({ figure: `Admin search: GET /users?name_filter=…&limit=50, p99 (${label})`, ganymede: result.ganymede?.p99 ?? null, jupyterhub: result.jupyterhub?.p99 ?? null, unit: 'ms', higherIsBetter: false });
  record({ figure: `Admin page in Chromium: typing a name until the table shows that user (${label})`, ganymede: result.ganymede?.page ?? null, jupyterhub: null, unit: 'ms', higherIsBetter: false });
}

/** Figure 1: the spawn storm with the C mock, its hub CPU and the launcher's memory. */
async function stormFigures(mock: string) {
  // 1. Spawn storm with the C mock, and its limit (the same mocks launched with no hub).
  const limits: number[] = [];
  for (let i = 0; i < P.reps; i++) limits.push(await launchMocksDirectly(mock, P.storm));
  const storm = await alternate(async (h) =>
    withHub(h, { serverCmd: [mock], concurrentSpawnLimit: 0 }, async (hub) => {
      const names = userNames('s', P.storm);
      await createUsers(hub, names, P.batch);
      const peak = new PeakRss(() => hub.pids());
      peak.start();
      const cpuBefore = cpuSplitOf(hub.hubPid());
      const from = process.hrtime.bigint();
      const start = await spawnStorm(hub, names, 32);
      const cpuAfter = cpuSplitOf(hub.hubPid());
      const cpuPerSpawn = (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / names.length;
      log(`${h}: hub CPU per spawn ${cpuPerSpawn.toFixed(2)} ms (user ${((cpuAfter.user - cpuBefore.user) / names.length).toFixed(2)}, system ${((cpuAfter.system - cpuBefore.system) / names.length).toFixed(2)})`);
      // With BENCH_CPU_PROF: the storm's window on the monotonic clock the profiles' timestamps use (µs).
      if (process.env.BENCH_CPU_PROF) appendFileSync(path.join(process.env.BENCH_CPU_PROF, 'storm-windows.jsonl'), JSON.stringify({ hub: h, from: Number(from / 1000n), to: Number(process.hrtime.bigint() / 1000n) }) + '\n');
      const launcherRss = rssOfPid(hub.launcherPid() ?? -1);
      const rss = peak.stop();
      const stop = await stopStorm(hub, names, 32);
      return { start, stop, rss, cpuPerSpawn, launcherRss };
    }),
  );
  const limit = median(limits);
  record({ figure: `Spawn storm: ${P.storm} servers ready`, ganymede: storm.ganymede?.start ?? null, jupyterhub: storm.jupyterhub?.start ?? null, unit: 's', higherIsBetter: false, limit });
  record({ figure: `Spawn storm: hub overhead (storm − limit ${limit.toFixed(2)} s)`, ganymede: storm.ganymede ? Math.max(0.001, storm.ganymede.start - limit) : null, jupyterhub: storm.jupyterhub ? storm.jupyterhub.start - limit : null, unit: 's', higherIsBetter: false });
  record({ figure: `Spawn storm: hub process CPU per spawn (user + system, from /proc/<hub pid>/stat)`, ganymede: storm.ganymede?.cpuPerSpawn ?? null, jupyterhub: storm.jupyterhub?.cpuPerSpawn ?? null, unit: 'ms', higherIsBetter: false });
  record({ figure: `Memory: the launcher's RSS with ${P.storm} servers running`, ganymede: storm.ganymede?.launcherRss ?? null, jupyterhub: null, unit: 'MB', higherIsBetter: false });
  record({ figure: `Spawn storm: stop ${P.storm} servers`, ganymede: storm.ganymede?.stop ?? null, jupyterhub: storm.jupyterhub?.stop ?? null, unit: 's', higherIsBetter: false });

  // 1b. A bigger storm from more clients (once per hub), and the hub's memory with that many running.
  const big = await alternate(
    async (h) =>
      withHub(h, { serverCmd: [mock], concurrentSpawnLimit: 0 }, async (hub) => {
        const names = userNames('m', P.bigStorm);
        await createUsers(hub, names, P.batch);
        const start = await spawnStorm(hub, names, 64, 600_000);
        await new Promise((r) => setTimeout(r, 500));
        const rss = rssOfPids(hub.pids());
        await stopStorm(hub, names, 64, 600_000);
        return { start, rss };
      }),
    1,
  );
  record({ figure: `Spawn storm: ${P.bigStorm} servers ready, 64 clients (one run)`, ganymede: big.ganymede?.start ?? null, jupyterhub: big.jupyterhub?.start ?? null, unit: 's', higherIsBetter: false });
  record({ figure: `Memory: RSS with ${P.bigStorm} servers running (Ganymede: hub and launcher; JupyterHub: hub and proxy)`, ganymede: big.ganymede?.rss ?? null, jupyterhub: big.jupyterhub?.rss ?? null, unit: 'MB', higherIsBetter: false });
  return storm;
}

/** Figure 5: small GETs and WebSocket echoes through each hub's proxy, against the mock reached directly. */
async function proxyFigures(mock: string): Promise<void> {
  // 5. Proxy: small GETs to the C mock through each hub's proxy, against the mock reached directly;
  //    WebSocket echo round trips through the proxy and directly.
  const proxy = await alternate(async (h) =>
    withHub(h, { serverCmd: [mock] }, async (hub) => {
      await api(hub, 'POST', '/users/p');
      await spawnStorm(hub, ['p'], 1);
      await loadTest(hub, '/user/p/', 20, 2, { auth: false }); // warm-up
      const through = await loadTest(hub, '/user/p/', 20, P.seconds, { auth: false });
      const paced = await latencyAtRate(`${hub.url}user/p/`, PACED_RATE, P.seconds);
      return { rps: through.rps, p99: through.p99, pacedP50: paced.p50, pacedP99: paced.p99 };
    }),
  );
  const lone = await startLoneMock(mock);
  let direct: Awaited<ReturnType<typeof loadTest>>;
  let directPaced: { p50: number; p99: number };
  try {
    direct = await loadTest(null, lone.url, 20, P.seconds);
    directPaced = await latencyAtRate(lone.url, PACED_RATE, P.seconds);
  } finally {
    await lone.stop();
  }
  record({ figure: 'Proxy: small GETs/s at saturation, 20 connections (limit: the mock reached directly)', ganymede: proxy.ganymede?.rps ?? null, jupyterhub: proxy.jupyterhub?.rps ?? null, unit: '/s', higherIsBetter: true, limit: direct.rps });
  record({ figure: 'Proxy: p99 latency at saturation', ganymede: proxy.ganymede?.p99 ?? null, jupyterhub: proxy.jupyterhub?.p99 ?? null, unit: 'ms', higherIsBetter: false, limit: direct.p99 });
  record({ figure: `Proxy: p50 latency at ${PACED_RATE} requests/s`, ganymede: proxy.ganymede?.pacedP50 ?? null, jupyterhub: proxy.jupyterhub?.pacedP50 ?? null, unit: 'ms', higherIsBetter: false, limit: directPaced.p50 });
  record({ figure: `Proxy: p99 latency at ${PACED_RATE} requests/s`, ganymede: proxy.ganymede?.pacedP99 ?? null, jupyterhub: proxy.jupyterhub?.pacedP99 ?? null, unit: 'ms', higherIsBetter: false, limit: directPaced.p99 });
  const echo = path.resolve('bench/mock/ws-echo.mjs');
  const ws = await alternate(async (h) =>
    withHub(h, { serverCmd: [process.execPath, echo] }, async (hub) => {
      await api(hub, 'POST', '/users/w');
      await spawnStorm(hub, ['w'], 1);
      return { rate: await wsEchoRate(`${hub.url.replace(/^http/, 'ws')}user/w/echo`, 10, P.seconds) };
    }),
  );
  const wsDirect = await wsEchoRate(null, 10, P.seconds, { echoScript: echo });
  record({ figure: 'Proxy: WebSocket echo round trips/s, 10 sockets', ganymede: ws.ganymede?.rate ?? null, jupyterhub: ws.jupyterhub?.rate ?? null, unit: '/s', higherIsBetter: true, limit: wsDirect });
}

/** Figures 1-7: both hubs, side by side. */
async function sideBySide(mock: string): Promise<void> {
  const storm = await stormFigures(mock);

  // 2. The same storm with the real jupyterhub-singleuser.
  const real = await alternate(async (h) =>
    withHub(h, { serverCmd: ['jupyterhub-singleuser', '--allow-root'], concurrentSpawnLimit: 0, startTimeout: 120 }, async (hub) => {
      const names = userNames('r', P.real);
      await createUsers(hub, names, P.batch);
      const start = await spawnStorm(hub, names, 32, 180_000);
      const stop = await stopStorm(hub, names, 32, 120_000);
      return { start, stop };
    }),
    1,
  );
  record({ figure: `Real servers: ${P.real} jupyterhub-singleuser ready`, ganymede: real.ganymede?.start ?? null, jupyterhub: real.jupyterhub?.start ?? null, unit: 's', higherIsBetter: false });

  // 3, 4, 6. API rate, bulk users, memory idle and with many users.
  const apiRuns = await alternate(async (h) =>
    withHub(h, { serverCmd: [mock] }, async (hub) => {
      await api(hub, 'POST', '/users/bench-one');
      const generated = await generatedAdminToken(hub, 'bench-admin');
      await new Promise((r) => setTimeout(r, 500));
      const idle = rssOfPids(hub.pids());
      const one = await loadTest(hub, '/hub/api/users/bench-one', 20, P.seconds, { token: generated });
      const configToken = await loadTest(hub, '/hub/api/users/bench-one', 20, P.seconds);
      const bulk = await createUsers(hub, userNames('b', P.users), P.batch);
      const list = await loadTest(hub, '/hub/api/users?limit=200', 5, P.seconds);
      const many = rssOfPids(hub.pids());
      return { rps: one.rps, p50: one.p50, p99: one.p99, configRps: configToken.rps, bulk, listRps: list.rps, listP99: list.p99, idle, many };
    }),
  );
  const g = apiRuns.ganymede;
  const j = apiRuns.jupyterhub;
  record({ figure: 'API: GET /users/{name}, 20 connections, a token the hub generated', ganymede: g?.rps ?? null, jupyterhub: j?.rps ?? null, unit: '/s', higherIsBetter: true });
  record({ figure: 'API: GET /users/{name} p50 latency (generated token)', ganymede: g?.p50 ?? null, jupyterhub: j?.p50 ?? null, unit: 'ms', higherIsBetter: false });
  record({ figure: 'API: GET /users/{name} p99 latency (generated token)', ganymede: g?.p99 ?? null, jupyterhub: j?.p99 ?? null, unit: 'ms', higherIsBetter: false });
  record({ figure: 'API: GET /users/{name}, 20 connections, a service token from the config (JupyterHub: 16,384 SHA-512 rounds per request)', ganymede: g?.configRps ?? null, jupyterhub: j?.configRps ?? null, unit: '/s', higherIsBetter: true });
  record({ figure: `API: GET /users?limit=200 with ${P.users} users`, ganymede: g?.listRps ?? null, jupyterhub: j?.listRps ?? null, unit: '/s', higherIsBetter: true });
  record({ figure: `Bulk: create ${P.users} users in batches of ${P.batch}`, ganymede: g?.bulk ?? null, jupyterhub: j?.bulk ?? null, unit: 's', higherIsBetter: false });
  record({ figure: 'Memory: RSS idle', ganymede: g?.idle ?? null, jupyterhub: j?.idle ?? null, unit: 'MB', higherIsBetter: false });
  record({ figure: `Memory: RSS with ${P.users} users`, ganymede: g?.many ?? null, jupyterhub: j?.many ?? null, unit: 'MB', higherIsBetter: false });
  record({ figure: `Memory: peak RSS during the ${P.storm}-server storm`, ganymede: storm.ganymede?.rss ?? null, jupyterhub: storm.jupyterhub?.rss ?? null, unit: 'MB', higherIsBetter: false });

  await proxyFigures(mock);

  // 7. Restart with running servers: time from the new hub process until every route answers again.
  const restart = await alternate(async (h) => {
    const first = await STARTERS[h]({ serverCmd: [mock], cleanupServers: false, concurrentSpawnLimit: 0 });
    const names = userNames('x', P.restart);
    try {
      await createUsers(first, names, P.batch);
      await spawnStorm(first, names, 32);
    } finally {
      await first.stop();
    }
    const t0 = performance.now();
    const second = await STARTERS[h]({ serverCmd: [mock], cleanupServers: true, concurrentSpawnLimit: 0, dataDir: first.dataDir, port: Number(new URL(first.url).port) });
    try {
      await waitAllAnswer(second, names, 60_000);
      return { seconds: (performance.now() - t0) / 1000 };
    } finally {
      await second.stop();
    }
  }, 1);
  record({ figure: `Restart with ${P.restart} running servers until all routes answer`, ganymede: restart.ganymede?.seconds ?? null, jupyterhub: restart.jupyterhub?.seconds ?? null, unit: 's', higherIsBetter: false });
}

/**
 * 8. Workshop (Ganymede only: JupyterHub has no warm pool, and tmpauthenticator is not packaged here):
 * visitors arriving at once at a tmp hub with the real jupyterhub-singleuser, until the last one's
 * server answers, with a warm pool as large as the group and without one.
 */
async function workshopFigure(): Promise<void> {
  const n = P.visitors;
  const measure = (pool: number) =>
    withHub('ganymede', { serverCmd: ['jupyterhub-singleuser', '--allow-root'], startTimeout: 120, ganymedeConfig: { authenticator: { class: 'tmp', warm_pool: pool } } }, async (hub) => {
      const deadline = Date.now() + 180_000;
      while (pool > 0) {
        const users = (await api(hub, 'GET', '/users')).json as Array<{ servers: Record<string, { ready: boolean }> }>;
        if (users.filter((u) => u.servers['']?.ready).length >= pool) break;
        if (Date.now() > deadline) throw new Error('the warm pool did not fill');
        await new Promise((r) => setTimeout(r, 200));
      }
      return visitorsAtOnce(hub.url, n);
    });
  const pooled = await measure(n);
  const cold = await measure(0);
  log(`Workshop: ${pooled.waited} of ${n} pooled visitors waited for a start; ${cold.waited} of ${n} without a pool`);
  record({ figure: `Workshop: ${n} visitors at once, warm_pool ${n}: until the last one's server answers`, ganymede: pooled.slowest, jupyterhub: null, unit: 's', higherIsBetter: false });
  record({ figure: `Workshop: ${n} visitors at once, no pool (servers start on arrival)`, ganymede: cold.slowest, jupyterhub: null, unit: 's', higherIsBetter: false });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
