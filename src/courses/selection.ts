/** Which members a teacher's action on many participants (start, stop, push, message) applies to. */
import type { MemberWithName } from '../db/repos/courses.js';
import { HubError } from '../errors.js';

type Member = Pick<MemberWithName, 'role' | 'status'>;

function isAcceptedParticipant(m: Member): boolean {
  return m.role === 'student' && m.status === 'accepted';
}

/** The course's accepted participants among its members (not applicants, rejected ones or teachers). */
export function acceptedParticipants<M extends Member>(members: readonly M[]): M[] {
  return members.filter(isAcceptedParticipant);
}

/** The accepted participants (and teachers, when asked) to act on: all of them, or those named (each must be one). */
export function selectParticipants(members: MemberWithName[], users: unknown, slug: string, teachersToo = false): MemberWithName[] {
  const accepted = members.filter((m) => isAcceptedParticipant(m) || (teachersToo && m.role === 'teacher'));
  if (users === undefined || users === null) return accepted;
  if (!Array.isArray(users) || !users.every((u) => typeof u === 'string')) {
    throw new HubError(400, 'users must be a list of user names', {}, { errors: { users: 'A list of user names.' } });
  }
  const byName = new Map(accepted.map((m) => [m.user_name, m]));
  const unknown = users.filter((u) => !byName.has(u));
  if (unknown.length) throw new HubError(400, `Not accepted participants of course ${slug}: ${unknown.join(', ')}`, {}, { errors: { users: `Not accepted participants: ${unknown.join(', ')}` } });
  return [...new Set(users)].map((u) => byName.get(u)!);
}
