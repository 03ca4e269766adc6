/**
 * A security key in software, for tests that speak to the hub without a browser: it answers WebAuthn
 * options as navigator.credentials.create()/get() would (ES256 keys, "none" attestation, a signature
 * counter), in the JSON shape src/web/static/passkeys.js posts. Tests can also make it misbehave:
 * report another origin, or send a counter that went back (a cloned key).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

type Held = { privateKey: KeyObject; rpId: string; counter: number };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();
const b64url = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

// Flags of authenticator data: user present, user verified, attested credential data included.
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export class SoftAuthenticator {
  readonly held = new Map<string, Held>();

  /** Answers registration options as the browser at `origin` would; returns the JSON and the new credential's id. */
  create(options: PublicKeyCredentialCreationOptionsJSON, origin: string): { json: RegistrationResponseJSON; id: string } {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    // COSE_Key: kty EC2, alg ES256, crv P-256, x, y.
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const credentialId = randomBytes(32);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([UP | UV | AT]), counterBytes(0), Buffer.alloc(16), idLength, credentialId, Buffer.from(isoCBOR.encode(cose))]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as Parameters<typeof isoCBOR.encode>[0]);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false });
    const id = b64url(credentialId);
    this.held.set(id, { privateKey, rpId, counter: 0 });
    return {
      id,
      json: {
        id,
        rawId: id,
        type: 'public-key',
        response: { clientDataJSON: b64url(Buffer.from(clientDataJSON)), attestationObject: b64url(attestationObject), transports: ['usb'] },
        clientExtensionResults: {},
      },
    };
  }

  /**
   * Answers login options with `credentialId` (default: the first allowed one this key holds), as the
   * browser at `origin` would. `counter`: the value to report (default: one more than the last).
   */
  get(options: PublicKeyCredentialRequestOptionsJSON, origin: string, opts: { credentialId?: string; counter?: number } = {}): AuthenticationResponseJSON {
    const id = opts.credentialId ?? (options.allowCredentials ?? []).map((c) => c.id).find((c) => this.held.has(c));
    const held = id === undefined ? undefined : this.held.get(id);
    if (!id || !held) throw new Error('this authenticator holds none of the allowed credentials');
    held.counter = opts.counter ?? held.counter + 1;
    const authData = Buffer.concat([sha256(options.rpId ?? held.rpId), Buffer.from([UP | UV]), counterBytes(held.counter)]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), held.privateKey);
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature) },
      clientExtensionResults: {},
    };
  }
}
