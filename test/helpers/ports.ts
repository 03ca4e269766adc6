/** Free TCP ports for servers started by tests. */
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

/** Resolves once something accepts connections on 127.0.0.1:`port`; rejects if `isAlive()` turns false (the server `name` exited) or after `timeoutMs`. */
export function waitForPort(port: number, name: string, isAlive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (!isAlive()) return reject(new Error(`${name} exited`));
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`${name} did not listen in time`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
