/** Waiting until a freshly started server answers HTTP. */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 200;
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
    delay = Math.min(MAX_DELAY_MS, delay * 2);
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
