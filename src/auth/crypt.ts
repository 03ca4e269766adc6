/**
 * Encryption of `auth_state` at rest (AES-256-GCM, node:crypto), with keys from GANYMEDE_CRYPT_KEY:
 * one or more 32-byte keys, hex or base64, separated by `;` or `,` (as JupyterHub's
 * JUPYTERHUB_CRYPT_KEY). The first key encrypts; every key is tried to decrypt, so keys can be rotated
 * by putting the new one first and re-encrypting happens as users log in again.
 *
 * Stored form: `gcm1:` + base64(12-byte IV ‖ 16-byte tag ‖ ciphertext). GCM authenticates, so a
 * tampered or foreign value fails to decrypt rather than yielding garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JsonObject } from '../spawners/spawner.js';

const PREFIX = 'gcm1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Binds ciphertexts to their use: a value encrypted for something else does not decrypt as auth_state. */
const AAD = Buffer.from('ganymede auth_state');

export class CryptKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CryptKeyError';
  }
}

/** Parses GANYMEDE_CRYPT_KEY; throws CryptKeyError naming the bad entry (by position, never its value). */
export function parseCryptKeys(value: string): Buffer[] {
  const entries = value.split(/[;,\s]+/).filter(Boolean);
  if (entries.length === 0) throw new CryptKeyError('GANYMEDE_CRYPT_KEY is empty');
  return entries.map((entry, i) => {
    const key = /^[0-9a-fA-F]{64}$/.test(entry) ? Buffer.from(entry, 'hex') : Buffer.from(entry, 'base64');
    if (key.length !== 32) {
      throw new CryptKeyError(`GANYMEDE_CRYPT_KEY: key ${i + 1} is not 32 bytes in hex or base64 (make one with: openssl rand -hex 32)`);
    }
    return key;
  });
}

export class AuthStateCrypt {
  constructor(private readonly keys: readonly Buffer[]) {
    if (keys.length === 0) throw new CryptKeyError('no encryption key');
  }

  encrypt(state: JsonObject): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The decrypted state; throws CryptKeyError when no key opens it (rotated away, or tampered with). */
  decrypt(stored: string): JsonObject {
    if (!stored.startsWith(PREFIX)) throw new CryptKeyError('auth_state is not in the encrypted format');
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const body = raw.subarray(IV_BYTES + TAG_BYTES);
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(AAD);
        decipher.setAuthTag(tag);
        const text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
        return JSON.parse(text) as JsonObject;
      } catch {
        // wrong key: try the next
      }
    }
    throw new CryptKeyError('auth_state cannot be decrypted with any key in GANYMEDE_CRYPT_KEY');
  }
}
