/** Choosing a free TCP port for a new server. */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports handed to servers this hub process started and that have not exited yet. A server may take
 * a moment to bind its port, so a bind test alone would hand the same port to two servers starting together.
 */
const reservedPorts = new Set<number>();

const MAX_ATTEMPTS = 100;

/** Pick a random port in `[low, high]` that nothing listens on at `ip` and that no other server of ours was given; reserve it. */
export async function reserveFreePort(ip: string, [low, high]: readonly [number, number]): Promise<number> {
  const size = high - low + 1;
  if (size < 1) throw new Error(`spawner.port_range [${low}, ${high}] is empty`);
  const tried = new Set<number>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS && tried.size < size; attempt++) {
    const port = low + Math.floor(Math.random() * size);
    if (tried.has(port) || reservedPorts.has(port)) {
      tried.add(port);
      continue;
    }
    tried.add(port);
    reservedPorts.add(port); // before the await, so a concurrent start cannot pick it
    if (await canBind(ip, port)) return port;
    reservedPorts.delete(port);
  }
  throw new Error(`No free port found in spawner.port_range [${low}, ${high}] on ${ip}`);
}

export function releasePort(port: number): void {
  reservedPorts.delete(port);
}

function canBind(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(new Error(`Cannot listen on spawner.ip ${ip}: ${error.message}`));
    });
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The part of `[low, high]` inside the kernel's ephemeral port range (where outgoing connections
 * get their local port), or null. A server port chosen there can be taken by a connection between
 * the check and the server's bind, and the server then fails with "address already in use".
 */
export function ephemeralOverlap([low, high]: readonly [number, number], rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | null {
  let text: string;
  try {
    text = readFileSync(rangeFile, 'utf8');
  } catch {
    return null; // not Linux
  }
  const [eLow, eHigh] = text.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(eLow) || !Number.isInteger(eHigh)) return null;
  const from = Math.max(low, eLow!);
  const to = Math.min(high, eHigh!);
  return from <= to ? [from, to] : null;
}
