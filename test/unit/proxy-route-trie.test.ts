import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTrie } from '../../src/proxy/route-trie.js';

function trieOf(...prefixes: string[]): RouteTrie<string> {
  const trie = new RouteTrie<string>();
  for (const p of prefixes) trie.add(p, p);
  return trie;
}

test('a prefix with or without its trailing slash is the same route', () => {
  const trie = new RouteTrie<number>();
  trie.add('/user/alice', 1);
  assert.equal(trie.get('/user/alice/'), 1);
  assert.equal(trie.get('/user/alice'), 1);
  trie.add('/user/alice/', 2);
  assert.equal(trie.size, 1);
  assert.equal(trie.get('/user/alice'), 2);
  assert.deepEqual(trie.entries(), [['/user/alice/', 2]]);
});

test('get is exact: neither a parent nor a child prefix answers', () => {
  const trie = trieOf('/user/alice/');
  assert.equal(trie.get('/user/'), undefined);
  assert.equal(trie.get('/user/alice/gpu/'), undefined);
  assert.equal(trie.get('/'), undefined);
});

test('match picks the longest prefix made of whole segments', () => {
  const trie = trieOf('/', '/user/alice/', '/user/alice/gpu/', '/services/grader/');
  assert.equal(trie.match('/user/alice/tree/x.ipynb')?.prefix, '/user/alice/');
  assert.equal(trie.match('/user/alice/gpu/api/kernels')?.prefix, '/user/alice/gpu/');
  assert.equal(trie.match('/user/alice/gpu')?.prefix, '/user/alice/gpu/');
  assert.equal(trie.match('/user/alice/gpux')?.prefix, '/user/alice/');
  assert.equal(trie.match('/user/alice')?.prefix, '/user/alice/');
  assert.equal(trie.match('/user/al')?.prefix, '/');
  assert.equal(trie.match('/user/alicex/')?.prefix, '/');
  assert.equal(trie.match('/services/grader')?.value, '/services/grader/');
  assert.equal(trie.match('/hub/login')?.prefix, '/');
  assert.equal(trie.match('/')?.prefix, '/');
  assert.equal(trie.match('')?.prefix, '/');
});

test('match without a root route returns undefined for unrouted paths', () => {
  const trie = trieOf('/user/alice/');
  assert.equal(trie.match('/user/al'), undefined);
  assert.equal(trie.match('/user/'), undefined);
  assert.equal(trie.match('/hub/'), undefined);
  assert.equal(trie.match('/'), undefined);
});

test('match ignores the query string, slashes in it included', () => {
  const trie = trieOf('/user/alice/', '/user/bob/');
  assert.equal(trie.match('/user/alice?next=/user/bob/')?.prefix, '/user/alice/');
  assert.equal(trie.match('/user/alice/?x=1')?.prefix, '/user/alice/');
  assert.equal(trie.match('/user/bob/api/contents?type=file&path=/a/b')?.prefix, '/user/bob/');
  assert.equal(trie.match('/user?alice/'), undefined);
});

test('segments are compared raw, without percent-decoding', () => {
  const trie = trieOf('/user/a%40b/');
  assert.equal(trie.match('/user/a%40b/tree')?.prefix, '/user/a%40b/');
  assert.equal(trie.match('/user/a@b/tree'), undefined);
});

test('an empty segment does not collapse into its neighbour', () => {
  const trie = trieOf('/user/alice/');
  assert.equal(trie.match('/user//alice/'), undefined);
  assert.equal(trie.match('/user/alice//x')?.prefix, '/user/alice/');
});

test('remove deletes only the exact route and prunes empty nodes', () => {
  const trie = trieOf('/user/alice/', '/user/alice/gpu/');
  assert.equal(trie.remove('/user/'), false);
  assert.equal(trie.remove('/user/alice/gpu/x/'), false);
  assert.equal(trie.remove('/user/alice'), true);
  assert.equal(trie.remove('/user/alice/'), false);
  assert.equal(trie.size, 1);
  assert.equal(trie.match('/user/alice/tree'), undefined);
  assert.equal(trie.match('/user/alice/gpu/tree')?.prefix, '/user/alice/gpu/');

  assert.equal(trie.remove('/user/alice/gpu/'), true);
  assert.equal(trie.size, 0);
  assert.deepEqual(trie.entries(), []);
  // Pruned: the root has no children left at all.
  assert.equal((trie as unknown as { root: { children?: unknown } }).root.children, undefined);
});

test('removing a parent keeps the child routes and their nodes', () => {
  const trie = trieOf('/a/', '/a/b/c/');
  trie.remove('/a/b/c/');
  assert.deepEqual(trie.entries(), [['/a/', '/a/']]);
  trie.add('/a/b/c/', 'again');
  trie.remove('/a/');
  assert.equal(trie.match('/a/b/c/d')?.value, 'again');
  assert.equal(trie.match('/a/b/'), undefined);
});

test('entries lists every route with its normalised prefix', () => {
  const trie = new RouteTrie<number>();
  trie.add('/', 0);
  trie.add('/user/alice', 1);
  trie.add('/user/alice/gpu', 2);
  trie.add('services/grader/', 3);
  const entries = trie.entries();
  assert.equal(trie.size, 4);
  assert.deepEqual(
    entries.sort((a, b) => a[0].localeCompare(b[0])),
    [['/', 0], ['/services/grader/', 3], ['/user/alice/', 1], ['/user/alice/gpu/', 2]],
  );
});

test('the root prefix can be added, matched and removed', () => {
  const trie = new RouteTrie<string>();
  trie.add('', 'root');
  assert.equal(trie.get('/'), 'root');
  assert.equal(trie.match('/anything/at/all')?.prefix, '/');
  assert.equal(trie.remove('/'), true);
  assert.equal(trie.match('/anything'), undefined);
  assert.equal(trie.size, 0);
});

test('many routes: each user matches only their own', () => {
  const trie = new RouteTrie<number>();
  for (let i = 0; i < 1000; i++) trie.add(`/user/u${i}/`, i);
  for (let i = 0; i < 1000; i += 97) {
    assert.equal(trie.match(`/user/u${i}/api/kernels?x=${i}`)?.value, i);
    assert.equal(trie.match(`/user/u${i}x/api`), undefined);
  }
  for (let i = 0; i < 1000; i++) trie.remove(`/user/u${i}`);
  assert.equal(trie.size, 0);
});
