/**
 * How a site places its hub, through a hub process started with that config, as a site runs it
 * behind a reverse proxy:
 *  - public_url: the course links people receive (e-mail, join link) point there, not at bind_url;
 *  - trusted_proxies: X-Forwarded-Proto and -Host are believed from a listed proxy only, which
 *    decides the OAuth redirect URI sent to the identity provider and the cookies' Secure flag;
 *  - db_url: the database is the file it names, and a restart on it (even with a new data_dir)
 *    keeps the users; a URL the hub cannot use stops the start with a config error.
 * One hub serves the tests in order; the db_url test restarts it last.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { runCli, startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';
import { courseBody } from '../helpers/courses.js';
import { requestFrom } from '../helpers/http-from.js';
import { freePort } from '../helpers/ports.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const PUBLIC = 'https://hub.example.org/';
/** The reverse proxy the config trusts; 127.0.0.1, trusted by default, is an ordinary client here. */
const PROXY = '127.0.0.2';
const DIRECT = '127.0.0.1';

let sink: SmtpSink;
let scratch: TempDir;
let dbFile: string;
let hub: HubProcess;

/** The site's config; `port` varies between the start and the restart. */
function siteConfig(port: number): Record<string, unknown> {
  return {
    bind_url: `http://127.0.0.1:${port}/jh/`,
    public_url: PUBLIC,
    trusted_proxies: [PROXY],
    db_url: `sqlite:///${dbFile}`,
    authenticator: { class: 'github', github: { client_id: 'Iv1.deployment', client_secret: 'not-used-here' } },
    services: [{ name: 'test-admin', api_token: ADMIN_TOKEN }],
    load_roles: [
      { name: 'admin', services: ['test-admin'] },
      { name: 'course-requester', users: ['teacher'] },
    ],
    courses: {
      enabled: true,
      environments: { python: { description: 'Python 3' } },
      terms_of_use: { version: '2026-1' },
      scheduler_interval: 3600,
      smtp: { host: '127.0.0.1', port: sink.port, from: 'Courses <courses@hub.example.org>', governance: ['board@uni.example'], retries: 2, retry_delay: 0.5 },
    },
  };
}

before(async () => {
  sink = await startSmtpSink();
  scratch = await tempDir('ganymede-deploy-');
  dbFile = path.join(scratch.path, 'databases', 'hub.sqlite');
  hub = await startHub({ config: siteConfig(await freePort()) });
});
after(async () => {
  await hub?.stop();
  await sink?.close();
  await scratch?.cleanup();
});

test('course links in e-mails and the join link point at public_url', async () => {
  const token = (await hub.api('/users/teacher/tokens', { method: 'POST', token: ADMIN_TOKEN, body: {} })).json.token as string;
  const requested = await hub.api('/courses', { method: 'POST', token, body: courseBody('deploy-stats', 7 * DAY, 30 * DAY) });
  assert.equal(requested.status, 201, requested.text);

  const mail = await sink.waitFor((m) => m.text.includes('deploy-stats'), 30_000);
  assert.deepEqual(mail.to, ['board@uni.example']);
  assert.ok(mail.text.includes('https://hub.example.org/jh/hub/courses/deploy-stats'), mail.text);
  assert.ok(!mail.text.includes('127.0.0.1'), `no link to the bind address: ${mail.text}`);

  const course = await hub.api('/courses/deploy-stats', { token });
  assert.equal(course.status, 200, course.text);
  assert.match(course.json.join.url, /^https:\/\/hub\.example\.org\/jh\/hub\/courses\/deploy-stats\/join\?code=[\w-]+$/);
});

test('X-Forwarded-Proto and -Host are believed from a trusted proxy only: the OAuth redirect URI and the Secure cookie', async () => {
  const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hub.example.org' };
  const viaProxy = await requestFrom(PROXY, `${hub.url}hub/oauth_login`, { headers: forwarded });
  assert.equal(viaProxy.status, 302);
  const toGithub = new URL(viaProxy.headers.location!);
  assert.equal(toGithub.origin + toGithub.pathname, 'https://github.com/login/oauth/authorize');
  assert.equal(toGithub.searchParams.get('redirect_uri'), 'https://hub.example.org/jh/hub/oauth_callback');
  assert.match(cookieNamed(viaProxy.cookies, 'ganymede-login-state'), /; Secure(;|$)/, 'https at the proxy: the cookie is Secure');

  // The same headers from a client that is not a trusted proxy (127.0.0.1, which the default would trust).
  const direct = await requestFrom(DIRECT, `${hub.url}hub/oauth_login`, { headers: { ...forwarded, 'X-Forwarded-Host': 'evil.example' } });
  assert.equal(direct.status, 302);
  assert.equal(new URL(direct.headers.location!).searchParams.get('redirect_uri'), `${hub.url}hub/oauth_callback`);
  assert.doesNotMatch(cookieNamed(direct.cookies, 'ganymede-login-state'), /Secure/, 'plain http: the cookie is not Secure');
});

test('the database is the file db_url names, and a restart on it with a new data_dir keeps the users', async () => {
  assert.ok(existsSync(dbFile), `the database is at ${dbFile}`);
  assert.ok(!existsSync(path.join(hub.dataDir, 'ganymede.sqlite')), 'nothing in data_dir');
  assert.equal((await hub.api('/users/dora', { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  assert.equal(await hub.stop(), 0);

  hub = await startHub({ config: siteConfig(await freePort()) });
  assert.equal((await hub.api('/users/dora', { token: ADMIN_TOKEN })).status, 200, 'dora is still there');
  const courses = await hub.api('/courses', { token: ADMIN_TOKEN });
  assert.deepEqual(courses.json.map((c: { slug: string }) => c.slug), ['deploy-stats']);
});

test('a db_url the hub cannot use stops the start with exit code 2 and a message naming the key and the file', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['postgresql://hub:s3cret@db.example/hub', /db_url: unsupported database URL "postgresql:\/\/\*\*\*@db\.example\/hub" \(supported: sqlite:\/\/\/path\)/],
    ['sqlite:///', /db_url: "sqlite:\/\/\/" names no database file/],
    // A directory, where a file is needed.
    [`sqlite:///${scratch.path}`, new RegExp(`db_url: cannot open the database ${scratch.path}: `)],
  ];
  // bind_url is a port this test holds: a start that wrongly got past the database exits there
  // (code 1) instead of running on.
  // The hub starts as root and drops to ganymede, which must be able to reach each data_dir.
  await chmod(scratch.path, 0o755);
  const held = net.createServer();
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  t.after(() => held.close());
  const heldPort = (held.address() as AddressInfo).port;
  const results = await Promise.all(
    cases.map(async ([dbUrl], i) => {
      const configFile = path.join(scratch.path, `bad-${i}.yaml`);
      await writeFile(configFile, stringify({ bind_url: `http://127.0.0.1:${heldPort}/`, data_dir: path.join(scratch.path, `bad-${i}`), log_level: 'warn', db_url: dbUrl }));
      return { configFile, ...(await runCli(['start', '--config', configFile])) };
    }),
  );
  for (const [i, [dbUrl, message]] of cases.entries()) {
    const { code, stderr, configFile } = results[i]!;
    assert.equal(code, 2, `${dbUrl}: ${stderr}`);
    assert.ok(stderr.startsWith(`ganymede: ${configFile}: db_url: `), `${dbUrl}: names the file and the key: ${stderr}`);
    assert.match(stderr, message);
    assert.doesNotMatch(stderr, /\n\s+at /, `${dbUrl}: no stack trace`);
    assert.ok(!stderr.includes('s3cret'), 'the password is not shown');
  }
});

function cookieNamed(cookies: string[], name: string): string {
  const found = cookies.find((c) => c.startsWith(`${name}=`));
  assert.ok(found, `a ${name} cookie among ${JSON.stringify(cookies)}`);
  return found!;
}
