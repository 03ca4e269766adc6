/**
 * What passkeys take from outside, checked before anything else looks at it: the relying party (the
 * hub's origin as the browser sees it), the name a person gives a passkey, and the browser's answer
 * to navigator.credentials.create()/get() as posted by src/web/static/passkeys.js. Pure functions.
 */
import { isIP } from 'node:net';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';

/** The WebAuthn relying party: its id (the host name) and the origin the browser must report. */
export interface RelyingParty {
  id: string;
  origin: string;
}

/**
 * The relying party of a hub reached at `origin` (`https://hub.example.org`, no path: the base URL
 * plays no part in WebAuthn), or null when its host is an IP address, which WebAuthn refuses as an id.
 */
export function relyingPartyOf(origin: string): RelyingParty | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host || isIP(host)) return null;
  return { id: host, origin: url.origin };
}

export const PASSKEY_NAME_MAX = 64;

/** A passkey's name, trimmed, or the problem with it (for the form). */
export function passkeyName(raw: unknown): { name: string } | { problem: string } {
  const name = typeof raw === 'string' ? raw.trim().replace(/\s+/g, ' ') : '';
  if (!name) return { problem: 'Give the passkey a name, e.g. "Laptop" or "Blue security key".' };
  if (name.length > PASSKEY_NAME_MAX) return { problem: `A passkey's name has at most ${PASSKEY_NAME_MAX} characters.` };
  if (/[\u0000-\u001f\u007f]/.test(name)) return { problem: "A passkey's name cannot hold control characters." };
  return { name };
}

/** Browsers' answers are a few kilobytes; anything far larger is not one. */
const MAX_RESPONSE_CHARS = 64 * 1024;

const base64url = z.string().min(1).max(MAX_RESPONSE_CHARS).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const credentialBase = {
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

const registrationSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
});

const authenticationSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
});

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_RESPONSE_CHARS) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The browser's answer to navigator.credentials.create(), or null when the field holds none. */
export function parseRegistrationResponse(text: unknown): RegistrationResponseJSON | null {
  const parsed = registrationSchema.safeParse(parseJson(text));
  return parsed.success ? (parsed.data as RegistrationResponseJSON) : null;
}

/** The browser's answer to navigator.credentials.get(), or null when the field holds none. */
export function parseAuthenticationResponse(text: unknown): AuthenticationResponseJSON | null {
  const parsed = authenticationSchema.safeParse(parseJson(text));
  return parsed.success ? (parsed.data as AuthenticationResponseJSON) : null;
}

/** The transports worth keeping from a registration (the browser's hints for later logins). */
export function knownTransports(list: readonly string[] | undefined): string[] {
  const known = new Set(['usb', 'nfc', 'ble', 'internal', 'hybrid', 'smart-card', 'cable']);
  return [...new Set((list ?? []).filter((t) => known.has(t)))];
}
