import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GANYMEDE_SCOPE_DEFINITIONS, SCOPE_DEFINITIONS } from '../../src/rbac/scope-definitions.js';
import {
  InvalidScopeError,
  SELF_SCOPES,
  accessCovers,
  accessScope,
  checkScope,
  defineCustomScopes,
  describeScope,
  excessTokenScopes,
  expandScopes,
  formatScope,
  identifyScopes,
  impliedScopes,
  intersectScopes,
  isDefinedScope,
  isValidScope,
  parseScope,
  parseScopes,
  reduceScopes,
  resolveRequestedScopes,
  resolveSelf,
  resolveTokenScopes,
  scopeError,
  scopeFilterFor,
  scopeNames,
  serverOwner,
  unparseScopes,
  type ScopeOwner,
  type UserGroupsLookup,
} from '../../src/rbac/scopes.js';

const alice: ScopeOwner = { kind: 'user', name: 'alice' };
const culler: ScopeOwner = { kind: 'service', name: 'idle-culler' };

function sorted(scopes: Iterable<string>): string[] {
  return [...scopes].sort();
}

function assertScopes(actual: Iterable<string>, expected: Iterable<string>): void {
  assert.deepEqual(sorted(actual), sorted(expected));
}

function groupsFrom(membership: Record<string, string[]>): UserGroupsLookup {
  return (user) => Object.entries(membership).filter(([, members]) => members.includes(user)).map(([g]) => g);
}

// every scope of JupyterHub 5.x (5.0-5.5) plus JupyterHub 6's start:servers (which issue 5 asks for), and nothing else
const JUPYTERHUB_5_SCOPES = [
  '(no_scope)', 'self', 'inherit', 'admin-ui',
  'admin:users', 'admin:auth_state', 'users', 'delete:users', 'list:users', 'read:users',
  'read:users:name', 'read:users:groups', 'read:users:activity', 'users:activity',
  'read:roles', 'read:roles:users', 'read:roles:services', 'read:roles:groups',
  'admin:servers', 'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers',
  'tokens', 'read:tokens',
  'admin:groups', 'groups', 'list:groups', 'read:groups', 'read:groups:name', 'delete:groups',
  'admin:services', 'list:services', 'read:services', 'read:services:name',
  'read:hub', 'access:servers', 'access:services',
  'users:shares', 'read:users:shares', 'groups:shares', 'read:groups:shares', 'read:shares', 'shares',
  'proxy', 'shutdown', 'read:metrics',
];

describe('scope definitions', () => {
  test('are exactly the JupyterHub 5 scopes and start:servers', () => {
    assertScopes(Object.keys(SCOPE_DEFINITIONS), JUPYTERHUB_5_SCOPES);
  });

  test('every subscope is defined and every scope has a description', () => {
    for (const [name, def] of Object.entries(SCOPE_DEFINITIONS)) {
      assert.ok(def.description.length > 0, name);
      for (const sub of def.subscopes ?? []) assert.ok(sub in SCOPE_DEFINITIONS, `${name} -> ${sub}`);
    }
  });

  test('the implication tree has no cycles', () => {
    for (const name of Object.keys(SCOPE_DEFINITIONS)) {
      for (const sub of SCOPE_DEFINITIONS[name]!.subscopes ?? []) {
        assert.ok(!impliedScopes(sub).includes(name), `${name} <-> ${sub}`);
      }
    }
  });

  test("'all' is not a scope; JupyterHub 6's 'start:servers' is, implied by 'servers'", () => {
    assert.equal(isDefinedScope('all'), false);
    assert.equal(isDefinedScope('start:servers'), true);
    assert.ok(impliedScopes('servers').includes('start:servers'));
  });

  test('direct subscopes match JupyterHub 5', () => {
    const expected: Record<string, string[]> = {
      'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
      users: ['read:users', 'list:users', 'users:activity'],
      'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
      'list:users': ['read:users:name'],
      'users:activity': ['read:users:activity'],
      'read:roles': ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
      'admin:servers': ['admin:server_state', 'servers'],
      servers: ['read:servers', 'start:servers', 'delete:servers'],
      'read:servers': ['read:users:name'],
      tokens: ['read:tokens'],
      'admin:groups': ['groups', 'read:roles:groups', 'delete:groups'],
      groups: ['read:groups', 'list:groups'],
      'list:groups': ['read:groups:name'],
      'read:groups': ['read:groups:name'],
      'admin:services': ['list:services', 'read:services', 'read:roles:services'],
      'list:services': ['read:services:name'],
      'read:services': ['read:services:name'],
      'users:shares': ['read:users:shares'],
      'groups:shares': ['read:groups:shares'],
      shares: ['access:servers', 'read:shares', 'users:shares', 'groups:shares'],
    };
    for (const name of JUPYTERHUB_5_SCOPES) {
      assertScopes(SCOPE_DEFINITIONS[name]!.subscopes ?? [], expected[name] ?? []);
    }
  });
});

describe('impliedScopes (precomputed closure)', () => {
  test('admin:users', () => {
    assertScopes(impliedScopes('admin:users'), [
      'admin:users', 'admin:auth_state', 'users', 'read:users', 'list:users', 'users:activity',
      'read:users:name', 'read:users:groups', 'read:users:activity', 'read:roles:users', 'delete:users',
    ]);
  });

  test('admin:servers', () => {
    assertScopes(impliedScopes('admin:servers'), [
      'admin:servers', 'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers', 'read:users:name',
    ]);
  });

  test('shares', () => {
    assertScopes(impliedScopes('shares'), [
      'shares', 'access:servers', 'read:shares', 'users:shares', 'read:users:shares', 'groups:shares', 'read:groups:shares',
    ]);
  });

  test('leaf scopes imply only themselves; unknown scopes nothing', () => {
    assert.deepEqual(impliedScopes('read:hub'), ['read:hub']);
    assert.deepEqual(impliedScopes('nope'), []);
  });

  test('scopeNames lists every defined scope', () => {
    for (const name of JUPYTERHUB_5_SCOPES) assert.ok(scopeNames().includes(name), name);
  });
});

describe('parseScope / isValidScope', () => {
  test('plain scope', () => {
    assert.deepEqual(parseScope('read:users'), { base: 'read:users', filter: null });
  });

  test('filters with values', () => {
    assert.deepEqual(parseScope('read:users!user=alice'), { base: 'read:users', filter: { kind: 'user', value: 'alice' } });
    assert.deepEqual(parseScope('servers!server=alice/gpu'), { base: 'servers', filter: { kind: 'server', value: 'alice/gpu' } });
    assert.deepEqual(parseScope('servers!server=alice/'), { base: 'servers', filter: { kind: 'server', value: 'alice/' } });
    assert.deepEqual(parseScope('read:groups!group=physics'), { base: 'read:groups', filter: { kind: 'group', value: 'physics' } });
    assert.deepEqual(parseScope('access:services!service=grader'), {
      base: 'access:services',
      filter: { kind: 'service', value: 'grader' },
    });
  });

  test('owner filters without a value', () => {
    assert.deepEqual(parseScope('read:users!user'), { base: 'read:users', filter: { kind: 'user', value: null } });
    assert.deepEqual(parseScope('access:servers!server'), { base: 'access:servers', filter: { kind: 'server', value: null } });
    assert.deepEqual(parseScope('access:services!service'), {
      base: 'access:services',
      filter: { kind: 'service', value: null },
    });
  });

  test('only the first = separates kind from value', () => {
    assert.deepEqual(parseScope('read:users!user=a=b'), { base: 'read:users', filter: { kind: 'user', value: 'a=b' } });
  });

  test('bad filters throw InvalidScopeError', () => {
    for (const s of ['read:users!group', 'read:users!role=x', 'read:users!user=', 'read:users!']) {
      assert.throws(() => parseScope(s), InvalidScopeError, s);
    }
  });

  test('formatScope is the inverse of parseScope', () => {
    for (const s of ['read:users', 'read:users!user', 'servers!server=alice/gpu', 'groups!group=x']) {
      const { base, filter } = parseScope(s);
      assert.equal(formatScope(base, filter), s);
    }
  });

  test('isValidScope', () => {
    for (const s of ['read:users', 'self', 'inherit', 'users!user', 'admin:servers!group=physics', 'access:servers!server']) {
      assert.ok(isValidScope(s), s);
    }
    for (const s of ['all', 'read:user', 'read:users!group', 'read:users!team=x', 'read:users!user=', 'start:server']) {
      assert.ok(!isValidScope(s), s);
    }
  });

  test("scopeError points from 'all' to 'inherit'", () => {
    assert.match(scopeError('all') ?? '', /inherit/);
    assert.match(scopeError('read:nothing') ?? '', /does not exist/);
    assert.equal(scopeError('read:users'), null);
  });

  test('describeScope', () => {
    assert.equal(describeScope('read:users'), SCOPE_DEFINITIONS['read:users']!.description);
    assert.equal(describeScope('read:users!user=alice'), SCOPE_DEFINITIONS['read:users']!.description);
    assert.equal(describeScope('nope'), undefined);
  });
});

describe('expandScopes', () => {
  test('adds implied subscopes', () => {
    assertScopes(expandScopes(['users']), [
      'users', 'read:users', 'list:users', 'users:activity', 'read:users:name', 'read:users:groups', 'read:users:activity',
    ]);
  });

  test('carries a filter down to every subscope', () => {
    assertScopes(expandScopes(['admin:users!group=x']), [
      'admin:users!group=x', 'admin:auth_state!group=x', 'users!group=x', 'read:users!group=x', 'list:users!group=x',
      'users:activity!group=x', 'read:users:name!group=x', 'read:users:groups!group=x', 'read:users:activity!group=x',
      'read:roles:users!group=x', 'delete:users!group=x',
    ]);
  });

  test('a server filter does not reach read:user* scopes', () => {
    assertScopes(expandScopes(['admin:servers!server=alice/gpu']), [
      'admin:servers!server=alice/gpu', 'admin:server_state!server=alice/gpu', 'servers!server=alice/gpu',
      'read:servers!server=alice/gpu', 'start:servers!server=alice/gpu', 'delete:servers!server=alice/gpu',
    ]);
    // JupyterHub drops even the scope itself: a user-model scope filtered by server means nothing
    assertScopes(expandScopes(['read:users:name!server=alice/']), []);
    // a user filter still reaches them
    assert.ok(expandScopes(['read:servers!user=alice']).has('read:users:name!user=alice'));
  });

  test('drops filtered scopes held unfiltered', () => {
    assertScopes(expandScopes(['read:users:name', 'read:users:name!user=alice']), ['read:users:name']);
    const expanded = expandScopes(['list:users', 'read:users!user=alice']);
    assert.ok(expanded.has('read:users:name'));
    assert.ok(!expanded.has('read:users:name!user=alice'));
    assert.ok(expanded.has('read:users!user=alice'));
  });

  test('several filters on one scope are kept side by side', () => {
    assertScopes(expandScopes(['read:users:name!user=a', 'read:users:name!group=g', 'read:users:name!user=b']), [
      'read:users:name!user=a', 'read:users:name!group=g', 'read:users:name!user=b',
    ]);
  });

  test('unknown scopes and unknown filters grant nothing', () => {
    assertScopes(expandScopes(['read:everything', 'read:users!team=x', 'read:users!group', 'read:users!user=']), []);
  });

  test('without a context, metascopes and owner filters are kept', () => {
    assertScopes(expandScopes(['self', 'inherit']), ['self', 'inherit']);
    assertScopes(expandScopes(['users:activity!user']), ['users:activity!user', 'read:users:activity!user']);
  });

  test('is idempotent', () => {
    const once = expandScopes(['admin:users!group=x', 'servers', 'tokens!user=bob']);
    assertScopes(expandScopes(once), once);
  });

  test('accepts any iterable and does not modify its input', () => {
    const input = new Set(['servers']);
    expandScopes(input);
    assertScopes(input, ['servers']);
    function* gen(): Generator<string> {
      yield 'tokens';
    }
    assertScopes(expandScopes(gen()), ['tokens', 'read:tokens']);
  });
});

describe('resolveSelf and owner filters', () => {
  const aliceSelf = [
    'read:users', 'read:users:name', 'read:users:groups', 'users:shares', 'read:users:shares', 'read:shares',
    'users:activity', 'read:users:activity', 'servers', 'start:servers', 'delete:servers', 'read:servers', 'tokens', 'read:tokens',
    'access:servers',
  ].map((s) => `${s}!user=alice`);

  test("'self' for a user is the user-filtered standard privileges", () => {
    assertScopes(resolveSelf(['self'], alice), aliceSelf);
  });

  test('SELF_SCOPES is closed under implication', () => {
    const expanded = expandScopes(SELF_SCOPES.map((s) => `${s}!user=alice`));
    assertScopes(expanded, aliceSelf);
  });

  test("'self' grants neither listing users nor admin of one's own servers", () => {
    const s = resolveSelf(['self'], alice);
    assert.ok(!checkScope(s, 'list:users', { user: 'alice' }));
    assert.ok(!checkScope(s, 'admin:server_state', { server: 'alice/' }));
    assert.ok(!checkScope(s, 'read:users', { user: 'bob' }));
  });

  test("'self' for a service is nothing", () => {
    assertScopes(resolveSelf(['self'], culler), []);
  });

  test('!user becomes the owning user; dropped for a service', () => {
    assertScopes(resolveSelf(['users:activity!user'], alice), ['users:activity!user=alice', 'read:users:activity!user=alice']);
    assertScopes(resolveSelf(['users:activity!user'], culler), []);
  });

  test('!service becomes the owning service, or the issuing service if there is one', () => {
    assertScopes(resolveSelf(['access:services!service'], culler), ['access:services!service=idle-culler']);
    assertScopes(resolveSelf(['access:services!service'], alice), []);
    assertScopes(expandScopes(['access:services!service'], { owner: alice, service: 'grader' }), [
      'access:services!service=grader',
    ]);
  });

  test('!server becomes the issuing server; dropped without one', () => {
    assertScopes(resolveSelf(['access:servers!server'], alice), []);
    assertScopes(expandScopes(['access:servers!server'], { owner: alice, server: 'alice/gpu' }), [
      'access:servers!server=alice/gpu',
    ]);
  });

  test('resolved filters and other scopes are left as they are', () => {
    assertScopes(resolveSelf(['read:users:name!user=bob', 'read:hub', 'inherit'], alice), [
      'read:users:name!user=bob', 'read:hub', 'inherit',
    ]);
  });

  test('unfiltered scopes absorb the self scopes', () => {
    const s = resolveSelf(['self', 'servers'], alice);
    assert.ok(s.has('servers') && s.has('read:servers') && s.has('delete:servers'));
    assert.ok(!s.has('servers!user=alice'));
    assert.ok(s.has('tokens!user=alice'));
  });
});

describe('parseScopes / unparseScopes / reduceScopes', () => {
  test('round trip', () => {
    const scopes = ['users', 'servers!server=a/x', 'servers!server=a/y', 'groups!group=g', 'groups!user=u'];
    const parsed = parseScopes(scopes);
    assert.equal(parsed.get('users'), 'all');
    assertScopes(unparseScopes(parsed), scopes);
  });

  test('unfiltered wins over filtered', () => {
    assert.equal(parseScopes(['users!user=a', 'users']).get('users'), 'all');
    assertScopes(reduceScopes(new Set(['access:services', 'access:services!service=x'])), ['access:services']);
  });

  test('refuses unresolved owner filters', () => {
    assert.throws(() => parseScopes(['users!user']), InvalidScopeError);
  });
});

describe('intersectScopes', () => {
  function both(a: string[], b: string[], expected: string[], lookup?: UserGroupsLookup): void {
    assertScopes(intersectScopes(a, b, lookup), expected);
    assertScopes(intersectScopes(b, a, lookup), expected);
  }

  test('empty sets', () => {
    both([], [], []);
    both([], ['users'], []);
  });

  test('unfiltered against filtered keeps the filter', () => {
    both(['read:users'], ['read:users!user=alice'], ['read:users!user=alice']);
    both(['read:users!group=x'], ['read:users'], ['read:users!group=x']);
  });

  test('different bases do not meet', () => {
    both(['read:users'], ['read:groups'], []);
  });

  test('same filter kind: values in common', () => {
    both(['users!user=a', 'users!user=b'], ['users!user=b', 'users!user=c'], ['users!user=b']);
    both(['read:groups!group=x'], ['read:groups!group=y'], []);
    both(['access:services!service=s'], ['access:services!service=s'], ['access:services!service=s']);
  });

  test('a server lies inside its owner', () => {
    both(['read:servers!user=abc'], ['read:servers!server=abc/xyz'], ['read:servers!server=abc/xyz']);
    both(['read:servers!user=abc'], ['read:servers!server=abcd/xyz'], []);
    both(['admin:servers!server=alice/'], ['admin:servers!user=alice'], ['admin:servers!server=alice/']);
    both(['servers!user=y'], ['servers!server=x/s'], []);
  });

  test('a user lies inside a group only with a group lookup', () => {
    const lookup = groupsFrom({ x: ['alice'] });
    both(['read:users!group=x'], ['read:users!user=alice'], [], undefined);
    both(['read:users!group=x'], ['read:users!user=alice'], ['read:users!user=alice'], lookup);
    both(['read:users!group=x'], ['read:users!user=bob'], [], lookup);
  });

  test("a server lies inside its owner's groups, with a lookup", () => {
    const lookup = groupsFrom({ gx: ['ux'], gy: ['uy'] });
    both(['read:users!group=gx'], ['read:users!server=ux/s'], ['read:users!server=ux/s'], lookup);
    both(['read:users!group=gx'], ['read:users!server=ux/s', 'read:users!user=uy'], ['read:users!server=ux/s'], lookup);
    both(['read:users!group=gy'], ['read:users!server=ux/s', 'read:users!user=uy'], ['read:users!user=uy'], lookup);
    both(['read:users!group=gx'], ['read:users!server=nobody/s'], [], lookup);
  });

  test('group > user > server in both directions at once', () => {
    const lookup = groupsFrom({ gx: ['ux'], gy: ['uy'] });
    both(
      ['read:servers!server=ux/s', 'read:servers!group=gy'],
      ['read:servers!server=uy/s', 'read:servers!user=ux'],
      ['read:servers!server=ux/s', 'read:servers!server=uy/s'],
      lookup,
    );
    both(
      ['read:servers!user=ux', 'read:servers!group=gy'],
      ['read:servers!user=uy', 'read:servers!group=gx'],
      ['read:servers!user=ux', 'read:servers!user=uy'],
      lookup,
    );
  });

  test('filters held on both sides survive', () => {
    both(['users!user=x', 'users!group=y'], ['users!user=x', 'users!group=y', 'users!user=z'], ['users!user=x', 'users!group=y']);
    both(['users!user=x', 'users!user=y', 'users!group=y'], ['users!user=x'], ['users!user=x']);
  });

  test('a service filter never meets a user filter', () => {
    both(['access:services!service=s'], ['access:services!user=s'], []);
  });

  test('looks each user up at most once', () => {
    let calls = 0;
    const lookup: UserGroupsLookup = (u) => {
      calls++;
      return u === 'alice' ? ['x'] : [];
    };
    intersectScopes(
      ['read:users!group=x', 'read:servers!group=x', 'servers!group=x'],
      ['read:users!user=alice', 'read:servers!user=alice', 'servers!server=alice/'],
      lookup,
    );
    assert.equal(calls, 1);
  });
});

describe('checkScope', () => {
  test('unfiltered scope covers everything, with or without a target', () => {
    const s = expandScopes(['admin:users']);
    assert.ok(checkScope(s, 'read:users'));
    assert.ok(checkScope(s, 'read:users', { user: 'anyone' }));
    assert.ok(checkScope(s, 'delete:users', { user: 'anyone', groups: ['g'] }));
    assert.ok(!checkScope(s, 'admin:servers'));
  });

  test('a filtered scope needs a target', () => {
    const s = expandScopes(['read:users!user=alice']);
    assert.ok(!checkScope(s, 'read:users'));
    assert.ok(checkScope(s, 'read:users', { user: 'alice' }));
  });

  test('!user covers the user and their servers only', () => {
    const s = expandScopes(['servers!user=alice']);
    assert.ok(checkScope(s, 'servers', { user: 'alice' }));
    assert.ok(checkScope(s, 'delete:servers', { server: 'alice/' }));
    assert.ok(checkScope(s, 'read:servers', { server: 'alice/gpu' }));
    assert.ok(!checkScope(s, 'servers', { user: 'bob' }));
    assert.ok(!checkScope(s, 'servers', { server: 'bob/' }));
    assert.ok(!checkScope(s, 'servers', { server: 'alicia/' }));
    assert.ok(!checkScope(s, 'admin:servers', { user: 'alice' }));
  });

  test('!server covers that server only', () => {
    const s = expandScopes(['access:servers!server=alice/gpu']);
    assert.ok(checkScope(s, 'access:servers', { server: 'alice/gpu' }));
    assert.ok(!checkScope(s, 'access:servers', { server: 'alice/' }));
    assert.ok(!checkScope(s, 'access:servers', { server: 'alice/gpu2' }));
    assert.ok(!checkScope(s, 'access:servers', { user: 'alice' }));
  });

  test('!group covers the group, its members and their servers', () => {
    const s = expandScopes(['groups!group=physics', 'servers!group=physics']);
    assert.ok(checkScope(s, 'read:groups', { group: 'physics' }));
    assert.ok(!checkScope(s, 'read:groups', { group: 'biology' }));
    assert.ok(checkScope(s, 'servers', { server: 'stu/', groups: ['chem', 'physics'] }));
    assert.ok(checkScope(s, 'read:users:name', { user: 'stu', groups: ['physics'] }));
    assert.ok(!checkScope(s, 'servers', { server: 'stu/', groups: ['chem'] }));
    assert.ok(!checkScope(s, 'servers', { server: 'stu/' }));
  });

  test('!service covers that service only', () => {
    const s = expandScopes(['read:services!service=grader']);
    assert.ok(checkScope(s, 'read:services:name', { service: 'grader' }));
    assert.ok(!checkScope(s, 'read:services', { service: 'other' }));
    assert.ok(!checkScope(s, 'read:services', { user: 'grader' }));
  });

  test('subscope vs superscope', () => {
    const s = expandScopes(['read:servers!server=alice/x']);
    assert.ok(checkScope(s, 'read:servers', { server: 'alice/x' }));
    assert.ok(!checkScope(s, 'servers', { server: 'alice/x' }));
  });

  test('a filter on the required scope acts as the target', () => {
    const s = expandScopes(['read:users!group=g', 'servers!user=alice']);
    assert.ok(checkScope(s, 'read:servers!server=alice/x'));
    assert.ok(checkScope(s, 'read:users!user=bob', { groups: ['g'] }));
    assert.ok(!checkScope(s, 'read:users!user=bob'));
    assert.ok(checkScope(expandScopes(['read:users']), 'read:users!user=anyone'));
    assert.throws(() => checkScope(s, 'read:users!user'), InvalidScopeError);
  });

  test('unresolved owner filters grant nothing', () => {
    const s = expandScopes(['read:users!user']);
    assert.ok(!checkScope(s, 'read:users', { user: 'user' }));
    assert.ok(!checkScope(s, 'read:users', { user: '' }));
  });
});

describe('scopeFilterFor and accessCovers', () => {
  test('unfiltered', () => {
    assert.deepEqual(scopeFilterFor(expandScopes(['users']), 'list:users'), { unfiltered: true });
  });

  test('nothing held: null', () => {
    assert.equal(scopeFilterFor(expandScopes(['read:users']), 'list:users'), null);
    assert.equal(scopeFilterFor(expandScopes(['list:users!user']), 'list:users'), null);
  });

  test('collects every filter kind', () => {
    const s = expandScopes([
      'list:users!user=a', 'list:users!group=g', 'list:users!server=b/x', 'list:users!service=s', 'list:users:extra!user=z',
    ]);
    const access = scopeFilterFor(s, 'list:users');
    assert.ok(access !== null && !access.unfiltered);
    assertScopes(access.users, ['a']);
    assertScopes(access.groups, ['g']);
    assertScopes(access.servers, ['b/x']);
    assertScopes(access.services, ['s']);
  });

  test('does not match a longer scope name with the same prefix', () => {
    const s = new Set(['read:users:name!user=a']);
    assert.equal(scopeFilterFor(s, 'read:users'), null);
  });

  test('accessCovers follows checkScope', () => {
    const s = expandScopes(['read:servers!user=a', 'read:servers!group=g', 'read:servers!server=b/x']);
    const access = scopeFilterFor(s, 'read:servers');
    const targets = [
      { user: 'a' }, { server: 'a/' }, { server: 'b/x' }, { server: 'b/' }, { user: 'c', groups: ['g'] },
      { server: 'c/', groups: ['h'] }, { group: 'g' }, { service: 'a' },
    ];
    for (const target of targets) {
      assert.equal(accessCovers(access, target), checkScope(s, 'read:servers', target), JSON.stringify(target));
    }
    assert.equal(accessCovers(null, { user: 'a' }), false);
    assert.equal(accessCovers({ unfiltered: true }, {}), true);
  });
});

describe('tokens', () => {
  const aliceHolds = resolveSelf(['self'], alice);

  test('identify and access scopes', () => {
    assertScopes(identifyScopes(alice), ['read:users:name!user=alice', 'read:users:groups!user=alice']);
    assertScopes(identifyScopes(culler), ['read:services:name!service=idle-culler']);
    assert.equal(accessScope({ server: 'alice/gpu' }), 'access:servers!server=alice/gpu');
    assert.equal(accessScope({ service: 'grader' }), 'access:services!service=grader');
  });

  test("'inherit' is the owner's scopes", () => {
    assertScopes(resolveTokenScopes(['inherit', 'admin:users'], aliceHolds, { owner: alice }), aliceHolds);
  });

  test('a token keeps the requested scopes its owner holds, plus identify', () => {
    const scopes = resolveTokenScopes(['read:servers!user', 'admin:server_state', 'read:hub'], aliceHolds, { owner: alice });
    assertScopes(scopes, [
      'read:servers!user=alice', 'read:users:name!user=alice', 'read:users:groups!user=alice',
    ]);
  });

  test("an unfiltered request narrows to the owner's filter", () => {
    const scopes = resolveTokenScopes(['read:users:activity'], aliceHolds, { owner: alice });
    assert.ok(scopes.has('read:users:activity!user=alice'));
    assert.ok(!scopes.has('read:users:activity'));
    const admin = resolveTokenScopes(['admin:users'], aliceHolds, { owner: alice });
    assert.deepEqual(sorted(admin), [
      'read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice',
      'read:users:name!user=alice', 'users:activity!user=alice',
    ]);
  });

  test('an OAuth token may use the server that issued it, if its owner may', () => {
    const viaServer = resolveTokenScopes(['read:users:name!user'], aliceHolds, { owner: alice, server: 'alice/gpu' });
    assert.ok(checkScope(viaServer, 'access:servers', { server: 'alice/gpu' }));
    assert.ok(!checkScope(viaServer, 'access:servers', { server: 'alice/' }));
    const bobsServer = resolveTokenScopes([], aliceHolds, { owner: alice, server: 'bob/' });
    assert.ok(!checkScope(bobsServer, 'access:servers', { server: 'bob/' }));
  });

  test('a token loses what its owner loses', () => {
    const before = resolveTokenScopes(['servers'], resolveSelf(['servers'], alice), { owner: alice });
    assert.ok(before.has('servers'));
    const after = resolveTokenScopes(['servers'], aliceHolds, { owner: alice });
    assert.ok(!after.has('servers') && after.has('servers!user=alice'));
  });

  test('group filters resolve through the lookup', () => {
    const holds = resolveSelf(['servers!group=physics'], { kind: 'user', name: 'teacher' });
    const lookup = groupsFrom({ physics: ['stu'] });
    const ctx = { owner: { kind: 'user', name: 'teacher' } as const, userGroups: lookup };
    assert.ok(resolveTokenScopes(['servers!user=stu'], holds, ctx).has('servers!user=stu'));
    assert.ok(!resolveTokenScopes(['servers!user=bio'], holds, ctx).has('servers!user=bio'));
  });

  test('excessTokenScopes', () => {
    assertScopes(excessTokenScopes(['inherit'], aliceHolds, { owner: alice }), []);
    assertScopes(excessTokenScopes(['read:users!user', 'tokens!user=alice'], aliceHolds, { owner: alice }), []);
    assertScopes(excessTokenScopes(['read:users:name!user=bob'], aliceHolds, { owner: alice }), ['read:users:name!user=bob']);
    assertScopes(excessTokenScopes(['tokens'], aliceHolds, { owner: alice }), ['tokens', 'read:tokens']);
    assertScopes(excessTokenScopes(['all'], aliceHolds, { owner: alice }), ['all']);
  });

  describe('resolveRequestedScopes', () => {
    const server = 'alice/salmon';
    const ctx = { owner: alice, server };

    test('raw scopes held as they are', () => {
      const r = resolveRequestedScopes(['read:users:name!user'], ['read:users:name!user=alice'], ctx);
      assertScopes(r.allowed, ['read:users:name!user']);
      assertScopes(r.disallowed, []);
    });

    test('a requested filter inside a held one', () => {
      let r = resolveRequestedScopes(['read:servers!server'], ['read:servers!user'], ctx);
      assertScopes(r.allowed, ['read:servers!server']);
      r = resolveRequestedScopes([`read:servers!server=${server}`], ['read:servers'], ctx);
      assertScopes(r.allowed, [`read:servers!server=${server}`]);
      assertScopes(r.disallowed, []);
    });

    test('held in part: the part is granted, the request refused', () => {
      const r = resolveRequestedScopes(['admin:servers!server'], ['read:servers'], ctx);
      assertScopes(r.allowed, [`read:servers!server=${server}`]);
      assertScopes(r.disallowed, ['admin:servers!server']);
    });

    test('not held at all', () => {
      const r = resolveRequestedScopes(['admin:servers', 'read:users'], ['read:users'], ctx);
      assertScopes(r.allowed, ['read:users']);
      assertScopes(r.disallowed, ['admin:servers']);
    });

    test('the server role for a user with only self', () => {
      const requested = ['users:activity!user', `access:servers!server=${server}`];
      const r = resolveRequestedScopes(requested, ['self', 'inherit'], { owner: alice });
      assertScopes(r.allowed, requested);
      assertScopes(r.disallowed, []);
    });

    test('invalid scopes are refused, even when listed as held', () => {
      const r = resolveRequestedScopes(['all', 'read:nothing'], ['all'], ctx);
      assertScopes(r.allowed, []);
      assertScopes(r.disallowed, ['all', 'read:nothing']);
    });
  });
});

describe('examples', () => {
  const teacher: ScopeOwner = { kind: 'user', name: 'teacher' };
  const membership: Record<string, string[]> = { physics: ['p1', 'p2', 'teacher'], biology: ['b1'] };
  const groupsOf = (u: string): string[] => groupsFrom(membership)(u) as string[];
  const teacherRole = [
    'admin:servers!group=physics', 'read:users!group=physics', 'list:users!group=physics', 'access:servers!group=physics',
  ];
  const held = expandScopes([...teacherRole, 'self'], { owner: teacher });

  test('a physics teacher acts on physics students only', () => {
    for (const scope of ['admin:server_state', 'servers', 'delete:servers', 'read:servers', 'access:servers']) {
      assert.ok(checkScope(held, scope, { server: 'p1/', groups: groupsOf('p1') }), scope);
      assert.ok(checkScope(held, scope, { server: 'p2/gpu', groups: groupsOf('p2') }), scope);
      assert.ok(!checkScope(held, scope, { server: 'b1/', groups: groupsOf('b1') }), scope);
    }
    assert.ok(checkScope(held, 'read:users', { user: 'p1', groups: groupsOf('p1') }));
    assert.ok(!checkScope(held, 'read:users', { user: 'b1', groups: groupsOf('b1') }));
    assert.ok(!checkScope(held, 'admin:users', { user: 'p1', groups: groupsOf('p1') }));
    assert.ok(!checkScope(held, 'delete:users', { user: 'p1', groups: groupsOf('p1') }));
    assert.ok(!checkScope(held, 'tokens', { user: 'p1', groups: groupsOf('p1') }));
    // the group filter is about the group's members, not the group resource's own scopes
    assert.ok(!checkScope(held, 'read:groups', { group: 'physics' }));
  });

  test('the teacher lists only physics users', () => {
    const access = scopeFilterFor(held, 'list:users');
    assert.ok(access !== null && !access.unfiltered);
    const all = ['p1', 'p2', 'teacher', 'b1', 'nogroup'];
    const visible = all.filter((u) => accessCovers(access, { user: u, groups: groupsOf(u) }));
    assert.deepEqual(visible, ['p1', 'p2', 'teacher']);
  });

  test("the teacher's own servers and tokens come from self", () => {
    assert.ok(checkScope(held, 'tokens', { user: 'teacher', groups: groupsOf('teacher') }));
    assert.ok(checkScope(held, 'access:servers', { server: 'teacher/' }));
  });

  test("a teacher's token for one student", () => {
    const scopes = resolveTokenScopes(['servers!user=p1', 'servers!user=b1'], held, {
      owner: teacher,
      userGroups: groupsFrom(membership),
    });
    assert.ok(checkScope(scopes, 'servers', { server: 'p1/' }));
    assert.ok(!checkScope(scopes, 'servers', { server: 'p2/', groups: groupsOf('p2') }));
    assert.ok(!checkScope(scopes, 'servers', { server: 'b1/', groups: groupsOf('b1') }));
  });

  const cullerScopes = ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'];
  const cullerHolds = expandScopes(cullerScopes, { owner: culler });

  test('the idle culler lists users, reads activity and servers, stops servers and deletes users', () => {
    assert.deepEqual(scopeFilterFor(cullerHolds, 'list:users'), { unfiltered: true });
    for (const scope of ['read:users:activity', 'read:servers', 'delete:servers', 'delete:users', 'read:users']) {
      assert.ok(checkScope(cullerHolds, scope, { server: 'anyone/', user: 'anyone' }), scope);
    }
  });

  test('the idle culler cannot start servers, use them, or read their state', () => {
    assert.ok(!checkScope(cullerHolds, 'servers', { server: 'a/' }));
    assert.ok(!checkScope(cullerHolds, 'access:servers', { server: 'a/' }));
    assert.ok(!checkScope(cullerHolds, 'admin:server_state', { server: 'a/' }));
    assert.ok(!checkScope(cullerHolds, 'tokens', { user: 'a' }));
  });

  test("the culler's own token can identify itself", () => {
    const token = resolveTokenScopes(['inherit'], cullerHolds, { owner: culler });
    assertScopes(token, cullerHolds);
    const narrow = resolveTokenScopes(['list:users'], cullerHolds, { owner: culler });
    assert.ok(narrow.has('list:users'));
    // identify scope is requested but not held by the service, so it is dropped
    assert.ok(!narrow.has('read:services:name!service=idle-culler'));
  });
});

describe('custom scopes', () => {
  test('defines scopes with custom subscopes', () => {
    defineCustomScopes({
      'custom:grader:read': { description: 'read grades' },
      'custom:grader:write': { description: 'write grades', subscopes: ['custom:grader:read'] },
    });
    assert.ok(isValidScope('custom:grader:write!group=physics'));
    assertScopes(expandScopes(['custom:grader:write!group=physics']), [
      'custom:grader:write!group=physics', 'custom:grader:read!group=physics',
    ]);
    assert.equal(describeScope('custom:grader:read'), 'read grades');
  });

  test('redefining identically is allowed', () => {
    defineCustomScopes({ 'custom:same': { description: 'x' } });
    defineCustomScopes({ 'custom:same': { description: 'x' } });
    assert.throws(() => defineCustomScopes({ 'custom:same': { description: 'y' } }), InvalidScopeError);
  });

  test('rejects bad definitions and defines nothing', () => {
    const bad: Record<string, Record<string, { description: string; subscopes?: string[] }>> = {
      builtin: { 'read:users': { description: 'override' } },
      prefix: { 'notcustom:x': { description: 'x' } },
      character: { 'custom:!x': { description: 'x' } },
      trailing: { 'custom:x-': { description: 'x' } },
      nondescript: { 'custom:nodesc': {} as { description: string } },
      builtinSub: { 'custom:a1': { description: 'x', subscopes: ['read:users'] } },
      missingSub: { 'custom:a2': { description: 'x', subscopes: ['custom:undefined'] } },
      partial: { 'custom:ok1': { description: 'fine' }, 'custom:bad!': { description: 'x' } },
    };
    for (const [why, defs] of Object.entries(bad)) {
      assert.throws(() => defineCustomScopes(defs), InvalidScopeError, why);
    }
    assert.ok(!isDefinedScope('custom:ok1'));
    assert.equal(describeScope('read:users'), SCOPE_DEFINITIONS['read:users']!.description);
  });
});

test('serverOwner', () => {
  assert.equal(serverOwner('alice/'), 'alice');
  assert.equal(serverOwner('alice/gpu'), 'alice');
  assert.equal(serverOwner('alice'), 'alice');
});

// How fast checks are is measured in bench/, not here; this checks that many checks stay right.
test('a group filter covers every member server, repeatedly', () => {
  const held = expandScopes(['self', 'admin:servers!group=physics', 'read:users!group=physics'], {
    owner: { kind: 'user', name: 'teacher' },
  });
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    if (checkScope(held, 'delete:servers', { server: `s${i % 50}/`, groups: ['chem', 'physics'] })) n++;
  }
  assert.equal(n, 1000);
  assert.ok(!checkScope(held, 'delete:servers', { server: 's1/', groups: ['chem'] }));
});

describe('docs/rbac.md', () => {
  test('lists every scope with its description', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/rbac.md', import.meta.url), 'utf8');
    for (const [name, def] of [...Object.entries(SCOPE_DEFINITIONS), ...Object.entries(GANYMEDE_SCOPE_DEFINITIONS)]) {
      assert.ok(doc.includes(`| \`${name}\` | ${def.description} |`), `docs/rbac.md lacks the scope ${name} (regenerate its table from src/rbac/scope-definitions.ts)`);
    }
  });
});
