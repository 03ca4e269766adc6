/**
 * Waiting until a freshly started server answers HTTP: used by spawners, and by the hub for spawners
 * that do not wait themselves.
 *
 * The probe over plain HTTP is a raw TCP exchange (one GET with `Connection: close`, read up to the
 * status line, then let the server close) rather than `http.get`: it is on every spawn's path, in the
 * hub's one thread, and the wait done with Node's HTTP client (agent, parser, request and response
 * objects, abort wiring) was about a quarter of the hub's CPU per spawn in a spawn storm (bench/README.md).
 * Only the status code is read; the probe never follows redirects or reads a body. Servers are reached over
 * plain HTTP (as the proxy reaches them), so only `http:` origins are probed.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// Short: a server that starts in a millisecond should not wait 10 more, and in a spawn storm every
// server waits for this poll. A refused connect on loopback costs microseconds.
const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 50;
const REQUEST_TIMEOUT_MS = 2000;
/** An answer's status line must fit in this many bytes; anything longer is no HTTP server. */
const MAX_STATUS_LINE = 1024;

export interface Origin {
  /** For connect(): an IPv6 address without brackets. */
  host: string;
  port: number;
  /** The Host header: host[:port] as in the URL. */
  hostHeader: string;
}

export function parseOrigin(origin: string): Origin {
  const url = new URL(origin);
  if (url.protocol !== 'http:') throw new Error(`cannot probe ${origin}: not an http:// URL`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port ? Number(url.port) : 80, hostHeader: url.host };
}

/**
 * Resolve once `<origin><prefix>api` (what jupyterhub-singleuser answers with its version) or
 * `<origin><prefix>` gets any HTTP response below 500; retry with a short backoff until `signal` aborts,
 * then reject with its reason.
 */
export async function waitForHttp(origin: string, prefix: string, signal: AbortSignal): Promise<void> {
  const target = parseOrigin(origin);
  let delay = FIRST_DELAY_MS;
  for (;;) {
    signal.throwIfAborted();
    if (await answers(target, prefix, signal)) return;
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      throw signal.reason; // the caller's reason, not timers' AbortError
    }
    delay = Math.min(MAX_DELAY_MS, delay * 1.5);
  }
}

async function answers(target: Origin, prefix: string, signal: AbortSignal): Promise<boolean> {
  try {
    return (await statusOf(target, `${prefix}api`, signal)) < 500 || (await statusOf(target, prefix, signal)) < 500;
  } catch {
    return false; // not listening yet, no HTTP answer, or the probe was aborted (the caller checks the signal)
  }
}

/** The status code of `GET <path>` at `target`; rejects when nothing answers HTTP there. Exported for tests. */
export function statusOf(target: Origin, path: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    // The request line is written as is: a path with spaces, controls or non-ASCII could inject headers.
    if (!/^\/[\x21-\x7e]*$/.test(path)) return reject(new Error(`cannot probe ${JSON.stringify(path)}: not an escaped URL path`));
    const socket = net.connect({ host: target.host, port: target.port });
    let head = '';
    let settled = false;
    const finish = (error: Error | null, status = 0): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // After an answer the server closes (Connection: close) and the socket is closed once it has:
      // closing first, with the rest of the answer unread, resets the connection, and on loopback
      // the whole teardown runs inside the hub's close() (a third of the probe's cost in profiles).
      if (error || socket.readableEnded) socket.destroy();
      else socket.resume();
      if (error) reject(error);
      else resolve(status);
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
      finish(new Error(`no answer from ${target.hostHeader}${path}`));
      socket.destroy();
    });
    socket.once('error', (error) => finish(error));
    socket.once('end', () => socket.destroy());
    socket.once('close', () => finish(new Error(`${target.hostHeader}${path} closed the connection without an HTTP answer`)));
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (settled) return; // the rest of the answer, read until the server closes
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end < 0) {
        if (head.length > MAX_STATUS_LINE) finish(new Error(`${target.hostHeader}${path} did not answer HTTP`));
        return;
      }
      // "HTTP/1.1 200 OK": the version, one space, three digits.
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(head.slice(0, end));
      if (m) finish(null, Number(m[1]));
      else finish(new Error(`${target.hostHeader}${path} did not answer HTTP`));
    });
  });
}
