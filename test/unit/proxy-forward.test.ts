import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Forwarder, openerPolicyForUserPage, type ForwardedInfo } from '../../src/proxy/forward.js';

const PREFIX = '/user/alice/';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** An upstream "single-user server" (HTTP + WebSocket echo), the proxy in front of it, and what each saw. */
interface Fixture {
  /** The proxy's base URL, e.g. http://127.0.0.1:4711 */
  front: string;
  frontPort: number;
  forwarder: Forwarder;
  /** Where the proxy forwards to; tests may point it elsewhere. */
  target: string;
  upstreamPort: number;
  errors: Array<{ err: Error; hadResponse: boolean }>;
  activity: string[];
  /** Requests the upstream received, in order. */
  seen: Seen[];
  /** Resolves the next time the upstream receives a request for this path. */
  nextRequest(path: string): Promise<http.IncomingMessage>;
  /** Lets /stream send its second chunk. */
  releaseStream(): void;
  wss: WebSocketServer;
}

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function setup(t: TestContext, frontOptions: http.ServerOptions = {}): Promise<Fixture> {
  const seen: Seen[] = [];
  const waiters = new Map<string, (req: http.IncomingMessage) => void>();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const requestsOnSocket = new WeakMap<Socket, number>();

  const upstream = http.createServer(async (req, res) => {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    seen.push({ method: req.method ?? '', url, headers: req.headers });
    const n = (requestsOnSocket.get(req.socket) ?? 0) + 1;
    requestsOnSocket.set(req.socket, n);
    waiters.get(path)?.(req);
    waiters.delete(path);
    switch (path) {
      case `${PREFIX}echo`:
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url, headers: req.headers }));
        return;
      case `${PREFIX}cookies`:
        res.writeHead(200, [
          'Set-Cookie', 'a=1; Path=/',
          'Set-Cookie', 'b=2; Path=/; HttpOnly',
          'X-Mixed-Case', 'Yes',
          'Connection', 'X-Hop',
          'X-Hop', 'only for the next hop',
          'Content-Length', '2',
        ]);
        res.end('ok');
        return;
      case `${PREFIX}claims`:
        res.writeHead(200, [
          'Service-Worker-Allowed', '/',
          'Cross-Origin-Opener-Policy', 'same-origin; report-to="r"',
          'Content-Length', '2',
        ]);
        res.end('ok');
        return;
      case `${PREFIX}upload`: {
        let bytes = 0;
        for await (const chunk of req) bytes += (chunk as Buffer).length;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ bytes, te: req.headers['transfer-encoding'] ?? null, length: req.headers['content-length'] ?? null }));
        return;
      }
      case `${PREFIX}stream`:
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: first\n\n');
        await released;
        res.end('data: second\n\n');
        return;
      case `${PREFIX}hang`:
        return; // never answers
      case `${PREFIX}cut`:
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('partial', () => req.socket.destroy());
        return;
      case `${PREFIX}second-on-socket-resets`:
        // Simulates an upstream closing an idle kept-alive connection just as the proxy reuses it.
        if (n > 1) req.socket.destroy();
        else res.end(`fresh ${req.method}`);
        return;
      default:
        res.writeHead(404).end('no such page');
    }
  });

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  upstream.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if ((req.url ?? '').includes('forbidden')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nnot yours!\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const upstreamPort = await listen(upstream);

  const errors: Fixture['errors'] = [];
  const activity: string[] = [];
  const forwarder = new Forwarder({
    onError: (err, _req, res) => {
      errors.push({ err, hadResponse: res !== null });
      if (res && !res.headersSent) {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 503, message: 'The server is not answering' }));
      }
    },
    onActivity: (prefix) => activity.push(prefix),
  });
  const forwardedInfo = (req: http.IncomingMessage): ForwardedInfo => ({
    proto: 'https',
    host: req.headers.host ?? '',
    clientIp: req.socket.remoteAddress ?? '',
  });
  const fixture: Fixture = {
    front: '',
    frontPort: 0,
    forwarder,
    target: `http://127.0.0.1:${upstreamPort}`,
    upstreamPort,
    errors,
    activity,
    seen,
    nextRequest: (path) => new Promise((resolve) => waiters.set(path, resolve)),
    releaseStream: () => release(),
    wss,
  };
  const front = http.createServer(frontOptions, (req, res) => forwarder.web(req, res, fixture.target, PREFIX, forwardedInfo(req)));
  front.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
    forwarder.ws(req, socket, head, fixture.target, PREFIX, forwardedInfo(req)),
  );
  fixture.frontPort = await listen(front);
  fixture.front = `http://127.0.0.1:${fixture.frontPort}`;

  t.after(async () => {
    release();
    forwarder.close();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await closeServer(front);
    await closeServer(upstream);
  });
  return fixture;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** One request on a fresh connection (no agent: nothing stays open after the test). */
async function fetchRaw(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: (req: http.ClientRequest) => void } = {},
): Promise<Answer> {
  const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false });
  if (options.body) options.body(req);
  else req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) };
}

function json(answer: Answer): Record<string, unknown> {
  return JSON.parse(answer.body.toString()) as Record<string, unknown>;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = http.createServer();
  const port = await listen(server);
  await closeServer(server);
  return port;
}

function openWebSocket(t: TestContext, url: string, protocols?: string[]): WebSocket {
  const ws = new WebSocket(url, protocols);
  t.after(() => {
    // A refused handshake leaves the socket CONNECTING, where terminate() reports an error.
    ws.on('error', () => undefined);
    ws.terminate();
  });
  return ws;
}

async function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}

/** Writes `request` on a new connection to the front server and resolves once the server closes it. */
async function closedByServer(port: number, request: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  socket.write(request);
  await once(socket, 'close');
}

/** Resolves with the status of a refused WebSocket handshake. */
async function refusedStatus(ws: WebSocket): Promise<{ status: number; body: string }> {
  const [, res] = (await once(ws, 'unexpected-response')) as [http.ClientRequest, http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() };
}

test('path and query are kept, Host is kept and X-Forwarded-* are set', async (t) => {
  const f = await setup(t);
  const answer = await fetchRaw(`${f.front}${PREFIX}echo?a=1&path=%2Fx%2Fy&b=/c`, {
    headers: { Host: 'hub.example.org:8443', 'X-Forwarded-For': '10.0.0.1' },
  });
  assert.equal(answer.status, 200);
  const echo = json(answer) as { url: string; headers: http.IncomingHttpHeaders };
  assert.equal(echo.url, `${PREFIX}echo?a=1&path=%2Fx%2Fy&b=/c`);
  assert.equal(echo.headers.host, 'hub.example.org:8443');
  assert.equal(echo.headers['x-forwarded-host'], 'hub.example.org:8443');
  assert.equal(echo.headers['x-forwarded-port'], '8443');
  assert.equal(echo.headers['x-forwarded-proto'], 'https');
  assert.equal(echo.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.ok(f.activity.includes(PREFIX));
});

test('X-Forwarded-Port defaults to the scheme port and X-Forwarded-For starts fresh', async (t) => {
  const f = await setup(t);
  const echo = json(await fetchRaw(`${f.front}${PREFIX}echo`, { headers: { Host: 'hub.example.org' } })) as {
    headers: http.IncomingHttpHeaders;
  };
  assert.equal(echo.headers['x-forwarded-port'], '443');
  assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
});

test('hop-by-hop request headers are not forwarded, end-to-end ones are', async (t) => {
  const f = await setup(t);
  const echo = json(
    await fetchRaw(`${f.front}${PREFIX}echo`, {
      headers: {
        Connection: 'keep-alive, X-Private-Hop',
        'X-Private-Hop': 'secret',
        'Keep-Alive': 'timeout=5',
        'Proxy-Authorization': 'Basic eDp5',
        TE: 'trailers',
        Upgrade: 'h2c',
        Authorization: 'token abc',
        Cookie: 'jupyterhub-session-id=xyz',
      },
    }),
  ) as { headers: http.IncomingHttpHeaders };
  for (const name of ['x-private-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade']) {
    assert.equal(echo.headers[name], undefined, name);
  }
  assert.equal(echo.headers.authorization, 'token abc');
  assert.equal(echo.headers.cookie, 'jupyterhub-session-id=xyz');
});

test('response headers keep their case and repeats; hop-by-hop ones are dropped', async (t) => {
  const f = await setup(t);
  const answer = await fetchRaw(`${f.front}${PREFIX}cookies`);
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), 'ok');
  assert.deepEqual(answer.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  assert.ok(answer.rawHeaders.includes('X-Mixed-Case'));
  assert.equal(answer.headers['x-hop'], undefined);
  assert.notEqual(answer.headers.connection, 'X-Hop');
});

test("a user server cannot claim the whole origin: no Service-Worker-Allowed, no opener policy equal to the hub's", async (t) => {
  const f = await setup(t);
  const answer = await fetchRaw(`${f.front}${PREFIX}claims`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['service-worker-allowed'], undefined);
  assert.equal(answer.headers['cross-origin-opener-policy'], 'same-origin-allow-popups; report-to="r"');
  assert.equal(openerPolicyForUserPage('same-origin-allow-popups'), 'same-origin-allow-popups');
  assert.equal(openerPolicyForUserPage(' Same-Origin '), 'same-origin-allow-popups');
  assert.equal(openerPolicyForUserPage('unsafe-none'), 'unsafe-none');
});

test('a large POST body is streamed through, with a length or chunked', async (t) => {
  const f = await setup(t);
  const size = 5 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const writeAll = (req: http.ClientRequest): void => {
    let left = size;
    const more = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', more);
          return;
        }
      }
      req.end();
    };
    more();
  };

  const withLength = json(
    await fetchRaw(`${f.front}${PREFIX}upload`, { method: 'POST', headers: { 'Content-Length': size }, body: writeAll }),
  );
  assert.deepEqual(withLength, { bytes: size, te: null, length: String(size) });

  const chunked = json(await fetchRaw(`${f.front}${PREFIX}upload`, { method: 'PUT', body: writeAll }));
  assert.deepEqual(chunked, { bytes: size, te: 'chunked', length: null });
});

test('a streaming response arrives chunk by chunk, before it ends', { timeout: 10_000 }, async (t) => {
  const f = await setup(t);
  const req = http.get(`${f.front}${PREFIX}stream`, { agent: false });
  t.after(() => req.destroy());
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  assert.equal(res.headers['content-type'], 'text/event-stream');
  // The upstream holds its second chunk until we have seen the first: a buffering proxy would hang here.
  const [first] = (await once(res, 'data')) as [Buffer];
  assert.equal(first.toString(), 'data: first\n\n');
  f.releaseStream();
  const rest: Buffer[] = [];
  for await (const chunk of res) rest.push(chunk as Buffer);
  assert.equal(Buffer.concat(rest).toString(), 'data: second\n\n');
});

test('a client that goes away aborts the upstream request', { timeout: 10_000 }, async (t) => {
  const f = await setup(t);
  const arrived = f.nextRequest(`${PREFIX}hang`);
  const req = http.get(`${f.front}${PREFIX}hang`, { agent: false });
  req.on('error', () => undefined);
  const upstreamReq = await arrived;
  const upstreamClosed = once(upstreamReq.socket, 'close');
  req.destroy();
  await upstreamClosed;
  assert.deepEqual(f.errors, []);
});

test('an upstream that dies mid-response cuts the client response short', { timeout: 10_000 }, async (t) => {
  const f = await setup(t);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(`${f.front}${PREFIX}cut`, { agent: false }, (res) => {
      // Listeners attached at once: the cut can arrive in the same tick as the head.
      res.on('error', () => undefined);
      res.resume();
      res.on('close', () => resolve(res));
    });
    req.on('error', reject);
    t.after(() => req.destroy());
  });
  assert.equal(res.complete, false);
  assert.deepEqual(f.errors, []);
});

test('an unreachable upstream calls onError, whose answer the client gets', async (t) => {
  const f = await setup(t);
  f.target = `http://127.0.0.1:${await deadPort()}`;
  const answer = await fetchRaw(`${f.front}${PREFIX}echo`);
  assert.equal(answer.status, 503);
  assert.equal(json(answer).message, 'The server is not answering');
  assert.equal(f.errors.length, 1);
  assert.equal((f.errors[0]!.err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.equal(f.errors[0]!.hadResponse, true);
});

test('a GET on a kept-alive socket the upstream just closed is retried once; a POST is not', async (t) => {
  const f = await setup(t);
  const path = `${f.front}${PREFIX}second-on-socket-resets`;
  // Each first request leaves its upstream socket in the agent; the next request reuses it and is reset.
  assert.equal((await fetchRaw(path)).body.toString(), 'fresh GET');
  const retried = await fetchRaw(path);
  assert.equal(retried.status, 200);
  assert.equal(retried.body.toString(), 'fresh GET');
  assert.deepEqual(f.errors, []);
  // first request, the reset one, its retry
  assert.equal(f.seen.filter((r) => r.method === 'GET').length, 3);

  const post = await fetchRaw(path, { method: 'POST', headers: { 'Content-Length': 1 }, body: (req) => req.end('x') });
  assert.equal(post.status, 503);
  assert.equal(f.errors.length, 1);
});

test('WebSocket: text and binary frames echo through, subprotocol and headers intact', async (t) => {
  const f = await setup(t);
  const ws = openWebSocket(t, `ws://127.0.0.1:${f.frontPort}${PREFIX}api/kernels/k1/channels?session_id=s1`, [
    'v1.kernel.websocket.jupyter.org',
  ]);
  await once(ws, 'open');
  assert.equal(ws.protocol, 'v1.kernel.websocket.jupyter.org');
  const upgrade = f.seen.at(-1)!;
  assert.equal(upgrade.url, `${PREFIX}api/kernels/k1/channels?session_id=s1`);
  assert.equal(upgrade.headers['x-forwarded-proto'], 'https');
  assert.equal(upgrade.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(upgrade.headers.host, `127.0.0.1:${f.frontPort}`);
  assert.ok(upgrade.headers['sec-websocket-key']);

  ws.send('hello kernel');
  const text = await nextMessage(ws);
  assert.equal(text.isBinary, false);
  assert.equal(text.data.toString(), 'hello kernel');

  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  ws.send(bytes);
  const binary = await nextMessage(ws);
  assert.equal(binary.isBinary, true);
  assert.ok(binary.data.equals(bytes));

  const before = f.activity.length;
  ws.send('more');
  await nextMessage(ws);
  assert.ok(f.activity.length > before, 'frames count as activity');
});

test('WebSocket: closing the client closes the upstream, and the other way round', async (t) => {
  const f = await setup(t);
  const url = `ws://127.0.0.1:${f.frontPort}${PREFIX}api/events/subscribe`;

  const politely = openWebSocket(t, url);
  const [upstreamWs] = (await once(f.wss, 'connection')) as [WebSocket];
  await once(politely, 'open');
  const upstreamClosed = once(upstreamWs, 'close');
  politely.close(1000, 'bye');
  const [code] = (await upstreamClosed) as [number];
  assert.equal(code, 1000);

  const abruptly = openWebSocket(t, url);
  const [upstreamWs2] = (await once(f.wss, 'connection')) as [WebSocket];
  await once(abruptly, 'open');
  const upstreamClosed2 = once(upstreamWs2, 'close');
  abruptly.terminate();
  await upstreamClosed2;

  const third = openWebSocket(t, url);
  const [upstreamWs3] = (await once(f.wss, 'connection')) as [WebSocket];
  await once(third, 'open');
  const clientClosed = once(third, 'close');
  upstreamWs3.terminate();
  await clientClosed;
});

test('WebSocket: an upstream refusing the upgrade has its answer relayed', async (t) => {
  const f = await setup(t);
  const ws = openWebSocket(t, `ws://127.0.0.1:${f.frontPort}${PREFIX}forbidden`);
  const refused = await refusedStatus(ws);
  assert.equal(refused.status, 403);
  assert.equal(refused.body, 'not yours!\n');
  assert.deepEqual(f.errors, []);
});

test('WebSocket: an unreachable upstream calls onError and the client gets a 503', async (t) => {
  const f = await setup(t);
  f.target = `http://127.0.0.1:${await deadPort()}`;
  const ws = openWebSocket(t, `ws://127.0.0.1:${f.frontPort}${PREFIX}api/kernels/k1/channels`);
  const refused = await refusedStatus(ws);
  assert.equal(refused.status, 503);
  assert.equal(f.errors.length, 1);
  assert.equal(f.errors[0]!.hadResponse, false);
});

test('WebSocket: a tunnel outlives the front server request and keep-alive timeouts', { timeout: 10_000 }, async (t) => {
  const f = await setup(t, { requestTimeout: 300, headersTimeout: 200, keepAliveTimeout: 100, connectionsCheckingInterval: 50 });
  const ws = openWebSocket(t, `ws://127.0.0.1:${f.frontPort}${PREFIX}api/kernels/k1/channels`);
  await once(ws, 'open');
  // Rather than sleeping past the timeouts: two connections opened after the tunnel, which the front
  // server does end, one by requestTimeout (its body never comes), one by keepAliveTimeout (idle after
  // its answer). Both began after the tunnel's upgrade, so once the server has closed both, the same
  // timeouts have had their chance at the tunnel.
  await Promise.all([
    closedByServer(f.frontPort, `POST ${PREFIX}hang HTTP/1.1\r\nHost: front\r\nContent-Length: 10\r\n\r\nxx`),
    closedByServer(f.frontPort, `GET ${PREFIX}echo HTTP/1.1\r\nHost: front\r\n\r\n`),
  ]);
  assert.equal(ws.readyState, WebSocket.OPEN, 'the tunnel is still open');
  ws.send('still there?');
  assert.equal((await nextMessage(ws)).data.toString(), 'still there?');
});

test('close() ends open tunnels', async (t) => {
  const f = await setup(t);
  const ws = openWebSocket(t, `ws://127.0.0.1:${f.frontPort}${PREFIX}api/kernels/k1/channels`);
  const [upstreamWs] = (await once(f.wss, 'connection')) as [WebSocket];
  await once(ws, 'open');
  const closed = Promise.all([once(ws, 'close'), once(upstreamWs, 'close')]);
  f.forwarder.close();
  await closed;
});
