/**
 * Course notices by e-mail, against a real SMTP server: delivery, retries, a dead server, no config,
 * and TLS over STARTTLS (a certificate checked against tls_ca_file, an untrusted one refused, the
 * check turned off). The hub reads `courses.smtp` with the same schema and builds this same mailer
 * (createNotifier); course-mail-tls.test.ts sends over TLS through a hub's config file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { smtpSchema, type SmtpConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { createNotifier, MailNotifier } from '../../src/courses/mailer.js';
import { NO_NOTIFIER, type NoticeData } from '../../src/courses/notices.js';
import { freePort } from '../helpers/ports.js';
import { makeTlsCertificates, startSmtpSink, type SmtpSink, type TlsCertificates } from '../helpers/smtp-sink.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const data: NoticeData = {
  course: {
    slug: 'stats1',
    title: 'Statistics 1',
    starts_at: '2027-02-01T08:00:00.000Z',
    ends_at: '2027-05-31T16:00:00.000Z',
    state: 'approved',
    url: 'https://hub.example.org/hub/courses/stats1',
  },
  actor: 'gov-anna',
};

type LogLine = Record<string, unknown>;

/** A logger whose lines are kept, parsed, in `lines`; `next` resolves at the first line that matches. */
function capturedLog(): { log: Logger; lines: LogLine[]; next(predicate: (line: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of waiters) waiter(line);
      }
      callback();
    },
  });
  return {
    log: pino({ level: 'debug' }, stream),
    lines,
    next(predicate) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const waiter = (line: LogLine) => {
          if (!predicate(line)) return;
          waiters.delete(waiter);
          resolve(line);
        };
        waiters.add(waiter);
      });
    },
  };
}

const levelOf = { warn: 40, error: 50, info: 30 } as const;

function smtpFor(port: number, extra: Partial<SmtpConfig> = {}): SmtpConfig {
  return smtpSchema.parse({ host: '127.0.0.1', port, from: 'Courses <courses@hub.example.org>', retries: 2, retry_delay: 0.05, ...extra });
}

let sink: SmtpSink;
before(async () => {
  sink = await startSmtpSink();
});
after(async () => {
  await sink.close();
});

test('a notice reaches every recipient once, in one message', async () => {
  const { log, lines } = capturedLog();
  const notifier = createNotifier(smtpFor(sink.port), log);
  assert.ok(notifier instanceof MailNotifier);
  const before = sink.messages.length;
  notifier.notify('approved', ['teacher@uni.example', 'co@uni.example', 'Teacher@uni.example', ' '], data);
  await notifier.idle();
  assert.equal(sink.messages.length, before + 1);
  const message = await sink.waitFor((m) => m.subject.includes('approved'));
  assert.deepEqual(message.to, ['teacher@uni.example', 'co@uni.example']);
  assert.equal(message.from, 'courses@hub.example.org');
  assert.equal(message.subject, '[Course stats1] Your course request was approved');
  assert.ok(message.text.includes('https://hub.example.org/hub/courses/stats1'));
  assert.equal(message.headers.get('auto-submitted'), 'auto-generated');
  const sent = lines.find((l) => l.msg === 'course notice sent');
  assert.deepEqual({ notice: sent?.notice, course: sent?.course, to_count: sent?.to_count, level: sent?.level }, { notice: 'approved', course: 'stats1', to_count: 2, level: levelOf.info });
  await notifier.close();
});

test('no recipients: nothing is sent', async () => {
  const notifier = createNotifier(smtpFor(sink.port), capturedLog().log);
  const before = sink.messages.length;
  notifier.notify('ready', [], data);
  await notifier.idle();
  await notifier.close();
  assert.equal(sink.messages.length, before);
});

test('without smtp config there is no e-mail at all', async () => {
  const { log, lines } = capturedLog();
  const notifier = createNotifier(undefined, log);
  assert.equal(notifier, NO_NOTIFIER);
  notifier.notify('request_received', ['gov@uni.example'], data);
  // A mailer's idle() resolves only once every notice was sent or given up, each logged either way.
  await notifier.idle();
  assert.deepEqual(lines, [], 'no attempt was made, so nothing was logged');
});

test('a refused send is retried and arrives', async () => {
  const { log, lines } = capturedLog();
  const notifier = createNotifier(smtpFor(sink.port), log);
  sink.failNext(1);
  const refusedBefore = sink.refused;
  notifier.notify('rejected', ['teacher@uni.example'], { ...data, comment: 'Not this term.' });
  await notifier.idle();
  assert.equal(sink.refused, refusedBefore + 1);
  const message = await sink.waitFor((m) => m.subject === '[Course stats1] Your course request was not approved', 1000);
  assert.ok(message.text.includes('Not this term.'));
  const warnings = lines.filter((l) => l.level === levelOf.warn);
  assert.equal(warnings.length, 1);
  assert.deepEqual({ notice: warnings[0].notice, course: warnings[0].course, attempt: warnings[0].attempt }, { notice: 'rejected', course: 'stats1', attempt: 1 });
  assert.match(String(warnings[0].err), /451/);
  assert.equal(lines.filter((l) => l.level === levelOf.error).length, 0);
  await notifier.close();
});

test('SMTP AUTH with user and password', async () => {
  const authSink = await startSmtpSink({ auth: { user: 'hub', password: 's3cret-pw' } });
  try {
    const good = createNotifier(smtpFor(authSink.port, { user: 'hub', password: 's3cret-pw' }), capturedLog().log);
    good.notify('ready', ['teacher@uni.example'], data);
    await good.idle();
    assert.equal((await authSink.waitFor(undefined, 1000)).user, 'hub');
    await good.close();

    const { log, lines } = capturedLog();
    const bad = createNotifier(smtpFor(authSink.port, { user: 'hub', password: 'wrong-pw', retries: 0 }), log);
    bad.notify('ready', ['teacher@uni.example'], data);
    await bad.idle();
    await bad.close();
    assert.equal(authSink.messages.length, 1);
    assert.equal(lines.filter((l) => l.level === levelOf.error).length, 1);
    assert.ok(!JSON.stringify(lines).includes('wrong-pw'), 'the password is never logged');
  } finally {
    await authSink.close();
  }
});

test('no server: retries run out, an error is logged, nothing throws', async () => {
  const { log, lines } = capturedLog();
  const deadPort = await freePort();
  const notifier = createNotifier(smtpFor(deadPort, { user: 'hub', password: 'pw-never-logged' }), log);
  const started = Date.now();
  assert.doesNotThrow(() => notifier.notify('failed', ['teacher@uni.example'], { ...data, comment: 'git clone failed' }));
  await notifier.idle();
  // Three attempts, waiting 0.05 s and then 0.1 s in between.
  assert.ok(Date.now() - started >= 150, `retried with doubling delays (${Date.now() - started} ms)`);
  const warnings = lines.filter((l) => l.level === levelOf.warn);
  assert.deepEqual(
    warnings.map((l) => l.attempt),
    [1, 2, 3],
  );
  const errors = lines.filter((l) => l.level === levelOf.error);
  assert.equal(errors.length, 1);
  assert.deepEqual({ notice: errors[0].notice, course: errors[0].course, attempt: errors[0].attempt }, { notice: 'failed', course: 'stats1', attempt: 3 });
  assert.match(String(errors[0].err), /ECONNREFUSED/);
  assert.ok(!JSON.stringify(lines).includes('pw-never-logged'));
  await notifier.close();
});

test('close() gives up retries that are still waiting', { timeout: 30_000 }, async () => {
  const { log, lines, next } = capturedLog();
  const notifier = createNotifier(smtpFor(sink.port, { retries: 5, retry_delay: 5 }), log);
  const refusedBefore = sink.refused;
  const receivedBefore = sink.messages.length;
  sink.failNext(1);
  notifier.notify('ending_soon', ['teacher@uni.example'], data);
  // The first attempt is refused. The mailer logs the failure and arms the retry's timer in one go,
  // and this test's next step runs before any timer can fire, however slow the machine: close()
  // always meets the retry waiting. A close() that let it run would see it delivered 5 s later.
  await next((l) => l.level === levelOf.warn);
  await notifier.close();
  const errors = lines.filter((l) => l.level === levelOf.error);
  assert.equal(errors.length, 1, 'the notice is given up');
  assert.match(String(errors[0].msg), /closed before its retry/);
  // That line is the delivery's last step: no other attempt can follow.
  assert.equal(sink.refused, refusedBefore + 1, 'one attempt reached the server');
  assert.equal(sink.messages.length, receivedBefore, 'and nothing was delivered');
  const logged = lines.length;
  notifier.notify('ending_soon', ['teacher@uni.example'], data);
  await notifier.idle();
  assert.equal(lines.length, logged + 1, 'a notice after close() is dropped with a warning');
  assert.equal(lines.at(-1)?.msg, 'course notice not sent: the mailer is closed');
});

describe('over STARTTLS, with a certificate from a CA of its own', () => {
  let certDir: TempDir;
  let certs: TlsCertificates;
  let tlsSink: SmtpSink;
  before(async () => {
    certDir = await tempDir('ganymede-smtp-tls-');
    certs = makeTlsCertificates(certDir.path);
    tlsSink = await startSmtpSink({ tls: { key: certs.key, cert: certs.cert, mode: 'starttls' } });
  });
  after(async () => {
    await tlsSink.close();
    await certDir.cleanup();
  });

  test('a certificate the mailer does not trust is refused, and nothing is sent in plain text instead', async () => {
    const { log, lines } = capturedLog();
    const notifier = createNotifier(smtpFor(tlsSink.port, { retries: 0 }), log);
    notifier.notify('ready', ['teacher@uni.example'], data);
    await notifier.idle();
    await notifier.close();
    const errors = lines.filter((l) => l.level === levelOf.error);
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.match(String(errors[0].err), /unable to verify the first certificate/);
    assert.equal(tlsSink.messages.length, 0);
  });

  test('tls_ca_file makes it trusted: the session is upgraded and the notice arrives', async () => {
    const { log, lines } = capturedLog();
    const notifier = createNotifier(smtpFor(tlsSink.port, { retries: 0, tls_ca_file: certs.caFile }), log);
    notifier.notify('approved', ['teacher@uni.example'], data);
    await notifier.idle();
    await notifier.close();
    assert.deepEqual(lines.filter((l) => Number(l.level) >= levelOf.warn), [], 'no failed attempt');
    const message = await tlsSink.waitFor((m) => m.subject.includes('approved'), 1000);
    assert.match(message.tls ?? 'plain text', /^TLSv1\.[23]$/);
  });

  test('tls_reject_unauthorized: false accepts the untrusted certificate, still encrypted', async () => {
    const notifier = createNotifier(smtpFor(tlsSink.port, { retries: 0, tls_reject_unauthorized: false }), capturedLog().log);
    notifier.notify('archived', ['teacher@uni.example'], data);
    await notifier.idle();
    await notifier.close();
    const message = await tlsSink.waitFor((m) => m.subject.includes('archived'), 1000);
    assert.match(message.tls ?? 'plain text', /^TLSv1\.[23]$/);
  });

  test('a tls_ca_file that cannot be read is a config error naming the key', () => {
    assert.throws(
      () => createNotifier(smtpFor(tlsSink.port, { tls_ca_file: `${certDir.path}/missing.pem` }), capturedLog().log),
      (err: unknown) => err instanceof ConfigError && /courses\.smtp\.tls_ca_file: cannot read .*missing\.pem: ENOENT/.test(err.message),
    );
  });
});
