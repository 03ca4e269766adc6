/**
 * Forwards HTTP requests and WebSocket upgrades from the hub's public server to a route's target,
 * streaming both ways: no body is ever buffered.
 *
 * Written by hand on node:http instead of using http-proxy (configurable-http-proxy's engine):
 * that package is unmaintained, and this is the per-request hot path, so it is kept to one
 * header copy, one keep-alive agent and stream pipes. Behaviour follows configurable-http-proxy
 * with its defaults: the full path is kept (Jupyter servers serve under their prefix), the
 * client's Host header is kept (changeOrigin false) and X-Forwarded-* headers are set (xfwd).
 */
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ForwardedInfo {
  /** The scheme the client used, as resolved by the caller (trusted X-Forwarded-Proto, or the socket). */
  proto: 'http' | 'https';
  /** The host the client asked for, as resolved by the caller. */
  host: string;
  clientIp: string;
}

export interface ForwardOptions {
  /** called when the upstream cannot be reached or fails before the response started; the caller renders the error page. */
  onError(err: Error, req: IncomingMessage, res: ServerResponse | null): void;
  /** called (cheaply) for every forwarded request/upgrade, to record activity. */
  onActivity?(prefix: string): void;
  /** How long connecting to a target may take, in ms. Responses themselves have no timeout (event streams, kernels). */
  connectTimeout?: number;
}

const DEFAULT_CONNECT_TIMEOUT = 20_000;
/** Idle keep-alive sockets are closed before common upstream idle timeouts (uvicorn: 5 s) can race a new request. */
const FREE_SOCKET_TIMEOUT = 4_000;

/** RFC 7230 §6.1, plus the non-standard Proxy-Connection and the rest of proxy-*. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function isHopByHop(name: string): boolean {
  const c = name.charCodeAt(0) | 0x20;
  // Every hop-by-hop name starts with c, k, p, t or u: most names are rejected without lower-casing.
  if (c !== 0x63 && c !== 0x6b && c !== 0x70 && c !== 0x74 && c !== 0x75) return false;
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/** Extra header names a Connection header declares hop-by-hop, lower-cased; undefined for the usual values. */
function connectionOptions(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === 'string' ? value : value.join(',');
  const lower = joined.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return undefined;
  const names = lower.split(',').map((s) => s.trim()).filter((s) => s !== '' && !HOP_BY_HOP.has(s));
  return names.length > 0 ? names : undefined;
}

function forwardedPort(forwarded: ForwardedInfo): string {
  const host = forwarded.host;
  const colon = host.lastIndexOf(':');
  // After the last ']' so that an IPv6 literal's colons are not read as a port.
  if (colon > host.lastIndexOf(']') && colon < host.length - 1) return host.slice(colon + 1);
  return forwarded.proto === 'https' ? '443' : '80';
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function requestHeaders(req: IncomingMessage, forwarded: ForwardedInfo, upgrade: boolean): OutgoingHttpHeaders {
  const incoming = req.headers;
  const declared = connectionOptions(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (isHopByHop(name) || (declared !== undefined && declared.includes(name))) continue;
    out[name] = incoming[name];
  }
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = incoming.upgrade;
  } else if (incoming['transfer-encoding'] !== undefined) {
    // Node decoded the client's chunks; have it chunk the body again for the upstream.
    out['transfer-encoding'] = 'chunked';
  }
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = xff === undefined || xff === '' ? forwarded.clientIp : `${String(xff)}, ${forwarded.clientIp}`;
  out['x-forwarded-proto'] = forwarded.proto;
  out['x-forwarded-host'] = forwarded.host;
  out['x-forwarded-port'] = forwardedPort(forwarded);
  return out;
}

const SERVICE_WORKER_ALLOWED = 'service-worker-allowed';
const OPENER_POLICY = 'cross-origin-opener-policy';

/**
 * Upstream response headers as a raw [name, value, …] list, hop-by-hop ones removed, case and repeats
 * kept, and two headers through which a page of one user's server could reach the hub's pages and
 * other users' servers on the same origin taken away:
 *  - `Service-Worker-Allowed`, which would let a server register a service worker for the whole
 *    origin (it then sees every page anyone opens there); without it a worker stays inside its own prefix;
 *  - `Cross-Origin-Opener-Policy: same-origin`, which a page needs to keep scripting a hub page it
 *    opened (the hub's pages send the same policy, and only pages with equal policies stay
 *    connected); it becomes `same-origin-allow-popups`, which keeps the page's own protection from other sites.
 */
function responseHeaders(raw: string[]): string[] {
  let declared: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') declared = connectionOptions(raw[i + 1]);
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (isHopByHop(name) || (declared !== undefined && declared.includes(name.toLowerCase()))) continue;
    if (name.length === SERVICE_WORKER_ALLOWED.length && name.toLowerCase() === SERVICE_WORKER_ALLOWED) continue;
    if (name.length === OPENER_POLICY.length && name.toLowerCase() === OPENER_POLICY) {
      out.push(name, openerPolicyForUserPage(raw[i + 1]!));
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** `same-origin` (with any parameters) → `same-origin-allow-popups`; other policies unchanged. */
export function openerPolicyForUserPage(value: string): string {
  const semicolon = value.indexOf(';');
  const policy = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return policy === 'same-origin' ? `same-origin-allow-popups${semicolon < 0 ? '' : value.slice(semicolon)}` : value;
}

/** A response head to write on a raw socket; header strings are latin1, as node parsed them. */
function rawHead(statusCode: number, statusMessage: string, headers: string[]): string {
  let head = `HTTP/1.1 ${statusCode} ${statusMessage}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** Ends a socket we answered on, and frees it once the answer is flushed (as node's server does). */
function endSocket(socket: Duplex, data?: string): void {
  socket.once('finish', () => socket.destroy());
  if (data === undefined) socket.end();
  else socket.end(data, 'latin1');
}

function tuneSocket(socket: Duplex): void {
  const s = socket as Partial<import('node:net').Socket>;
  s.setTimeout?.(0);
  s.setNoDelay?.(true);
  s.setKeepAlive?.(true, 0);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function ignore(): void {}

interface Upstream {
  secure: boolean;
  hostname: string;
  port: number;
  /** The target's own path without its trailing slash, usually ''. */
  path: string;
}

export class Forwarder {
  private readonly onError: ForwardOptions['onError'];
  private readonly onActivity: ForwardOptions['onActivity'];
  private readonly connectTimeout: number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', timeout: FREE_SOCKET_TIMEOUT });
  private secureAgent: https.Agent | undefined;
  /** Parsed targets: there are as many as running servers, and parsing a URL per request is waste. */
  private readonly upstreams = new Map<string, Upstream>();
  /** Client sides of open WebSocket tunnels, which no agent tracks: close() ends them. */
  private readonly tunnels = new Set<Duplex>();

  constructor(options: ForwardOptions) {
    this.onError = options.onError;
    this.onActivity = options.onActivity;
    this.connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  }

  web(req: IncomingMessage, res: ServerResponse, target: string, prefix: string, forwarded: ForwardedInfo): void {
    this.onActivity?.(prefix);
    let upstream: Upstream;
    try {
      upstream = this.upstream(target);
    } catch (err) {
      this.onError(asError(err), req, res);
      return;
    }
    res.on('error', ignore);
    const method = req.method ?? 'GET';
    // A request without a body can be sent again if a kept-alive socket turns out to be closed.
    const retryable = (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') && !hasBody(req);
    this.send(req, res, upstream, requestHeaders(req, forwarded, false), prefix, retryable);
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, prefix: string, forwarded: ForwardedInfo): void {
    // The http server removed its own listeners when it handed the socket over.
    socket.on('error', ignore);
    if (req.method !== 'GET') {
      endSocket(socket, 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.onActivity?.(prefix);
    let upReq: ClientRequest;
    try {
      upReq = this.request(this.upstream(target), 'GET', req.url ?? '/', requestHeaders(req, forwarded, true));
    } catch (err) {
      this.upgradeFailed(asError(err), req, socket);
      return;
    }
    const abort = (): void => {
      upReq.destroy();
    };
    socket.once('close', abort);
    let answered = false;
    upReq.on('error', (err) => {
      if (answered || socket.destroyed) socket.destroy();
      else this.upgradeFailed(err, req, socket);
    });
    upReq.on('response', (upRes) => {
      // The upstream refused the upgrade (403, 404…): relay its answer and close.
      answered = true;
      upRes.on('error', ignore);
      upRes.on('close', () => {
        if (!upRes.complete) socket.destroy();
      });
      const headers = responseHeaders(upRes.rawHeaders);
      headers.push('Connection', 'close');
      socket.write(rawHead(upRes.statusCode ?? 502, upRes.statusMessage ?? '', headers), 'latin1');
      socket.once('finish', () => socket.destroy());
      upRes.pipe(socket);
    });
    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      answered = true;
      socket.off('close', abort);
      this.tunnel(socket, head, upRes, upSocket, upHead, prefix);
    });
    upReq.end();
  }

  /** Destroys the agents' sockets and every open WebSocket tunnel. */
  close(): void {
    this.agent.destroy();
    this.secureAgent?.destroy();
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: Upstream,
    headers: OutgoingHttpHeaders,
    prefix: string,
    retryable: boolean,
  ): void {
    let upReq: ClientRequest;
    try {
      upReq = this.request(upstream, req.method ?? 'GET', req.url ?? '/', headers);
    } catch (err) {
      this.onError(asError(err), req, res);
      return;
    }
    /** Set once the outcome is decided elsewhere (client gone, error rendered): later upstream errors are moot. */
    let abandoned = false;
    let responded = false;
    const onClose = (): void => {
      if (res.writableFinished) {
        this.onActivity?.(prefix);
        return;
      }
      // The client went away: abort the upstream request (its socket is not reused).
      abandoned = true;
      upReq.destroy();
    };
    res.once('close', onClose);

    const fail = (err: Error): void => {
      res.off('close', onClose);
      // Drain what is left of the client's upload, so its connection can carry the error page and more.
      req.unpipe(upReq);
      req.resume();
      this.onError(err, req, res);
    };

    upReq.on('error', (err) => {
      if (abandoned) return;
      if (responded) {
        res.destroy();
        if (!req.complete) req.destroy();
        return;
      }
      if (retryable && upReq.reusedSocket && isReset(err)) {
        res.off('close', onClose);
        this.send(req, res, upstream, headers, prefix, false);
        return;
      }
      fail(err);
    });

    upReq.on('response', (upRes) => {
      upRes.on('error', ignore);
      try {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes.rawHeaders));
      } catch (err) {
        // Node's server refused a header that its client accepted from the upstream.
        abandoned = true;
        upReq.destroy();
        fail(asError(err));
        return;
      }
      responded = true;
      // A response cut short must not look complete to the client: destroy rather than end.
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
      upRes.pipe(res);
    });

    if (hasBody(req)) req.pipe(upReq);
    else upReq.end();
  }

  private tunnel(client: Duplex, head: Buffer, upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer, prefix: string): void {
    upSocket.on('error', ignore);
    if (client.destroyed) {
      upSocket.destroy();
      return;
    }
    tuneSocket(client);
    tuneSocket(upSocket);
    this.tunnels.add(client);
    client.once('close', () => {
      this.tunnels.delete(client);
      upSocket.destroy();
    });
    upSocket.once('close', () => client.destroy());

    client.write(rawHead(101, upRes.statusMessage || 'Switching Protocols', upRes.rawHeaders), 'latin1');
    if (upHead.length > 0) client.write(upHead);
    if (head.length > 0) upSocket.write(head);
    const onActivity = this.onActivity;
    if (onActivity !== undefined) {
      // Kernels talk over WebSockets for hours without an HTTP request: their frames are the activity.
      const record = (): void => onActivity(prefix);
      client.on('data', record);
      upSocket.on('data', record);
    }
    upSocket.pipe(client).pipe(upSocket);
  }

  /** The upstream could not be reached for an upgrade: there is no ServerResponse, so answer on the socket. */
  private upgradeFailed(err: Error, req: IncomingMessage, socket: Duplex): void {
    this.onError(err, req, null);
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = 'The server is not answering\n';
    endSocket(
      socket,
      `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private request(upstream: Upstream, method: string, path: string, headers: OutgoingHttpHeaders): ClientRequest {
    const options: http.RequestOptions = {
      host: upstream.hostname,
      port: upstream.port,
      method,
      path: upstream.path + path,
      headers,
    };
    let upReq: ClientRequest;
    if (upstream.secure) {
      this.secureAgent ??= new https.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', timeout: FREE_SOCKET_TIMEOUT });
      // Without this, node would send and check the name in the client's Host header, which we keep.
      const servername = isIP(upstream.hostname) === 0 ? upstream.hostname : '';
      upReq = https.request({ ...options, agent: this.secureAgent, servername });
    } else {
      upReq = http.request({ ...options, agent: this.agent });
    }
    upReq.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive socket
      const timer = setTimeout(() => {
        upReq.destroy(Object.assign(new Error(`connecting to ${upstream.hostname}:${upstream.port} timed out`), { code: 'ETIMEDOUT' }));
      }, this.connectTimeout);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    return upReq;
  }

  private upstream(target: string): Upstream {
    let upstream = this.upstreams.get(target);
    if (upstream !== undefined) return upstream;
    const url = new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Proxy target is not an http(s) URL: ${target}`);
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    upstream = { secure, hostname, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port), path };
    // Targets change as servers restart on new ports; a full cache is simply dropped.
    if (this.upstreams.size >= 4096) this.upstreams.clear();
    this.upstreams.set(target, upstream);
    return upstream;
  }
}

function isReset(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
