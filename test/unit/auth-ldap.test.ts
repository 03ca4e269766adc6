import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeDnValue } from '../../src/auth/ldap.js';

test('DN values are escaped as RFC 4514 says', () => {
  assert.equal(escapeDnValue('ada'), 'ada');
  assert.equal(escapeDnValue('ada,ou=admins'), 'ada\\,ou\\=admins');
  assert.equal(escapeDnValue('a+b"c\\d<e>f;g'), 'a\\+b\\"c\\\\d\\<e\\>f\\;g');
  assert.equal(escapeDnValue('#hash'), '\\#hash');
  assert.equal(escapeDnValue(' lead'), '\\ lead');
  assert.equal(escapeDnValue('trail '), 'trail\\ ');
  assert.equal(escapeDnValue('nul\u0000'), 'nul\\00');
});
