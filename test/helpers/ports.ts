/** Free TCP ports for servers started by tests, and waiting until such a server serves. */
import { connect, createServer, type AddressInfo } from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago: the OS picks it, and it is released at once. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once `serves()` holds: the server did what the next step needs (answered an LDAP bind and
 * search, sent its SSH banner). A TCP connect only shows that the kernel accepts for a listening
 * socket, which is readiness only for a daemon that listens last. Rejects if `isAlive()` turns false
 * (the server `name` exited) or after `timeoutMs`; a probe that throws counts as "not yet".
 */
export async function waitUntilServing(name: string, serves: () => Promise<boolean>, isAlive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!isAlive()) throw new Error(`${name} exited`);
    try {
      if (await serves()) return;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`${name} did not serve within ${timeoutMs} ms${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Connects to 127.0.0.1:`port` and resolves with the first line the server sends (an SSH banner, say). */
export function firstLine(port: number, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('no line in time')));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\n');
      if (end >= 0) {
        socket.destroy();
        resolve(data.slice(0, end).replace(/\r$/, ''));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before a line')));
  });
}
