/** Course notices by e-mail, against a real SMTP server: delivery, retries, a dead server, no config. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { smtpSchema, type SmtpConfig } from '../../src/config/schema.js';
import { createNotifier, MailNotifier } from '../../src/courses/mailer.js';
import { NO_NOTIFIER, type NoticeData } from '../../src/courses/notices.js';
import { freePort } from '../helpers/ports.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

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

/** A logger whose lines are kept, parsed, in `lines`. */
function capturedLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
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
  const notifier = createNotifier(undefined, capturedLog().log);
  assert.equal(notifier, NO_NOTIFIER);
  const before = sink.messages.length;
  notifier.notify('request_received', ['gov@uni.example'], data);
  await notifier.idle();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(sink.messages.length, before);
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

test('close() gives up retries that are still waiting', async () => {
  const { log, lines } = capturedLog();
  const notifier = createNotifier(smtpFor(await freePort(), { retries: 5, retry_delay: 60 }), log);
  notifier.notify('ending_soon', ['teacher@uni.example'], data);
  // Let the first attempt fail and its retry start waiting.
  for (let i = 0; i < 100 && !lines.some((l) => l.level === levelOf.warn); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const started = Date.now();
  await notifier.close();
  assert.ok(Date.now() - started < 1000, 'close does not wait for the retry');
  const errors = lines.filter((l) => l.level === levelOf.error);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0].msg), /closed before its retry/);
  notifier.notify('ending_soon', ['teacher@uni.example'], data);
  await notifier.idle();
});
