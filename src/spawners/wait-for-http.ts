/** Waiting until a freshly started server answers HTTP: used by spawners, and by the hub for spawners that do not wait themselves. */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

// Short: a server that starts in a millisecond should not wait 10 more, and in a spawn storm every
// server waits for this poll. A refused connect on loopback costs microseconds.
const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 50;
const REQUEST_TIMEOUT_MS = 2000;

/**
 * Resolve once `<origin><prefix>api` (what jupyterhub-singleuser answers with its version) or
 * `<origin><prefix>` gets any HTTP response below 500; retry with a short backoff until `signal` aborts,
 * then reject with its reason.
 */
export async function waitForHttp(origin: string, prefix: string, signal: AbortSignal): Promise<void> {
  let delay = FIRST_DELAY_MS;
  for (;;) {
    signal.throwIfAborted();
    if (await answers(origin, prefix, signal)) return;
    await sleep(delay, undefined, { signal });
    delay = Math.min(MAX_DELAY_MS, delay * 1.5);
  }
}

async function answers(origin: string, prefix: string, signal: AbortSignal): Promise<boolean> {
  try {
    return (await statusOf(`${origin}${prefix}api`, signal)) < 500 || (await statusOf(`${origin}${prefix}`, signal)) < 500;
  } catch {
    return false; // not listening yet, or the request was aborted (the caller checks the signal)
  }
}

function statusOf(url: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, signal, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url}`)));
    request.on('error', reject);
  });
}
