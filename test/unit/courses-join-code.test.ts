import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { joinCode, joinCodeMatches, newJoinNonce } from '../../src/courses/join-code.js';
import { contentDirName } from '../../src/courses/content.js';
import { teacherScopes } from '../../src/courses/service.js';
import { checkScope, expandScopes } from '../../src/rbac/scopes.js';

const secret = randomBytes(32);

test('a join code is derived from the secret, the course and the nonce', () => {
  const nonce = newJoinNonce();
  const code = joinCode(secret, 1, nonce);
  assert.match(code, /^[a-z2-9]{10}$/);
  assert.equal(joinCode(secret, 1, nonce), code, 'the same every time: the teacher can see it again');
  assert.notEqual(joinCode(secret, 2, nonce), code, 'another course, another code');
  assert.notEqual(joinCode(secret, 1, newJoinNonce()), code, 'a new nonce rotates it');
  assert.notEqual(joinCode(randomBytes(32), 1, nonce), code, 'without the secret, no code');
});

test('a typed code matches ignoring case, spaces and dashes, and nothing else matches', () => {
  const nonce = newJoinNonce();
  const code = joinCode(secret, 7, nonce);
  assert.ok(joinCodeMatches(secret, 7, nonce, code));
  assert.ok(joinCodeMatches(secret, 7, nonce, ` ${code.slice(0, 5).toUpperCase()}-${code.slice(5)} `));
  assert.ok(!joinCodeMatches(secret, 7, nonce, code.slice(1)));
  assert.ok(!joinCodeMatches(secret, 7, nonce, ''));
  assert.ok(!joinCodeMatches(secret, 8, nonce, code));
});

test('content is cloned into a folder named after the repository, never outside', () => {
  assert.equal(contentDirName('https://github.com/uni/stats-material.git'), 'stats-material');
  assert.equal(contentDirName('git@gitlab.uni.example:course/intro'), 'intro');
  assert.equal(contentDirName('file:///srv/repos/notes/'), 'notes');
  assert.equal(contentDirName('https://example.org/..'), 'content');
  assert.equal(contentDirName('https://example.org/a%20b'), 'content');
});

test("teachers' scopes reach their course's participants only", () => {
  const scopes = expandScopes(teacherScopes('stats1'));
  const inCourse = { user: 'ann', groups: ['course-stats1'], server: 'ann/stats1' };
  assert.ok(checkScope(scopes, 'courses:manage', { group: 'course-stats1' }));
  assert.ok(checkScope(scopes, 'access:servers', inCourse));
  assert.ok(checkScope(scopes, 'servers', inCourse));
  assert.ok(!checkScope(scopes, 'courses:manage', { group: 'course-physics' }));
  assert.ok(!checkScope(scopes, 'access:servers', { user: 'bob', groups: ['course-physics'], server: 'bob/physics' }));
  assert.ok(!checkScope(scopes, 'courses:review', { group: 'course-stats1' }), 'teachers do not review their own course');
});
