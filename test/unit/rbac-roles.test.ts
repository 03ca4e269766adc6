import { GANYMEDE_SCOPE_DEFINITIONS } from '../../src/rbac/scope-definitions.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ROLES,
  defaultRole,
  expandRoles,
  isValidRoleName,
  resolveServerFilter,
  rolesToScopes,
  validateRole,
} from '../../src/rbac/roles.js';
import { checkScope, expandScopes, isValidScope, resolveTokenScopes, scopeNames } from '../../src/rbac/scopes.js';

const alice = { kind: 'user', name: 'alice' } as const;

function sorted(scopes: Iterable<string>): string[] {
  return [...scopes].sort();
}

describe('default roles', () => {
  test('are user, admin, server and token', () => {
    assert.deepEqual(
      DEFAULT_ROLES.map((r) => r.name),
      ['user', 'admin', 'server', 'token'],
    );
  });

  test('have the JupyterHub 5 scopes', () => {
    assert.deepEqual(defaultRole('user')?.scopes, ['self']);
    assert.deepEqual(defaultRole('server')?.scopes, ['users:activity!user', 'access:servers!server']);
    assert.deepEqual(defaultRole('token')?.scopes, ['inherit']);
    assert.deepEqual(sorted(defaultRole('admin')?.scopes ?? []), sorted([
      'admin-ui', 'admin:users', 'admin:servers', 'admin:services', 'tokens', 'admin:groups', 'list:services',
      'read:services', 'read:hub', 'proxy', 'shutdown', 'access:services', 'access:servers', 'read:roles',
      'read:metrics', 'shares',
    ]));
    assert.equal(defaultRole('nope'), undefined);
  });

  test('are valid and frozen', () => {
    for (const role of DEFAULT_ROLES) {
      assert.deepEqual(validateRole(role), [], role.name);
      for (const s of role.scopes) assert.ok(isValidScope(s), s);
      assert.ok(Object.isFrozen(role) && Object.isFrozen(role.scopes));
    }
    assert.ok(Object.isFrozen(DEFAULT_ROLES));
  });

  test('admin holds every scope but the metascopes, unfiltered', () => {
    const admin = expandRoles([defaultRole('admin')!], alice);
    // Ganymede's own scopes (courses) are not JupyterHub's admin role's; admins get them when courses are enabled.
    const expected = scopeNames().filter((s) => !['self', 'inherit', '(no_scope)'].includes(s) && !s.startsWith('custom:') && !(s in GANYMEDE_SCOPE_DEFINITIONS));
    assert.deepEqual(sorted(admin), sorted(expected));
  });

  test('user role: self for the holder', () => {
    const scopes = expandRoles([defaultRole('user')!], alice);
    assert.ok(checkScope(scopes, 'servers', { server: 'alice/gpu' }));
    assert.ok(checkScope(scopes, 'tokens', { user: 'alice' }));
    assert.ok(!checkScope(scopes, 'servers', { server: 'bob/' }));
    assert.ok(!checkScope(scopes, 'list:users'));
  });

  test('token role: inherit gives the owner everything it holds', () => {
    const owner = expandRoles([defaultRole('user')!], alice);
    const token = resolveTokenScopes(defaultRole('token')!.scopes, owner, { owner: alice });
    assert.deepEqual(sorted(token), sorted(owner));
  });
});

describe('server role and resolveServerFilter', () => {
  test('pins !server and !user to the server and its owner', () => {
    assert.deepEqual(sorted(resolveServerFilter(defaultRole('server')!.scopes, 'alice/gpu')), [
      'access:servers!server=alice/gpu',
      'users:activity!user=alice',
    ]);
    assert.deepEqual(sorted(resolveServerFilter(['access:servers!server'], 'alice/')), ['access:servers!server=alice/']);
  });

  test('leaves other scopes alone', () => {
    assert.deepEqual(
      sorted(resolveServerFilter(['self', 'read:hub', 'read:users!user=bob', 'access:servers!server=bob/x'], 'alice/')),
      sorted(['self', 'read:hub', 'read:users!user=bob', 'access:servers!server=bob/x']),
    );
  });

  test("a server's token reports activity for its owner and is usable only at its own URL", () => {
    const raw = resolveServerFilter(defaultRole('server')!.scopes, 'alice/gpu');
    const owner = expandRoles([defaultRole('user')!], alice);
    const token = resolveTokenScopes(raw, owner, { owner: alice });
    assert.ok(checkScope(token, 'users:activity', { user: 'alice' }));
    assert.ok(checkScope(token, 'read:users:activity', { user: 'alice' }));
    assert.ok(checkScope(token, 'access:servers', { server: 'alice/gpu' }));
    assert.ok(!checkScope(token, 'access:servers', { server: 'alice/' }));
    assert.ok(!checkScope(token, 'users:activity', { user: 'bob' }));
    assert.ok(!checkScope(token, 'servers', { server: 'alice/gpu' }));
    assert.deepEqual(sorted(expandScopes(raw, { owner: alice })), [
      'access:servers!server=alice/gpu',
      'read:users:activity!user=alice',
      'users:activity!user=alice',
    ]);
  });
});

describe('role names', () => {
  test('valid', () => {
    for (const name of ['abc', 'user', 'course-phys101', 'a.b_c~d-1', 'x'.repeat(255), 'a1z']) {
      assert.ok(isValidRoleName(name), name);
    }
  });

  test('invalid', () => {
    for (const name of ['ab', '', 'Admin', '1abc', '-abc', 'abc-', 'ab_', 'a b c', 'abc/def', 'x'.repeat(256), 'ümlaut']) {
      assert.ok(!isValidRoleName(name), name);
    }
  });
});

describe('validateRole', () => {
  test('a good role has no errors, with or without scopes', () => {
    assert.deepEqual(validateRole({ name: 'physics-teacher', scopes: ['admin:servers!group=physics', 'list:users!group=physics'] }), []);
    assert.deepEqual(validateRole({ name: 'empty' }), []);
    assert.deepEqual(validateRole({ name: 'server', scopes: ['access:servers!server', 'users:activity!user', 'access:services!service'] }), []);
  });

  test('reports a bad name', () => {
    const errors = validateRole({ name: 'Teachers', scopes: ['read:users'] });
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /Invalid role name/);
  });

  test('reports each unknown scope or filter', () => {
    const errors = validateRole({ name: 'bad', scopes: ['read:users', 'read:everything', 'users!team=x', 'users!group', 'all'] });
    assert.equal(errors.length, 4);
    assert.match(errors[0]!, /read:everything/);
    assert.match(errors[1]!, /team/);
    assert.match(errors[2]!, /!group/);
    assert.match(errors[3]!, /inherit/);
    for (const e of errors) assert.match(e, /role bad/);
  });

  test('the admin role cannot be changed, but can be restated', () => {
    const admin = defaultRole('admin')!;
    assert.deepEqual(validateRole({ name: 'admin' }), []);
    assert.deepEqual(validateRole({ name: 'admin', scopes: [...admin.scopes].reverse() }), []);
    assert.equal(validateRole({ name: 'admin', scopes: ['read:hub'] }).length, 1);
    assert.equal(validateRole({ name: 'admin', description: 'mine' }).length, 1);
  });

  test('other default roles may be redefined', () => {
    assert.deepEqual(validateRole({ name: 'user', scopes: ['self', 'read:groups!group=everyone'] }), []);
  });
});

describe('rolesToScopes / expandRoles', () => {
  test('unions raw scopes', () => {
    assert.deepEqual(sorted(rolesToScopes([{ scopes: ['self', 'read:hub'] }, { scopes: ['read:hub', 'proxy'] }])), [
      'proxy',
      'read:hub',
      'self',
    ]);
  });

  test("a user's roles and their groups' roles expand together", () => {
    const scopes = expandRoles([defaultRole('user')!, { scopes: ['read:users!group=physics'] }], alice);
    assert.ok(scopes.has('read:users!user=alice'));
    assert.ok(scopes.has('read:users:groups!group=physics'));
  });
});
