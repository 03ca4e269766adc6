import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AuthStateCrypt, CryptKeyError, parseCryptKeys } from '../../src/auth/crypt.js';

const hexKey = () => randomBytes(32).toString('hex');

test('keys: hex and base64, several separated by ; or ,', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const keys = parseCryptKeys(`${a.toString('hex')};${b.toString('base64')}`);
  assert.deepEqual(keys, [a, b]);
  assert.equal(parseCryptKeys(`${hexKey()}, ${hexKey()}`).length, 2);
});

test('a bad key is named by position, not echoed', () => {
  assert.throws(() => parseCryptKeys(`${hexKey()};short-secret`), (err: Error) => {
    assert.ok(err instanceof CryptKeyError);
    assert.match(err.message, /key 2 is not 32 bytes/);
    assert.ok(!err.message.includes('short-secret'));
    return true;
  });
  assert.throws(() => parseCryptKeys('  '), /empty/);
});

test('round trip; the stored form shows nothing of the state', () => {
  const crypt = new AuthStateCrypt(parseCryptKeys(hexKey()));
  const state = { access_token: 'eyJ-secret-token', groups: ['physics'] };
  const stored = crypt.encrypt(state);
  assert.match(stored, /^gcm1:/);
  assert.ok(!stored.includes('secret') && !Buffer.from(stored.slice(5), 'base64').toString('latin1').includes('secret'));
  assert.deepEqual(crypt.decrypt(stored), state);
  assert.notEqual(crypt.encrypt(state), stored, 'a fresh IV each time');
});

test('rotation: the first key encrypts, every key decrypts', () => {
  const oldKey = hexKey();
  const newKey = hexKey();
  const before = new AuthStateCrypt(parseCryptKeys(oldKey)).encrypt({ n: 1 });
  const rotated = new AuthStateCrypt(parseCryptKeys(`${newKey};${oldKey}`));
  assert.deepEqual(rotated.decrypt(before), { n: 1 });
  const after = rotated.encrypt({ n: 2 });
  assert.deepEqual(new AuthStateCrypt(parseCryptKeys(newKey)).decrypt(after), { n: 2 });
  assert.throws(() => new AuthStateCrypt(parseCryptKeys(oldKey)).decrypt(after), CryptKeyError);
});

test('tampering is detected', () => {
  const crypt = new AuthStateCrypt(parseCryptKeys(hexKey()));
  const raw = Buffer.from(crypt.encrypt({ admin: false }).slice(5), 'base64');
  raw[raw.length - 1]! ^= 1;
  assert.throws(() => crypt.decrypt('gcm1:' + raw.toString('base64')), CryptKeyError);
  assert.throws(() => crypt.decrypt('{"admin": true}'), /not in the encrypted format/);
});
