/**
 * The scope cache and writes that happen while scopes are being read: scopes read before a change
 * (a share revoked, a role taken away) may answer the request that read them, but are never kept
 * for the next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessControl } from '../../src/hub/access.js';
import { AuthGeneration } from '../../src/db/repos/generation.js';
import type { RoleRepo } from '../../src/db/repos/roles.js';
import type { ShareRepo } from '../../src/db/repos/shares.js';
import type { UserRepo } from '../../src/db/repos/users.js';
import type { UserRow } from '../../src/db/schema.js';

const bob = { id: 2, name: 'bob', admin: 0 } as UserRow;
const SHARED = 'access:servers!server=alice/';

/** Shares whose answer the test releases by hand, so that a write can happen while a read waits. */
function heldShares() {
  let current = [SHARED];
  const waiting: Array<() => void> = [];
  let reads = 0;
  const shares = {
    async scopesFor() {
      reads++;
      const answer = [...current];
      await new Promise<void>((resolve) => waiting.push(resolve));
      return answer;
    },
  } as unknown as ShareRepo;
  return {
    shares,
    revoke: () => (current = []),
    release: () => waiting.splice(0).forEach((resolve) => resolve()),
    get reads() {
      return reads;
    },
  };
}

test('scopes read while a share is revoked are not cached for the next request', async () => {
  const generation = new AuthGeneration();
  const held = heldShares();
  const roles = { scopesOfUser: async () => [] } as unknown as RoleRepo;
  const access = new AccessControl(roles, {} as UserRepo, held.shares, generation, { user: ['self'], admin: [] });

  const during = access.userScopes(bob); // reads the share, then waits
  held.revoke(); // the revocation is written…
  generation.bump(); // …and announced, while the read above still waits
  held.release();
  assert.ok((await during).has(SHARED), 'the read that began before the revocation saw the share');

  const next = access.userScopes(bob);
  held.release();
  assert.equal((await next).has(SHARED), false, 'the next request sees the revocation');
  assert.equal(held.reads, 2, 'it read the shares again');
});

test('scopes read when nothing changed are cached', async () => {
  const held = heldShares();
  const roles = { scopesOfUser: async () => [] } as unknown as RoleRepo;
  const access = new AccessControl(roles, {} as UserRepo, held.shares, new AuthGeneration(), { user: ['self'], admin: [] });
  const first = access.userScopes(bob);
  held.release();
  assert.ok((await first).has(SHARED));
  assert.ok((await access.userScopes(bob)).has(SHARED));
  assert.equal(held.reads, 1, 'one read for both');
});
