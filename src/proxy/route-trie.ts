/**
 * The proxy's routing table: a trie over URL path segments, keyed by route prefix ('/user/alice/').
 *
 * `match` runs on every proxied request, so it walks the path with indexOf (no split, no regex),
 * does one Map lookup per segment and returns an entry object built once by `add`: a lookup
 * allocates nothing but the segment strings. Segments are compared raw (no percent-decoding).
 */

const SLASH = 0x2f;

export interface RouteEntry<T> {
  /** The normalised prefix: '/' or '/a/b/' (always a trailing slash). */
  readonly prefix: string;
  readonly value: T;
}

class TrieNode<T> {
  /** Created on first child, so leaves (most nodes) carry no Map. */
  children: Map<string, TrieNode<T>> | undefined = undefined;
  entry: RouteEntry<T> | undefined = undefined;
}

/** '/user/alice', '/user/alice/' and 'user/alice' all give ['user', 'alice']; '/' gives []. */
function segmentsOf(prefix: string): string[] {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === SLASH) end--;
  const start = prefix.charCodeAt(0) === SLASH ? 1 : 0;
  return start >= end ? [] : prefix.slice(start, end).split('/');
}

function prefixOf(segments: string[]): string {
  return segments.length === 0 ? '/' : `/${segments.join('/')}/`;
}

export class RouteTrie<T> {
  private readonly root = new TrieNode<T>();
  private count = 0;

  /** Adds a route, or replaces the value of an existing one. */
  add(prefix: string, value: T): void {
    const segments = segmentsOf(prefix);
    let node = this.root;
    for (const segment of segments) {
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (child === undefined) {
        child = new TrieNode<T>();
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node.entry === undefined) this.count++;
    node.entry = { prefix: prefixOf(segments), value };
  }

  /** Removes a route and prunes the nodes left without routes; false if there was no such route. */
  remove(prefix: string): boolean {
    const segments = segmentsOf(prefix);
    const path: TrieNode<T>[] = [this.root];
    let node = this.root;
    for (const segment of segments) {
      const child = node.children?.get(segment);
      if (child === undefined) return false;
      path.push(child);
      node = child;
    }
    if (node.entry === undefined) return false;
    node.entry = undefined;
    this.count--;
    for (let i = segments.length; i > 0; i--) {
      const child = path[i]!;
      if (child.entry !== undefined || child.children !== undefined) break;
      const parent = path[i - 1]!;
      parent.children!.delete(segments[i - 1]!);
      if (parent.children!.size === 0) parent.children = undefined;
    }
    return true;
  }

  /** The value routed at exactly this prefix. */
  get(prefix: string): T | undefined {
    let node: TrieNode<T> | undefined = this.root;
    for (const segment of segmentsOf(prefix)) {
      node = node.children?.get(segment);
      if (node === undefined) return undefined;
    }
    return node.entry?.value;
  }

  /**
   * The route with the longest prefix whose segments start `path`'s segments; a query string is
   * ignored. '/user/alice' and '/user/alice/tree?x=1' match '/user/alice/'; '/user/al' does not.
   * The returned object is shared by every match of that route: do not modify it.
   */
  match(path: string): RouteEntry<T> | undefined {
    let node = this.root;
    let best = node.entry;
    let end = path.indexOf('?');
    if (end < 0) end = path.length;
    let start = path.charCodeAt(0) === SLASH ? 1 : 0;
    while (start < end && node.children !== undefined) {
      let slash = path.indexOf('/', start);
      if (slash < 0 || slash > end) slash = end;
      const child = node.children.get(path.slice(start, slash));
      if (child === undefined) break;
      node = child;
      if (child.entry !== undefined) best = child.entry;
      start = slash + 1;
    }
    return best;
  }

  /** Every route as [prefix, value], each prefix before the longer prefixes under it. */
  entries(): Array<[string, T]> {
    const out: Array<[string, T]> = [];
    const visit = (node: TrieNode<T>): void => {
      if (node.entry !== undefined) out.push([node.entry.prefix, node.entry.value]);
      if (node.children !== undefined) for (const child of node.children.values()) visit(child);
    };
    visit(this.root);
    return out;
  }

  get size(): number {
    return this.count;
  }
}
