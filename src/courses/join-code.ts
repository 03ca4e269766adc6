/**
 * Join codes are derived, not stored: HMAC(hub secret, course id + nonce). The teacher's page can
 * show the code at any time, the database holds nothing that lets anyone join, and rotating the
 * nonce invalidates every code handed out before.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Letters and digits people can read aloud and type on a phone (no 0/O, 1/l/I). */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 10;

export function newJoinNonce(): string {
  return randomBytes(16).toString('hex');
}

export function joinCode(secret: Buffer, courseId: number, nonce: string): string {
  const mac = createHmac('sha256', secret).update(`ganymede-course-join:${courseId}:${nonce}`).digest();
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[mac[i]! % ALPHABET.length];
  return code;
}

/** Constant-time comparison of a code someone typed (case and spaces ignored) with the course's. */
export function joinCodeMatches(secret: Buffer, courseId: number, nonce: string, given: string): boolean {
  const expected = Buffer.from(joinCode(secret, courseId, nonce));
  const typed = Buffer.from(given.trim().toLowerCase().replace(/[\s-]/g, ''));
  return typed.length === expected.length && timingSafeEqual(typed, expected);
}

/** Answers of a join attempt that count as a guess of the code: no course with it (404), an expired one (410). */
export const JOIN_CODE_FAILURES: readonly number[] = [404, 410];
