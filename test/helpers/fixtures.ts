/** Config pieces shared by integration tests. */
import { randomBytes } from 'node:crypto';

/** A service token with the admin role, for driving the API in tests. */
export const ADMIN_TOKEN = randomBytes(24).toString('hex');

/**
 * The real single-user server, by the hub's default spawner.cmd: JupyterLab 4 (jupyter_server 2) from
 * the environment `make test` installs, else Debian's classic Notebook (src/config/single-user-server.ts).
 * --allow-root because CI runs as root (harmless otherwise).
 */
export const REAL_SPAWNER = {
  class: 'local-process',
  args: ['--allow-root'],
  start_timeout: 60,
  http_timeout: 45,
};

/** Debian's own server, the classic Notebook 6: for tests of its pages, which JupyterLab does not have. */
export const CLASSIC_SERVER_CMD = ['/usr/bin/jupyterhub-singleuser'];

export function adminServiceConfig(): Record<string, unknown> {
  return {
    services: [{ name: 'test-admin', api_token: ADMIN_TOKEN }],
    load_roles: [{ name: 'admin', services: ['test-admin'] }],
  };
}

/** Reads an event-stream response to its end and returns the parsed `data:` events. */
export async function readEventStream(res: Response): Promise<Array<Record<string, unknown>>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'))
    .filter(Boolean)
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

/**
 * The own address of a server the local-process spawner started (`port` of its saved state, on
 * spawner.ip, 127.0.0.1 by default): asking it there, not through the hub's proxy, tells whether the
 * server itself still runs.
 */
export function serverAddress(state: { port?: unknown }): string {
  if (typeof state.port !== 'number') throw new Error(`no port in the server's state: ${JSON.stringify(state)}`);
  return `http://127.0.0.1:${state.port}`;
}

/**
 * Whether anything answers HTTP at `url`: false when the connection is refused (nothing listens
 * there any more). Any other failure (a reset, a timeout) is thrown, not taken for "gone".
 */
export async function answersHttp(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return true;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return false;
    throw new Error(`${url}: neither an answer nor a refused connection: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
