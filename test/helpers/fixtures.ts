/** Config pieces shared by integration tests. */
import { randomBytes } from 'node:crypto';

/** A service token with the admin role, for driving the API in tests. */
export const ADMIN_TOKEN = randomBytes(24).toString('hex');

/** The real single-user server; --allow-root because CI runs as root (harmless otherwise). */
export const REAL_SPAWNER = {
  class: 'local-process',
  cmd: ['jupyterhub-singleuser'],
  args: ['--allow-root'],
  start_timeout: 60,
  http_timeout: 45,
};

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
