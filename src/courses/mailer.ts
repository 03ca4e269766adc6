/**
 * Course notices by e-mail: one message per notice to all its recipients, sent in the background
 * over SMTP (`courses.smtp`) and retried with a doubling delay. Failures are logged, never thrown:
 * a mail server that is down must not hold up a course workflow.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { SmtpConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { renderNotice } from './mail-templates.js';
import { NO_NOTIFIER, type CourseNotice, type NoticeData, type Notifier } from './notices.js';

/** A dead or silent server fails an attempt after this long, not after nodemailer's minutes. */
const SMTP_TIMEOUT_MS = 10_000;

/** E-mail when `courses.smtp` is configured, otherwise nothing at all. */
export function createNotifier(smtp: SmtpConfig | undefined, log: Logger): Notifier {
  return smtp ? new MailNotifier(smtp, log) : NO_NOTIFIER;
}

export class MailNotifier implements Notifier {
  private readonly transport: Transporter;
  private readonly deliveries = new Set<Promise<void>>();
  /** Retries waiting for their timer, with how to wake them: false means give up. */
  private readonly retryWaits = new Map<NodeJS.Timeout, (goOn: boolean) => void>();
  private closed = false;

  constructor(
    private readonly smtp: SmtpConfig,
    private readonly log: Logger,
  ) {
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      tls: { rejectUnauthorized: smtp.tls_reject_unauthorized, ...(smtp.tls_ca_file ? { ca: readCaFile(smtp.tls_ca_file) } : {}) },
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
  }

  notify(notice: CourseNotice, to: string[], data: NoticeData): void {
    const recipients = uniqueAddresses(to);
    if (recipients.length === 0) return;
    if (this.closed) {
      this.log.warn({ notice, course: data.course.slug }, 'course notice not sent: the mailer is closed');
      return;
    }
    const delivery: Promise<void> = this.deliver(notice, recipients, data)
      .catch((err: unknown) => this.log.error({ notice, course: data.course.slug, err: this.reason(err) }, 'course notice not sent'))
      .finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
  }

  async idle(): Promise<void> {
    if (this.deliveries.size === 0) return;
    // Retry timers do not keep the process alive on their own; someone waiting for them does.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      while (this.deliveries.size > 0) await Promise.all(this.deliveries);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Gives up the retries still waiting, lets sends under way finish (bounded by the timeouts), closes the transport. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, wake] of this.retryWaits) {
      clearTimeout(timer);
      wake(false);
    }
    this.retryWaits.clear();
    await this.idle();
    this.transport.close();
  }

  private async deliver(notice: CourseNotice, to: string[], data: NoticeData): Promise<void> {
    const course = data.course.slug;
    const { subject, text } = renderNotice(notice, data);
    for (let attempt = 1; ; attempt++) {
      try {
        // A teacher's message is answered to the teacher; notices are answered to nobody in particular.
        const replyTo = data.message?.reply_to ?? undefined;
        await this.transport.sendMail({ from: this.smtp.from, to, subject, text, ...(replyTo ? { replyTo } : {}), headers: { 'Auto-Submitted': 'auto-generated' } });
        this.log.info({ notice, course, to_count: to.length }, 'course notice sent');
        this.log.debug({ notice, course, to }, 'course notice recipients');
        return;
      } catch (err) {
        const reason = this.reason(err);
        this.log.warn({ notice, course, attempt, err: reason }, 'sending a course notice failed');
        if (attempt > this.smtp.retries) {
          this.log.error({ notice, course, attempt, err: reason }, `course notice not sent after ${attempt} attempts, giving up`);
          return;
        }
        const delayMs = this.smtp.retry_delay * 1000 * 2 ** (attempt - 1);
        if (this.closed || !(await this.waitForRetry(delayMs))) {
          this.log.error({ notice, course, attempt, err: reason }, 'course notice not sent: the mailer was closed before its retry');
          return;
        }
      }
    }
  }

  /** Resolves true after `ms`, or false at once when close() gives the retry up. */
  private waitForRetry(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryWaits.delete(timer);
        resolve(true);
      }, ms);
      timer.unref();
      this.retryWaits.set(timer, resolve);
    });
  }

  /** The error's message, for the log; a server that echoes the password does not get it logged. */
  private reason(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const { password } = this.smtp;
    return password ? message.split(password).join('***') : message;
  }
}

/** The trusted CAs, read once at start: a file that cannot be read stops the hub with the key's name. */
function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`courses.smtp.tls_ca_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Each address once (compared without case), blanks dropped, first spelling kept. */
function uniqueAddresses(addresses: string[]): string[] {
  const byKey = new Map<string, string>();
  for (const raw of addresses) {
    const address = raw.trim();
    if (address && !byKey.has(address.toLowerCase())) byKey.set(address.toLowerCase(), address);
  }
  return [...byKey.values()];
}
