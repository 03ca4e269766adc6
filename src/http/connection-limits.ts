/**
 * Limits on slow and greedy clients of the hub's one public HTTP server (pages, API and the proxy):
 *  - a request's headers must arrive within HEADERS_TIMEOUT_MS (a client trickling them in, one byte
 *    at a time, held a connection for about 80 s with Node's defaults);
 *  - one client address holds at most `max_connections_per_client` connections at once; reverse
 *    proxies in trusted_proxies, which carry everyone's connections, are not counted.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export const HEADERS_TIMEOUT_MS = 15_000;

/** Options for http.createServer: keep-alive longer than common proxies' idle timeouts, headers soon, checks often. */
export const SERVER_TIMEOUTS: http.ServerOptions = {
  keepAliveTimeout: 65_000,
  headersTimeout: HEADERS_TIMEOUT_MS,
  // Node checks the two timeouts above on this interval (default 30 s, which would add to them).
  connectionsCheckingInterval: 1_000,
};

/** Closes at once each connection beyond `max` from one address that is not a trusted proxy. */
export function limitConnectionsPerClient(server: http.Server, max: number, trusted: (address: string) => boolean, log: Logger): void {
  const open = new Map<string, number>();
  const warned = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (!address || trusted(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      if (!warned.has(address)) {
        warned.add(address);
        log.warn({ client: address, max }, 'a client reached max_connections_per_client: further connections are closed');
      }
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else {
        open.delete(address);
        warned.delete(address);
      }
    });
  });
}
