import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthPolicy } from '../../src/auth/authenticator.js';

const base = { admin_users: ['Root'], allowed_users: [], blocked_users: ['mallory'] };

test('dummy is open unless allowed_users is set (JupyterHub 5 DummyAuthenticator)', () => {
  const open = new AuthPolicy({ ...base, class: 'dummy' });
  assert.equal(open.admits('anyone', false, false), true);
  const listed = new AuthPolicy({ ...base, class: 'dummy', allowed_users: ['ada'] });
  assert.equal(listed.admits('ada', false, false), true);
  assert.equal(listed.admits('bo', false, false), false);
  assert.equal(listed.admits('bo', false, true), true, 'allow_existing_users defaults to true with allowed_users');
});

test('other authenticators need an allow rule (JupyterHub 5 allow_all = False)', () => {
  const closed = new AuthPolicy({ ...base, class: 'ldap' });
  assert.equal(closed.admits('ada', false, false), false);
  assert.equal(closed.admits('ada', false, true), false, 'allow_existing_users is off without allowed_users');
  assert.equal(closed.admits('ada', true, false), true, "the authenticator's own rule (groups, organizations) admits");
  assert.equal(closed.admits('root', false, false), true, 'admins always');
  assert.equal(new AuthPolicy({ ...base, class: 'github', allow_all: true }).admits('anyone', false, false), true);
});

test('blocked users never get in', () => {
  for (const cls of ['dummy', 'oidc'] as const) {
    const policy = new AuthPolicy({ ...base, class: cls, allow_all: true });
    assert.equal(policy.admits('mallory', true, true), false);
  }
});
