/**
 * A real SMTP server for tests (the `smtp-server` package) on a free loopback port: it keeps every
 * message it accepts, parsed, with whether it came over TLS, and can be told to refuse the next
 * transactions to test retries. Plain SMTP by default; with `tls`, TLS from the first byte or
 * STARTTLS, with a certificate from `makeTlsCertificates`. AUTH only when `auth` is given.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { freePort } from './ports.js';

export interface SinkMessage {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), in order. */
  to: string[];
  subject: string;
  text: string;
  /** Header fields, lower-case names, e.g. headers.get('to'). */
  headers: Map<string, unknown>;
  /** The user that authenticated, if any. */
  user?: string;
  /** The session's TLS protocol (e.g. "TLSv1.3") when the message came over TLS, else null. */
  tls: string | null;
}

export interface SmtpSinkOptions {
  /** Require AUTH with these credentials (default: no AUTH needed, any accepted). */
  auth?: { user: string; password: string };
  /**
   * Speak TLS with this key and certificate (PEM): from the first byte (`implicit`, as on port 465)
   * or after STARTTLS, which the server then offers.
   */
  tls?: { key: string; cert: string; mode: 'implicit' | 'starttls' };
}

export interface SmtpSink {
  port: number;
  host: string;
  /** Every accepted message, oldest first. */
  messages: SinkMessage[];
  /** Transactions refused by failNext so far. */
  readonly refused: number;
  /** Refuse the next `n` transactions at MAIL FROM with a temporary error (451). */
  failNext(n: number): void;
  /** The first message (already received or coming) that matches; rejects after `timeoutMs`. */
  waitFor(predicate?: (message: SinkMessage) => boolean, timeoutMs?: number): Promise<SinkMessage>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = '127.0.0.1';
  const port = await freePort();
  const messages: SinkMessage[] = [];
  const waiters = new Set<(message: SinkMessage) => void>();
  let failures = 0;
  let refused = 0;

  const tls = options.tls;
  const serverOptions: SMTPServerOptions = {
    secure: tls?.mode === 'implicit',
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    disabledCommands: [...(tls?.mode === 'starttls' ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onMailFrom(_address, _session, callback) {
      if (failures > 0) {
        failures--;
        refused++;
        callback(Object.assign(new Error('Try again later (test sink)'), { responseCode: 451 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const message: SinkMessage = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            headers: parsed.headers as Map<string, unknown>,
            user: typeof session.user === 'string' ? session.user : undefined,
            tls: session.secure ? tlsVersion(session.tlsOptions) : null,
          };
          messages.push(message);
          for (const waiter of waiters) waiter(message);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A broken client connection is the test's business, not a reason to crash the test process.
  server.on('error', () => undefined);

  return {
    port,
    host,
    messages,
    get refused() {
      return refused;
    },
    failNext(n) {
      failures = n;
    },
    waitFor(predicate = () => true, timeoutMs = 5000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (message: SinkMessage): void => {
          if (!predicate(message)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(message);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching message within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The protocol of a TLS session as smtp-server reports it (the socket's getCipher()). */
function tlsVersion(cipher: unknown): string {
  const version = typeof cipher === 'object' && cipher !== null ? (cipher as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

export interface TlsCertificates {
  /** The test CA's certificate (PEM file): what a client must trust. */
  caFile: string;
  /** The server's key and certificate (PEM), for 127.0.0.1 and localhost, signed by the test CA. */
  key: string;
  cert: string;
}

/** A throwaway CA and a server certificate it signs, made with openssl in `dir`. */
export function makeTlsCertificates(dir: string): TlsCertificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Ganymede test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));
  return { caFile: file('ca.pem'), key: readFileSync(file('server.key'), 'utf8'), cert: readFileSync(file('server.pem'), 'utf8') };
}
