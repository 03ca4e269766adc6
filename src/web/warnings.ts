/** What the user's hub pages warn about: their servers the idle culler is about to stop, and their courses that end soon. */
import type { HubContext } from '../http/context.js';
import type { ServerRow } from '../db/schema.js';
import { cullWarning } from '../hub/culler.js';
import { wallClock } from '../clock.js';
import type { CourseEndingView, CullWarningView } from './templates/warnings.js';

/** A course's end is announced to its participants this long before. */
const COURSE_ENDING_NOTICE_MS = 24 * 3600_000;

/** `courseTitles`: course servers by name (their slug), to call them by the course's title. */
export function cullWarningsOf(ctx: HubContext, servers: readonly ServerRow[], courseTitles: ReadonlyMap<string, string> = new Map()): CullWarningView[] {
  const settings = ctx.config.culler;
  const now = wallClock.now();
  const out: CullWarningView[] = [];
  for (const s of servers) {
    const warning = cullWarning(s, now, settings);
    if (!warning) continue;
    const course = courseTitles.get(s.name);
    out.push({
      serverName: s.name,
      label: course ? `Your course server for ${course}` : s.name ? `Your server ${s.name}` : 'Your server',
      at: new Date(warning.at).toISOString(),
      reason: warning.reason,
      idleMinutes: Math.round(settings.timeout / 60),
    });
  }
  return out;
}

/** The active courses among `courses` the user takes part in that end within a day. */
export function courseEndingsOf(courses: ReadonlyArray<{ title: string; state: string; endsAt: string; role: string | null; status: string | null }>): CourseEndingView[] {
  const now = wallClock.now();
  return courses
    .filter((c) => c.role === 'student' && c.status === 'accepted' && c.state === 'active')
    .filter((c) => Date.parse(c.endsAt) - now <= COURSE_ENDING_NOTICE_MS)
    .map((c) => ({ title: c.title, endsAt: c.endsAt }));
}
