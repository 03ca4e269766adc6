/**
 * Course e-mail over TLS through the door a site uses: a hub started with `courses.smtp` in its
 * config file (`secure: true`, `tls_ca_file`) sends the notice of a course request made through the
 * API to a real SMTP server that speaks TLS from the first byte, with a certificate signed by a
 * throwaway CA that only `tls_ca_file` makes trusted. The other TLS cases (STARTTLS, an untrusted
 * certificate refused, `tls_reject_unauthorized: false`, an unreadable CA file) are in
 * course-mailer.test.ts, against the mailer the hub builds from the same settings: each needs a
 * config of its own, and a hub per case would cost a hub start each for no other code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { makeTlsCertificates, startSmtpSink, type TlsCertificates } from '../helpers/smtp-sink.js';
import { courseBody } from '../helpers/courses.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const GOVERNANCE = 'governance@uni.example';

let certs: TlsCertificates;
let certDir: TempDir;
before(async () => {
  certDir = await tempDir('ganymede-smtp-tls-');
  certs = makeTlsCertificates(certDir.path);
});
after(() => certDir.cleanup());

test('with secure: true and tls_ca_file, a course notice goes over TLS from the first byte', { timeout: 90_000 }, async (t) => {
  const sink = await startSmtpSink({ tls: { key: certs.key, cert: certs.cert, mode: 'implicit' } });
  t.after(() => sink.close());
  const admin = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...admin,
      authenticator: { class: 'dummy' },
      load_roles: [...(admin.load_roles as object[]), { name: 'course-requester', users: ['teacher'] }],
      courses: {
        enabled: true,
        environments: { python: { description: 'Python 3' } },
        terms_of_use: { version: '2026-1' },
        scheduler_interval: 3600,
        smtp: { host: '127.0.0.1', port: sink.port, secure: true, tls_ca_file: certs.caFile, from: 'Jupyter courses <jupyter@uni.example>', governance: [GOVERNANCE], retries: 0 },
      },
    },
  });
  t.after(() => hub.stop());

  // load_roles made the user `teacher`.
  const token = (await hub.api('/users/teacher/tokens', { method: 'POST', token: ADMIN_TOKEN, body: {} })).json.token as string;
  const created = await hub.api('/courses', { method: 'POST', token, body: courseBody('tls1', 7 * DAY, 28 * DAY) });
  assert.equal(created.status, 201, created.text);
  // The notice arrives, or the hub gives it up at once (retries: 0): whichever comes first.
  const log = () => hub.stdout() + hub.stderr();
  await waitFor(() => sink.messages.length > 0 || log().includes('course notice not sent'), 30_000, 'the notice sent or given up');
  const mail = sink.messages.find((m) => m.subject.includes('tls1'));
  assert.ok(mail, `no notice arrived; the hub's log:\n${log()}`);
  assert.deepEqual(mail.to, [GOVERNANCE]);
  assert.equal(mail.subject, '[Course tls1] New course request: Statistics tls1');
  assert.match(mail.tls ?? 'plain text', /^TLSv1\.[23]$/, 'the session was encrypted');
});
