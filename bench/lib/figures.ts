/** The measurements themselves: API calls, spawn storms, load tests, WebSocket round trips. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { freePort, type RunningHub } from './hubs.js';

export interface ApiResult {
  status: number;
  text: string;
  json: unknown;
}

export async function api(hub: RunningHub, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResult> {
  const res = await fetch(`${hub.url}hub/api${path}`, {
    method,
    headers: { Authorization: `token ${hub.apiToken}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, text, json };
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

type ServerModel = { ready?: boolean; pending?: string | null };

/**
 * Polls GET /users/{name} until `done` holds for its default server (at most every 50 ms); `failed`
 * may name a reason to stop waiting (a spawn that failed).
 */
async function pollUser(
  hub: RunningHub,
  name: string,
  done: (server: ServerModel | undefined) => boolean,
  deadline: number,
  what: string,
  failed: (server: ServerModel | undefined) => Promise<string | null> = async () => null,
): Promise<void> {
  for (;;) {
    const res = await api(hub, 'GET', `/users/${name}`);
    if (res.status !== 200) throw new Error(`${hub.name}: GET /users/${name} answered ${res.status}`);
    const server = (res.json as { servers?: Record<string, ServerModel> }).servers?.[''];
    if (done(server)) return;
    const reason = await failed(server);
    if (reason) throw new Error(`${hub.name}: ${name}'s server did not start: ${reason}`);
    if (Date.now() > deadline) throw new Error(`${hub.name}: timed out waiting for ${name} ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A token the hub itself generated for a new admin user (POST /users/{name}/tokens), as the tokens
 * people and scripts use: JupyterHub stores a generated token with one round of SHA-512, but a token
 * given in its config with 16,384 rounds, checked again on every request.
 */
export async function generatedAdminToken(hub: RunningHub, name: string): Promise<string> {
  const created = await api(hub, 'POST', `/users/${name}`, { admin: true });
  if (created.status !== 201) throw new Error(`${hub.name}: creating ${name} answered ${created.status}: ${created.text.slice(0, 200)}`);
  const token = await api(hub, 'POST', `/users/${name}/tokens`, { note: 'bench' });
  const value = (token.json as { token?: unknown } | null)?.token;
  if (token.status !== 201 || typeof value !== 'string') throw new Error(`${hub.name}: a token for ${name} answered ${token.status}: ${token.text.slice(0, 200)}`);
  return value;
}

/**
 * `concurrency` clients each start servers one after the other, as a class of students would:
 * POST /users/{name}/server; on 202 (still starting after the hub's 10 s wait) poll the user until
 * the server is ready. Seconds until every server is ready.
 */
export async function spawnStorm(hub: RunningHub, names: string[], concurrency: number, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  await pool(names, concurrency, async (name) => {
    for (let attempt = 0; ; attempt++) {
      const res = await api(hub, 'POST', `/users/${name}/server`);
      if (res.status === 201) return;
      if (res.status === 202) {
        await pollUser(hub, name, (s) => s?.ready === true, deadline, 'to be ready', async (s) => (s === undefined ? spawnFailure(hub, name) : null));
        return;
      }
      if (res.status === 429 && attempt < 100) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      throw new Error(`${hub.name}: starting ${name} answered ${res.status}: ${res.text.slice(0, 200)}`);
    }
  });
  return (performance.now() - t0) / 1000;
}

/** Why a server that is neither running nor starting stopped, from its progress stream (both hubs give the failure there). */
async function spawnFailure(hub: RunningHub, name: string): Promise<string> {
  const res = await api(hub, 'GET', `/users/${name}/server/progress`);
  const failed = res.text.split('\n').find((l) => l.startsWith('data: ') && l.includes('"failed"'));
  return failed ? ((JSON.parse(failed.slice(6)) as { message?: string }).message ?? failed) : `stopped (progress answered ${res.status})`;
}

/** DELETE /users/{name}/server with `concurrency` clients; on 202, poll until the server is gone. Seconds. */
export async function stopStorm(hub: RunningHub, names: string[], concurrency: number, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  await pool(names, concurrency, async (name) => {
    const res = await api(hub, 'DELETE', `/users/${name}/server`);
    if (res.status === 204) return;
    if (res.status === 202) return pollUser(hub, name, (s) => s === undefined, deadline, 'to stop');
    throw new Error(`${hub.name}: stopping ${name} answered ${res.status}: ${res.text.slice(0, 200)}`);
  });
  return (performance.now() - t0) / 1000;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await listening(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function startMock(cmd: string[], port: number, prefix = '/'): ChildProcess {
  return spawn(cmd[0]!, cmd.slice(1), {
    env: { PATH: process.env.PATH, JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}${prefix}` },
    stdio: 'ignore',
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** The limit of a storm: launch `n` mocks with no hub and wait until all listen. Seconds. */
export async function launchMocksDirectly(mock: string, n: number): Promise<number> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const t0 = performance.now();
  const children = ports.map((p) => startMock([mock], p));
  try {
    await Promise.all(ports.map((p) => waitListening(p, 30_000)));
    return (performance.now() - t0) / 1000;
  } finally {
    await stopAll(children);
  }
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon against a hub path (with the hub's token unless auth is false), or, with no hub, against the full URL `target`. */
export async function loadTest(hub: RunningHub | null, target: string, connections: number, seconds: number, opts: { auth?: boolean; token?: string } = {}): Promise<LoadResult> {
  const url = hub ? hub.url.replace(/\/$/, '') + target : target;
  const headers: Record<string, string> = hub && opts.auth !== false ? { Authorization: `token ${opts.token ?? hub.apiToken}` } : {};
  const result = await autocannon({ url, connections, duration: seconds, headers });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`load test on ${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/**
 * Latency at a fixed, moderate rate (open loop: requests leave on schedule whether or not earlier
 * ones returned), so that it shows what a proxy adds to one request rather than queueing at
 * saturation. Microsecond resolution, unlike autocannon's whole milliseconds. Returns ms.
 */
export async function latencyAtRate(url: string, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const get = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${url} answered ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  try {
    for (let i = 0; i < 200; i++) await get(); // warm-up: JIT and kept-alive sockets on both sides
    const samples: Promise<number>[] = [];
    const total = Math.round(rate * seconds);
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      samples.push(get());
    }
    const times = (await Promise.all(samples)).sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    return { p50: at(0.5), p99: at(0.99) };
  } finally {
    agent.destroy();
  }
}

/** Starts the mock on a free port for a figure measured without a hub; returns its URL and a stop function. */
export async function startLoneMock(mock: string, prefix = '/'): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = startMock([mock], port, prefix);
  await waitListening(port, 10_000);
  return { url: `http://127.0.0.1:${port}${prefix}`, stop: () => stopAll([child]) };
}

/** WebSocket echo round trips per second over `sockets` connections, each sending its next message when the echo arrives. */
export async function wsEchoRate(url: string | null, sockets: number, seconds: number, opts: { echoScript?: string } = {}): Promise<number> {
  let child: ChildProcess | null = null;
  if (url === null) {
    const port = await freePort();
    child = startMock([process.execPath, opts.echoScript!], port, '/user/w/');
    await waitListening(port, 10_000);
    url = `ws://127.0.0.1:${port}/user/w/echo`;
  }
  try {
    const deadline = performance.now() + seconds * 1000;
    const counts = await Promise.all(
      Array.from({ length: sockets }, () =>
        new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(url!);
          let n = 0;
          ws.on('error', reject);
          ws.on('open', () => ws.send('ping'));
          ws.on('message', () => {
            n++;
            if (performance.now() < deadline) ws.send('ping');
            else {
              ws.close();
              resolve(n);
            }
          });
        }),
      ),
    );
    return counts.reduce((a, b) => a + b, 0) / seconds;
  } finally {
    if (child) await stopAll([child]);
  }
}

/** After a restart: every user's route answers 200 from its server again. */
export async function waitAllAnswer(hub: RunningHub, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = names;
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new Error(`${hub.name}: ${pending.length} routes still not answering`);
    const still: string[] = [];
    await pool(pending, 32, async (name) => {
      const res = await fetch(`${hub.url}user/${name}/`, { redirect: 'manual' }).catch(() => null);
      await res?.body?.cancel();
      if (res?.status !== 200) still.push(name);
    });
    pending = still;
    if (pending.length) await new Promise((r) => setTimeout(r, 20));
  }
}
