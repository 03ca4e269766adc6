/**
 * The readiness probe of a new server: a raw HTTP GET that reads only the status line. Real servers
 * on loopback ports (Node's http and plain TCP servers that answer garbage or nothing).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { parseOrigin, statusOf, waitForHttp } from '../../src/spawners/wait-for-http.js';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

/** Closes `server` and every connection it accepted (a test must not wait for peers to hang up). */
function closeWhenDone(server: net.Server): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

async function listen(server: net.Server, port = 0): Promise<number> {
  closeWhenDone(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** An HTTP server answering `status(path)`, recording what it was asked. */
async function httpServer(status: (path: string) => number): Promise<{ port: number; seen: Array<{ path: string; host: string | undefined }> }> {
  const seen: Array<{ path: string; host: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host });
    res.writeHead(status(req.url ?? ''), { 'Content-Type': 'text/plain' });
    res.end('x'.repeat(100_000)); // more than one read: the probe must not need the body
  });
  return { port: await listen(server), seen };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the status probe', () => {
  test('reads the status code and sends the origin as Host', async () => {
    const { port, seen } = await httpServer((p) => (p.endsWith('/api') ? 200 : 404));
    const origin = parseOrigin(`http://127.0.0.1:${port}`);
    assert.equal(await statusOf(origin, '/user/a%20b/api', new AbortController().signal), 200);
    assert.equal(await statusOf(origin, '/user/a%20b/', new AbortController().signal), 404);
    assert.deepEqual(seen[0], { path: '/user/a%20b/api', host: `127.0.0.1:${port}` });
  });

  test('rejects a peer that does not speak HTTP, and one that closes without answering', async () => {
    const garbage = await listen(net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n')));
    const silent = await listen(net.createServer((s) => s.end()));
    const signal = new AbortController().signal;
    await assert.rejects(statusOf(parseOrigin(`http://127.0.0.1:${garbage}`), '/', signal), /did not answer HTTP/);
    await assert.rejects(statusOf(parseOrigin(`http://127.0.0.1:${silent}`), '/', signal), /without an HTTP answer/);
  });

  test('refuses a path that could inject a header', async () => {
    const { port, seen } = await httpServer(() => 200);
    await assert.rejects(statusOf(parseOrigin(`http://127.0.0.1:${port}`), '/x HTTP/1.1\r\nX-Evil: 1\r\n', new AbortController().signal), /not an escaped URL path/);
    assert.equal(seen.length, 0);
  });

  test('an IPv6 origin is reached without its brackets', () => {
    assert.deepEqual(parseOrigin('http://[::1]:8888'), { host: '::1', port: 8888, hostHeader: '[::1]:8888' });
    assert.throws(() => parseOrigin('https://127.0.0.1:1'), /not an http:\/\/ URL/);
  });
});

describe('waiting for a server to answer', () => {
  test('a server answering 500 at <prefix>api but 302 at <prefix> counts as up', async () => {
    const { port, seen } = await httpServer((p) => (p.endsWith('/api') ? 500 : 302));
    await waitForHttp(`http://127.0.0.1:${port}`, '/user/bob/', AbortSignal.timeout(5000));
    assert.deepEqual(seen.map((s) => s.path), ['/user/bob/api', '/user/bob/']);
  });

  test('keeps trying until the server listens, and does not give up on errors it answers', async () => {
    const port = await freePort();
    let calls = 0;
    const server = http.createServer((_req, res) => {
      calls++;
      res.writeHead(calls < 3 ? 503 : 200).end();
    });
    const waiting = waitForHttp(`http://127.0.0.1:${port}`, '/', AbortSignal.timeout(10_000));
    setTimeout(() => void listen(server, port), 50);
    await waiting;
    // 503 at /api and at /, then 200 at /api.
    assert.equal(calls, 3);
  });

  test('stops with the abort reason when nothing ever answers', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const reason = new Error('the spawn was cancelled');
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(waitForHttp(`http://127.0.0.1:${port}`, '/', controller.signal), (err) => err === reason);
  });

  test('an answer that never comes is abandoned when the wait is aborted', async () => {
    const port = await listen(net.createServer(() => undefined)); // accepts, never answers
    const controller = new AbortController();
    const reason = new Error('http_timeout');
    setTimeout(() => controller.abort(reason), 100);
    const t0 = Date.now();
    await assert.rejects(waitForHttp(`http://127.0.0.1:${port}`, '/', controller.signal), (err) => err === reason);
    assert.ok(Date.now() - t0 < 1900, 'the hanging probe did not wait for its own 2 s timeout');
  });
});
