/** The proxy's routing table: path prefix → running server or service, plus activity seen on each route. */
import { RouteTrie } from './route-trie.js';
import { wallClock } from '../clock.js';

export interface RouteTarget {
  /** Upstream base URL, e.g. http://127.0.0.1:53211 */
  target: string;
  kind: 'user' | 'service';
  /** servers.id for user routes, services.id for service routes. */
  id: number;
  userId?: number;
  /** For GET /hub/api/proxy: the JupyterHub-style route data. */
  data: Record<string, string>;
}

export class RouteTable {
  private readonly trie = new RouteTrie<RouteTarget>();
  /** prefix → last time traffic went through it (ms), drained by the activity flusher. */
  private activity = new Map<string, number>();
  /** prefix → when the route was added or last carried traffic (ms): configurable-http-proxy's last_activity. */
  private readonly lastSeen = new Map<string, number>();

  add(prefix: string, route: RouteTarget): void {
    this.trie.add(prefix, route);
    this.lastSeen.set(prefix, wallClock.now());
  }

  remove(prefix: string): void {
    this.trie.remove(prefix);
    this.activity.delete(prefix);
    this.lastSeen.delete(prefix);
  }

  /** When the route was added or last carried traffic (ms), if it exists. */
  lastActivity(prefix: string): number | undefined {
    return this.lastSeen.get(prefix);
  }

  get(prefix: string): RouteTarget | undefined {
    return this.trie.get(prefix);
  }

  match(path: string): { prefix: string; value: RouteTarget } | undefined {
    return this.trie.match(path);
  }

  entries(): Array<[string, RouteTarget]> {
    return this.trie.entries();
  }

  get size(): number {
    return this.trie.size;
  }

  recordActivity(prefix: string): void {
    const now = wallClock.now();
    this.activity.set(prefix, now);
    if (this.lastSeen.has(prefix)) this.lastSeen.set(prefix, now);
  }

  /** Returns and clears activity recorded since the last call. */
  drainActivity(): Map<string, number> {
    const out = this.activity;
    this.activity = new Map();
    return out;
  }
}
