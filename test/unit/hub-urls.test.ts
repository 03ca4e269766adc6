/** The URLs the hub builds under subdomain_host: users' hosts as DNS labels, and the services' own host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsLabel, HubUrls } from '../../src/hub/urls.js';

test("a user's host label: a safe name is itself; any other, and `services`, get a hashed form no safe name equals", () => {
  assert.equal(dnsLabel('alice'), 'alice');
  assert.equal(dnsLabel('a-b-9'), 'a-b-9');
  for (const name of ['Alice', 'a.b', 'x--y', 'services', 'ünï']) {
    const label = dnsLabel(name);
    assert.match(label, /^[a-z0-9]{0,20}--[0-9a-f]{10}$|^u--[0-9a-f]{10}$/, `${name} → ${label}`);
    assert.notEqual(label, 'services');
  }
  assert.notEqual(dnsLabel('Alice'), dnsLabel('alice'));
});

test('services: under subdomain_host on services.<hub host>, apart from the hub and every user; else under the hub', () => {
  const sub = new HubUrls({ bind_url: 'http://127.0.0.1:8000/', subdomain_host: 'https://hub.example.org' });
  assert.equal(sub.serviceUrl('grader'), 'https://services.hub.example.org/services/grader/');
  assert.equal(sub.serviceRouteKey('grader'), '/services.hub.example.org/services/grader/');
  assert.equal(sub.userHost('services'), `${dnsLabel('services')}.hub.example.org`);
  assert.notEqual(sub.userHost('services'), sub.servicesHost());
  const plain = new HubUrls({ bind_url: 'http://127.0.0.1:8000/jh/' });
  assert.equal(plain.serviceUrl('grader'), '/jh/services/grader/');
  assert.equal(plain.serviceRouteKey('grader'), '/jh/services/grader/');
});

test("JupyterHub 5's public URLs: absolute with public_url or subdomain_host, empty when the hub knows only its bind_url", () => {
  const behindProxy = new HubUrls({ bind_url: 'http://127.0.0.1:8000/jh/', public_url: 'https://hub.uni.example/jh/' });
  assert.equal(behindProxy.publicHubUrl(), 'https://hub.uni.example/jh/');
  assert.equal(behindProxy.publicServerUrl('alice', 'gpu'), 'https://hub.uni.example/jh/user/alice/gpu/');
  assert.equal(behindProxy.publicServiceUrl('grader'), 'https://hub.uni.example/jh/services/grader/');
  const sub = new HubUrls({ bind_url: 'http://127.0.0.1:8000/', subdomain_host: 'https://hub.example.org' });
  assert.equal(sub.publicHubUrl(), 'https://hub.example.org/');
  assert.equal(sub.publicServerUrl('alice'), 'https://alice.hub.example.org/user/alice/');
  assert.equal(sub.publicServiceUrl('grader'), 'https://services.hub.example.org/services/grader/');
  const bare = new HubUrls({ bind_url: 'http://127.0.0.1:8000/' });
  assert.equal(bare.publicHubUrl(), '');
  assert.equal(bare.publicServerUrl('alice'), '');
});
