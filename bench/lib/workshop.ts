/**
 * The workshop figure: visitors arriving at once at a hub with `authenticator.class: tmp`, each
 * timed from its first request until its own server answers (`GET /user/<name>/api`, which
 * jupyterhub-singleuser answers without login). With a warm pool a visitor is handed a running
 * server; without one the visit starts a server and waits for it, as the spawn-pending page would.
 */

import http from 'node:http';

const POLL_MS = 50;

/**
 * One page load with the visitor's cookies, redirects not followed, as a browser's navigation
 * (`Sec-Fetch-Mode: navigate`: the hub's pages take the login cookie only for navigations, and
 * Node's fetch always says `cors`). Returns the status and Location.
 */
function step(jar: Map<string, string>, url: string): Promise<{ status: number; location: string | null }> {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { 'sec-fetch-mode': 'navigate', ...(cookie ? { cookie } : {}) } }, (res) => {
      for (const c of res.headers['set-cookie'] ?? []) {
        const pair = c.split(';')[0]!;
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: typeof res.headers.location === 'string' ? res.headers.location : null }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Seconds from a visitor's first request to `hubUrl` until its server answers; and whether it had to wait for a start. */
export async function visitorJourney(hubUrl: string, timeoutMs = 180_000): Promise<{ seconds: number; waited: boolean }> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  const jar = new Map<string, string>();
  let url = `${hubUrl}hub/tmplogin`;
  let name: string | undefined;
  let waited = false;
  for (let hops = 0; hops < 10 && !name; hops++) {
    const { location } = await step(jar, url);
    name = /\/(?:user|spawn-pending)\/(tmp-[a-z0-9]{16})/.exec(location ?? url)?.[1];
    if (/\/spawn-pending\//.test(location ?? '')) waited = true;
    if (!location) break;
    url = new URL(location, url).href;
  }
  if (!name) throw new Error(`no server for the visitor (last URL ${url})`);
  for (;;) {
    const res = await fetch(`${hubUrl}user/${name}/api`, { redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status === 200) return { seconds: (performance.now() - t0) / 1000, waited };
    waited = true;
    if (Date.now() > deadline) throw new Error(`${name}'s server did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `n` visitors at once: the slowest one's time (the workshop waits for its last participant), and how many waited for a start. */
export async function visitorsAtOnce(hubUrl: string, n: number): Promise<{ slowest: number; median: number; waited: number }> {
  const results = await Promise.all(Array.from({ length: n }, () => visitorJourney(hubUrl)));
  const times = results.map((r) => r.seconds).sort((a, b) => a - b);
  return { slowest: times.at(-1)!, median: times[Math.floor(times.length / 2)]!, waited: results.filter((r) => r.waited).length };
}
