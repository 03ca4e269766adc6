/** OAuth client ids of servers, and which redirect URIs a registered client accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubUrls } from '../../src/hub/urls.js';
import { redirectMatches } from '../../src/oauth/provider.js';

test("a named server's client id never equals another user's default server's", () => {
  // JupyterHub joins with '-': alice's server "gpu" and user alice-gpu's default server collide there.
  assert.equal(HubUrls.serverClientId('alice-gpu'), 'jupyterhub-user-alice-gpu', 'default servers keep JupyterHub’s id');
  assert.equal(HubUrls.serverClientId('alice', 'gpu'), 'jupyterhub-user-alice|gpu');
  assert.notEqual(HubUrls.serverClientId('alice', 'gpu'), HubUrls.serverClientId('alice-gpu'));
  assert.equal(HubUrls.serverClientId('a', 'b|c'), 'jupyterhub-user-a|b%7Cc');
  assert.notEqual(HubUrls.serverClientId('a', 'b|c'), HubUrls.serverClientId('a|b', 'c'));
  assert.equal(HubUrls.isOwnServerClient('jupyterhub-user-alice|gpu', 'alice'), true);
  assert.equal(HubUrls.isOwnServerClient('jupyterhub-user-alice', 'alice'), true);
  assert.equal(HubUrls.isOwnServerClient('jupyterhub-user-alice-gpu', 'alice'), false, "user alice-gpu's server is not alice's");
});

test('a redirect URI is the registered one, or a relative one on the hub’s own origin only', () => {
  const origins = ['https://hub.example.org'];
  const registered = '/user/alice/oauth_callback';
  assert.equal(redirectMatches(registered, registered, origins), true);
  assert.equal(redirectMatches('https://hub.example.org/user/alice/oauth_callback', registered, origins), true);
  for (const given of [
    'http://other-host/user/alice/oauth_callback',
    'https://hub.example.org.evil.test/user/alice/oauth_callback',
    'http://hub.example.org/user/alice/oauth_callback', // another scheme is another origin
    '//hub.example.org/user/alice/oauth_callback',
    'javascript:/user/alice/oauth_callback',
    'https://hub.example.org/user/alice/oauth_callback?x=1',
    'https://hub.example.org/user/alice/oauth_callback#x',
    'https://me@hub.example.org/user/alice/oauth_callback',
    'https://hub.example.org/user/alice/../alice/oauth_callback',
    '/user/alice/oauth_callback/',
  ]) {
    assert.equal(redirectMatches(given, registered, origins), false, given);
  }
  // An absolute registration matches only itself.
  assert.equal(redirectMatches('https://svc.example.org/cb', 'https://svc.example.org/cb', origins), true);
  assert.equal(redirectMatches('https://svc.example.org/cb?x', 'https://svc.example.org/cb', origins), false);
});
