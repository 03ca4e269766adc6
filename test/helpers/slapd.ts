/**
 * A real OpenLDAP server for tests: Debian's `slapd` with a config of our own (slapd.conf, an mdb
 * database in a temporary directory) on a free loopback port, loaded with `slapadd` before it starts.
 * The directory has people under ou=people and groups of both kinds sites use: groupOfNames
 * (member: DN) and posixGroup (memberUid: name).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import { freePort, waitUntilServing } from './ports.js';
import { tempDir } from './tmp.js';

export const LDAP_BASE = 'dc=example,dc=org';
export const LDAP_ADMIN = { dn: `cn=admin,${LDAP_BASE}`, password: 'admin-secret' };
/** A read-only account for search-then-bind. */
export const LDAP_READER = { dn: `cn=reader,${LDAP_BASE}`, password: 'reader-secret' };

export interface LdapPerson {
  uid: string;
  password: string;
  mail?: string;
}

export interface TestLdap {
  url: string;
  /** ldaps:// URL (also StartTLS on `url`), with a self-signed certificate for 127.0.0.1 in `caFile`. */
  ldapsUrl: string;
  caFile: string;
  stop(): Promise<void>;
}

function ldif(people: LdapPerson[], groups: Record<string, string[]>, posixGroups: Record<string, string[]>): string {
  const entries = [
    `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ${LDAP_READER.dn}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\ncn: reader\nuserPassword: ${LDAP_READER.password}`,
    ...people.map(
      (p) =>
        `dn: uid=${p.uid},ou=people,${LDAP_BASE}\nobjectClass: inetOrgPerson\nuid: ${p.uid}\ncn: ${p.uid}\nsn: ${p.uid}\n` +
        `mail: ${p.mail ?? `${p.uid}@example.org`}\nuserPassword: ${p.password}`,
    ),
    ...Object.entries(groups).map(
      ([cn, members]) => `dn: cn=${cn},ou=groups,${LDAP_BASE}\nobjectClass: groupOfNames\ncn: ${cn}\n` + members.map((m) => `member: uid=${m},ou=people,${LDAP_BASE}`).join('\n'),
    ),
    ...Object.entries(posixGroups).map(
      ([cn, members], i) => `dn: cn=${cn},ou=groups,${LDAP_BASE}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${5000 + i}\n` + members.map((m) => `memberUid: ${m}`).join('\n'),
    ),
  ];
  return entries.join('\n\n') + '\n';
}

/** Binds as the reader and reads the base entry: true when the directory answers both. */
async function answersLdap(url: string, ca: Buffer): Promise<boolean> {
  // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps://.
  const client = new Client({ url, connectTimeout: 5_000, timeout: 5_000, ...(url.startsWith('ldaps://') ? { tlsOptions: { ca } } : {}) });
  try {
    await client.bind(LDAP_READER.dn, LDAP_READER.password);
    const { searchEntries } = await client.search(LDAP_BASE, { scope: 'base' });
    return searchEntries.length === 1;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export async function startSlapd(people: LdapPerson[], groups: Record<string, string[]>, posixGroups: Record<string, string[]> = {}): Promise<TestLdap> {
  const tmp = await tempDir('ganymede-slapd-');
  const dir = tmp.path;
  const dbDir = path.join(dir, 'db');
  mkdirSync(dbDir);
  // A self-signed certificate for 127.0.0.1: clients trust it as its own CA (tls_ca_file).
  const caFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      `TLSCertificateFile ${caFile}`,
      `TLSCertificateKeyFile ${keyFile}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${path.join(dir, 'slapd.pid')}`,
      'database mdb',
      `suffix "${LDAP_BASE}"`,
      `rootdn "${LDAP_ADMIN.dn}"`,
      `rootpw ${LDAP_ADMIN.password}`,
      `directory ${dbDir}`,
      'access to attrs=userPassword by self read by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  const data = path.join(dir, 'data.ldif');
  writeFileSync(data, ldif(people, groups, posixGroups));
  execFileSync('slapadd', ['-f', conf, '-l', data], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  const tlsPort = await freePort();
  // -d 0: stay in the foreground (a child of the test), logging nothing
  const proc = spawn('slapd', ['-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const ca = readFileSync(caFile);
  const isAlive = () => proc.exitCode === null && proc.signalCode === null;
  try {
    // Ready means what the tests do next works: a bind and a search, on each listener.
    for (const url of [`ldap://127.0.0.1:${port}`, `ldaps://127.0.0.1:${tlsPort}`]) {
      await waitUntilServing('slapd', () => answersLdap(url, ca), isAlive, 30_000);
    }
  } catch (err) {
    if (isAlive()) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await exited;
    }
    await tmp.cleanup();
    throw new Error(`${(err as Error).message}: ${stderr.slice(-2000)}`);
  }
  process.once('exit', () => proc.kill('SIGKILL'));
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${tlsPort}`,
    caFile,
    stop: async () => {
      if (proc.exitCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        });
      }
      await tmp.cleanup();
    },
  };
}
