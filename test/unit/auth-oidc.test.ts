import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupsFrom, provesMfa } from '../../src/auth/oidc.js';
import { valueAt as claimAt } from '../../src/auth/group-rules.js';

test('claims by dotted path, as Keycloak nests roles', () => {
  const claims = { preferred_username: 'ada', realm_access: { roles: ['jupyter'] } };
  assert.equal(claimAt(claims, 'preferred_username'), 'ada');
  assert.deepEqual(claimAt(claims, 'realm_access.roles'), ['jupyter']);
  assert.equal(claimAt(claims, 'realm_access.missing.deeper'), undefined);
});

test('groups: strings only, Keycloak paths without the leading slash', () => {
  assert.deepEqual(groupsFrom(['/physics', 'chem', 3, '', null]), ['physics', 'chem']);
  assert.deepEqual(groupsFrom('physics'), []);
  assert.deepEqual(groupsFrom(undefined), []);
});

test('a second factor is proven by amr or by an accepted acr', () => {
  const amrValues = ['mfa', 'otp', 'hwk'];
  assert.equal(provesMfa({ amr: ['pwd', 'otp'] }, amrValues, []), true);
  assert.equal(provesMfa({ amr: ['pwd'] }, amrValues, []), false);
  assert.equal(provesMfa({}, amrValues, []), false);
  assert.equal(provesMfa({ amr: 'otp' }, amrValues, []), false, 'amr must be a list');
  assert.equal(provesMfa({ amr: ['pwd'], acr: 'gold' }, amrValues, ['gold']), true);
  assert.equal(provesMfa({ acr: 'bronze' }, amrValues, ['gold']), false);
});
