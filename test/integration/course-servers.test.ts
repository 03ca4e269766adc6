/**
 * The teacher's control room through the API: the participants' course servers with their state and
 * memory and CPU use (each server under its own uid, in its own cgroup), start all with progress
 * events (two of the five servers the real jupyterhub-singleuser), stop all with a result each, one
 * participant by name; participants and tokens without the servers scope start nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';
import { singleUserServerDefaults } from '../../src/config/single-user-server.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const PARTICIPANTS = ['p1', 'p2', 'p3', 'p4', 'p5'];

type Result = { user: string; result: string; message?: string };
type Row = { user: string; server: { state: string; memory_bytes: number | null; cpu_seconds: number | null } };

function events(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
}

test("a teacher starts and stops all participants' course servers, with a result for each", { timeout: 300_000 }, async (t) => {
  const base = mockCourseHubConfig();
  const hub = await startHub({
    clock: {},
    config: {
      ...base,
      spawner: { ...(base.spawner as object), run_as: 'dynamic', start_timeout: 90, http_timeout: 60 },
      courses: {
        ...(base.courses as object),
        environments: {
          python: {
            description: 'Python 3',
            cmd: [path.resolve('test/fixtures/real-or-mock-server.sh')],
            environment: {
              REAL_SERVER_USERS: 'p1 p2',
              REAL_SERVER_CMD: singleUserServerDefaults().cmd[0]!,
              MOCK_NODE: process.execPath,
              MOCK_SERVER: path.resolve('test/fixtures/mock-singleuser.mjs'),
            },
          },
        },
      },
    },
  });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown, headers?: Record<string, string>) => hub.api(p, { method, token, body, headers });
  const names = ['teacher', 'gov', ...PARTICIPANTS];
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: names })).status, 201);
  const tokens = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await userToken(hub, n)] as const)));
  const teacher = as(tokens.teacher!);
  const created = await teacher('/courses', 'POST', courseBody('lab', 2 * DAY, 10 * DAY, { expected_participants: 5 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(tokens.gov!)('/courses/lab/approve', 'POST', {})).status, 200);
  const code = (await teacher('/courses/lab')).json.join.code as string;
  for (const p of PARTICIPANTS) assert.equal((await as(tokens[p]!)('/courses/lab/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await teacher('/courses/lab/participants/accept', 'POST', { users: PARTICIPANTS })).status, 200);

  const early = await teacher('/courses/lab/servers/start', 'POST', {});
  assert.equal(early.status, 409, 'no start before the course is active');
  assert.match(early.json.message, /only while it is active/);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);

  const listed = (await teacher('/courses/lab/servers')).json as Row[];
  assert.deepEqual(listed.map((r) => [r.user, r.server.state]).sort(), PARTICIPANTS.map((p) => [p, 'stopped']));

  // Participants manage nothing; unknown names are refused before anything starts.
  assert.equal((await as(tokens.p3!)('/courses/lab/servers/start', 'POST', {})).status, 403);
  const unknown = await teacher('/courses/lab/servers/start', 'POST', { users: ['p1', 'gov'] });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.message, /Not accepted participants of course lab: gov/);

  // Start all, as the page does it: one event per participant as each is done, then every result.
  const started = await teacher('/courses/lab/servers/start', 'POST', {}, { Accept: 'text/event-stream' });
  assert.equal(started.status, 200, started.text);
  assert.match(started.headers.get('content-type') ?? '', /text\/event-stream/);
  const stream = events(started.text);
  const perUser = stream.filter((e) => !e.done) as unknown as Result[];
  assert.deepEqual(perUser.map((e) => e.user).sort(), PARTICIPANTS);
  for (const e of perUser) assert.ok(['ready', 'starting'].includes(e.result), `${e.user}: ${e.result} ${e.message ?? ''}`);
  const last = stream.at(-1)!;
  assert.equal(last.done, true);
  assert.deepEqual((last.results as Result[]).map((r) => r.user), PARTICIPANTS, 'the final event lists everyone, in the participants’ order');

  await waitFor(async () => ((await teacher('/courses/lab/servers')).json as Row[]).every((r) => r.server.state === 'running'), 120_000, 'every course server running');
  // The two real servers answer as jupyterhub-singleuser does, through the proxy, to the teacher.
  for (const p of ['p1', 'p2']) {
    const res = await fetch(`${hub.url}user/${p}/lab/api`, { headers: { Authorization: `token ${tokens.teacher}` } });
    assert.equal(res.status, 200, `${p}'s server`);
    const body = (await res.json()) as { version?: string };
    assert.ok(body.version && body.version !== 'mock', `${p} runs the real server (version ${body.version})`);
  }
  const running = (await teacher('/courses/lab/servers')).json as Row[];
  for (const r of running) {
    assert.ok(typeof r.server.memory_bytes === 'number' && r.server.memory_bytes > 0, `${r.user}'s memory from its cgroup: ${r.server.memory_bytes}`);
    assert.equal(typeof r.server.cpu_seconds, 'number');
  }
  const again = await teacher('/courses/lab/servers/start', 'POST', { users: ['p3'] });
  assert.deepEqual(again.json.results, [{ user: 'p3', result: 'already running' }]);

  // Stop one by name, then all: each reported, and the history says who did what.
  const one = await teacher('/courses/lab/servers/stop', 'POST', { users: ['p4'] });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.results.length, 1);
  assert.ok(['stopped', 'stopping'].includes(one.json.results[0].result));
  const all = await teacher('/courses/lab/servers/stop', 'POST', {});
  assert.equal(all.status, 200, all.text);
  const results = all.json.results as Result[];
  assert.deepEqual(results.map((r) => r.user), PARTICIPANTS);
  for (const r of results) assert.ok(['stopped', 'stopping', 'not running'].includes(r.result), `${r.user}: ${r.result}`);
  await waitFor(async () => ((await teacher('/courses/lab/servers')).json as Row[]).every((r) => r.server.state === 'stopped'), 60_000, 'every course server stopped');
  for (const p of PARTICIPANTS) assert.equal((await as(ADMIN_TOKEN)(`/users/${p}`)).json.servers?.lab, undefined, `${p}'s server is gone`);
  const history = (await teacher('/courses/lab/events')).json as Array<{ actor: string; action: string; detail: string }>;
  assert.ok(history.some((e) => e.actor === 'teacher' && e.action === 'start_servers' && /ready|starting/.test(e.detail)));
  assert.ok(history.some((e) => e.actor === 'teacher' && e.action === 'stop_servers'));

  // A teacher's token without the servers scope manages the course but starts nobody's server.
  const narrow = await as(ADMIN_TOKEN)('/users/teacher/tokens', 'POST', { scopes: ['courses:manage!group=course-lab', 'read:courses!group=course-lab'] });
  assert.equal(narrow.status, 201, narrow.text);
  const refused = await as(narrow.json.token as string)('/courses/lab/servers/start', 'POST', { users: ['p5'] });
  assert.equal(refused.status, 200, refused.text);
  assert.equal(refused.json.results[0].result, 'refused');
  assert.equal((await as(ADMIN_TOKEN)('/users/p5')).json.servers?.lab, undefined);
});
