/**
 * The terms of use at joining: an application without the current version accepted is refused by
 * field; the version and time are recorded per participant and shown to the teachers. After the site
 * publishes a new version (a restart with another courses.terms_of_use.version), a participant's
 * next start is refused until they accept it, and the history says when they did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

type Member = { name: string; terms_version: string | null; terms_accepted_at: string | null };

test('participants accept the terms of use when they join, and a new version before their next start', { timeout: 120_000 }, async (t) => {
  const config = mockCourseHubConfig();
  const first = await startHub({ clock: {}, config });
  let hub = first;
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', 's1'] })).status, 201);
  const [teacher, gov, s1] = await Promise.all(['teacher', 'gov', 's1'].map((n) => userToken(hub, n)));
  const created = await as(teacher!)('/courses', 'POST', courseBody('stats1', 2 * DAY, 10 * DAY, { expected_participants: 3 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(gov!)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await as(teacher!)('/courses/stats1')).json.join.code as string;

  const without = await as(s1!)('/courses/stats1/participants', 'POST', { code });
  assert.equal(without.status, 400);
  assert.equal(without.json.errors.accepted_terms_version, 'Accept the terms of use (version 2026-1).');
  const old = await as(s1!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2025-9' });
  assert.equal(old.status, 400, 'only the current version counts');
  assert.equal(((await as(teacher!)('/courses/stats1/participants')).json as Member[]).some((m) => m.name === 's1'), false, 'a refused application records nothing');

  const joined = await as(s1!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' });
  assert.equal(joined.status, 202, joined.text);
  const member = ((await as(teacher!)('/courses/stats1/participants')).json as Member[]).find((m) => m.name === 's1')!;
  assert.equal(member.terms_version, '2026-1');
  assert.ok(Math.abs(Date.parse(member.terms_accepted_at!) - hub.now()) < MINUTE, `accepted just now: ${member.terms_accepted_at}`);
  assert.equal((await as(teacher!)('/courses/stats1/participants/accept', 'POST', { users: ['s1'] })).status, 200);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);
  assert.ok([201, 202].includes((await as(s1!)('/users/s1/servers/stats1', 'POST')).status));
  await waitFor(async () => (await as(s1!)('/users/s1')).json.servers?.stats1?.ready === true, 30_000, "s1's course server");
  assert.equal((await as(s1!)('/users/s1/servers/stats1', 'DELETE')).status, 204);

  // The site publishes version 2027-1; the hub restarts on the same data, at the same time.
  await hub.stop();
  hub = await startHub({
    dataDir: first.dataDir,
    clock: { offsetMs: first.now() - Date.now() },
    config: { ...config, bind_url: first.url, courses: { ...(config.courses as object), terms_of_use: { version: '2027-1' } } },
  });
  const refused = await as(s1!)('/users/s1/servers/stats1', 'POST');
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.json.message, /terms of use of Statistics stats1 are new \(version 2027-1\)/);
  assert.equal((await as(s1!)('/courses/stats1/terms', 'POST', { accepted_terms_version: '2026-1' })).status, 400, 'the old version does not do');
  const accepted = await as(s1!)('/courses/stats1/terms', 'POST', { accepted_terms_version: '2027-1' });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.json.terms_version, '2027-1');
  assert.ok([201, 202].includes((await as(s1!)('/users/s1/servers/stats1', 'POST')).status), 'starts again once accepted');
  const history = (await as(teacher!)('/courses/stats1/events')).json as Array<{ actor: string; action: string; detail: string }>;
  assert.ok(history.some((e) => e.actor === 's1' && e.action === 'accept_terms' && e.detail === 'version 2027-1'));
  assert.equal((await as(teacher!)('/courses/stats1/terms', 'POST', { accepted_terms_version: '2027-1' })).status, 404, 'teachers accept the terms with their request, not here');
});
