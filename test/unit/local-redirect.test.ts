/** Redirect targets from requests (`next`): paths under the base URL only, parsed and re-encoded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localRedirect } from '../../src/http/local-redirect.js';

test('paths under the base URL come back, re-encoded from the parsed URL', () => {
  assert.equal(localRedirect('/jh/user/alice/tree?a=b#x', '/jh/'), '/jh/user/alice/tree?a=b#x');
  assert.equal(localRedirect('/jh', '/jh/'), '/jh');
  assert.equal(localRedirect('/jh/user/zoë/notes ä.ipynb', '/jh/'), '/jh/user/zo%C3%AB/notes%20%C3%A4.ipynb');
  assert.equal(localRedirect('/', '/'), '/');
});

test('anything a browser could read as another site is refused', () => {
  for (const next of [
    '/\t/evil.example', // browsers drop the tab: //evil.example
    '/%09/evil.example'.replace('%09', '\t'),
    '/\n/evil.example',
    '/\r\nSet-Cookie: x=y',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'https://evil.example/jh/',
    'javascript:alert(1)',
    'evil.example',
    '',
    '/jh/\u0000',
  ]) {
    assert.equal(localRedirect(next, '/'), null, JSON.stringify(next));
  }
});

test('paths outside the base URL, also after dot segments, are refused', () => {
  assert.equal(localRedirect('/other/', '/jh/'), null);
  assert.equal(localRedirect('/jh/../other/', '/jh/'), null);
  assert.equal(localRedirect('/jh/%2e%2e/other/', '/jh/'), null);
  assert.equal(localRedirect('/jhx/', '/jh/'), null);
  assert.equal(localRedirect(undefined, '/'), null);
  assert.equal(localRedirect(['/jh/'], '/jh/'), null);
});
