/** Free TCP ports for servers started by tests. */
import { createServer, type AddressInfo } from 'node:net';

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
