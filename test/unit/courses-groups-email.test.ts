import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/db/connect.js';
import { GroupRepo } from '../../src/db/repos/groups.js';
import { UserRepo } from '../../src/db/repos/users.js';
import { AuthGeneration } from '../../src/db/repos/generation.js';
import { emailInAuthState } from '../../src/courses/index.js';

test("a login that manages groups leaves course groups alone, both ways", async (t) => {
  const database = await openDatabase('sqlite:///:memory:');
  t.after(() => database.close());
  const generation = new AuthGeneration();
  const users = new UserRepo(database.db, generation);
  const groups = new GroupRepo(database.db, generation);
  const ann = await users.create('ann', false, 'local-process');
  const bob = await users.create('bob', false, 'local-process');
  const course = await groups.create(['course-stats1'], [ann.id], { course: 'stats1' });
  assert.ok(Array.isArray(course));
  await groups.create(['physics'], [ann.id]);

  // ann logs in: her identity provider lists only "chem"; bob's lists the course group's name.
  await groups.setUserGroups(ann.id, ['chem']);
  await groups.setUserGroups(bob.id, ['course-stats1', 'chem']);

  const members = await groups.memberNames([course[0]!.id]);
  assert.deepEqual(members.get(course[0]!.id), ['ann'], 'ann stays a participant; bob is not let in');
  const annGroups = await groups.idsOfUser(ann.id);
  const physics = await groups.byName('physics');
  assert.ok(!annGroups.includes(physics!.id), 'other groups follow the identity provider');
  assert.equal((await groups.idsOfUser(bob.id)).length, 1, 'bob is in chem only');
});

test("a user's e-mail address from what the authenticator kept", () => {
  assert.equal(emailInAuthState(null), null);
  assert.equal(emailInAuthState({ email: 'a@uni.example' }), 'a@uni.example');
  assert.equal(emailInAuthState({ claims: { email: 'o@uni.example' } }), 'o@uni.example', 'OpenID Connect');
  assert.equal(emailInAuthState({ github_user: { email: 'g@uni.example' } }), 'g@uni.example', 'GitHub');
  assert.equal(emailInAuthState({ mail: ['l@uni.example', 'x@uni.example'] }), 'l@uni.example', 'LDAP');
  assert.equal(emailInAuthState({ email: 'not an address', claims: { email: null } }), null);
});
