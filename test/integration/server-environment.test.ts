/**
 * What a user's server receives from the hub, through hub processes started with that config:
 *  - hub_connect_url: the real jupyterhub-singleuser reaches the hub API there (a relay at that URL
 *    sees its calls); unset, JUPYTERHUB_API_URL is bind_url's, with 127.0.0.1 for 0.0.0.0;
 *  - spawner.notebook_dir: the real server's contents API lists that directory ({username}
 *    expanded); unset, the server runs in its working directory and no JUPYTERHUB_ROOT_DIR is set;
 *  - spawner.env_keep: exactly the listed variables of the hub's environment reach the server; the
 *    others, the hub's secrets (GANYMEDE_CRYPT_KEY) and the default list (LANG) do not.
 * Two hubs, started together: one runs the real server, the other a mock that reports its whole
 * environment.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig, readEventStream } from '../helpers/fixtures.js';
import { freePort } from '../helpers/ports.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
/** Runs the mock server with its whole environment in MOCK_SERVER_ENV, which the mock reports at `<prefix>env`. */
const ENV_REPORTING_MOCK = [process.execPath, '-e', `process.env.MOCK_SERVER_ENV = JSON.stringify(process.env); import(${JSON.stringify(pathToFileURL(MOCK).href)});`];
/** Variables of the hub's own environment for the env_keep test. */
const HUB_ENV = {
  GANYMEDE_TEST_KEPT: 'passed on',
  GANYMEDE_TEST_NOT_KEPT: 'stays with the hub',
  GANYMEDE_CRYPT_KEY: randomBytes(32).toString('hex'),
  LANG: 'C.UTF-8',
};

/** An HTTP relay in front of the hub that notes each request it forwards: the hub_connect_url. */
interface Relay {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

function startRelay(hubPort: number): Promise<Relay> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const upstream = http.request({ host: '127.0.0.1', port: hubPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        seen,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

let scratch: TempDir;
let relay: Relay;
/** The real server, with hub_connect_url (the relay) and notebook_dir. */
let realHub: HubProcess;
/** The environment-reporting mock on 0.0.0.0, with env_keep and neither hub_connect_url nor notebook_dir. */
let mockHub: HubProcess;
let mockPort: number;

before(async () => {
  scratch = await tempDir('ganymede-server-env-');
  const realPort = await freePort();
  relay = await startRelay(realPort);
  mockPort = await freePort();
  [realHub, mockHub] = await Promise.all([
    startHub({
      config: {
        ...adminServiceConfig(),
        bind_url: `http://127.0.0.1:${realPort}/`,
        hub_connect_url: relay.url,
        spawner: { ...REAL_SPAWNER, notebook_dir: path.join(scratch.path, 'notebooks', '{username}') },
      },
    }),
    startHub({
      env: HUB_ENV,
      config: {
        ...adminServiceConfig(),
        bind_url: `http://0.0.0.0:${mockPort}/jh/`,
        spawner: { class: 'local-process', cmd: ENV_REPORTING_MOCK, env_keep: ['PATH', 'GANYMEDE_TEST_KEPT'] },
      },
    }),
  ]);
});
after(async () => {
  await Promise.all([realHub?.stop(), mockHub?.stop()]);
  await relay?.close();
  await scratch?.cleanup();
});

/** Creates `name`, starts its server and resolves once the progress stream says it is ready. */
async function startServer(hub: HubProcess, name: string): Promise<void> {
  assert.equal((await hub.api(`/users/${name}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  const start = await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN });
  assert.ok([201, 202].includes(start.status), `start answered ${start.status}: ${start.text}`);
  const progress = await fetch(`${hub.url}hub/api/users/${name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
  const events = await readEventStream(progress);
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
}

test('the real server lists notebook_dir and reaches the hub API at hub_connect_url', { timeout: 180_000 }, async () => {
  const root = path.join(scratch.path, 'notebooks', 'alice');
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, 'from-notebook-dir.txt'), 'the root the site chose\n');
  await startServer(realHub, 'alice');
  const token = (await realHub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: {} })).json.token as string;

  const before = relay.seen.length;
  // The server checks this token with the hub, at JUPYTERHUB_API_URL.
  const contents = await fetch(`${realHub.url}user/alice/api/contents`, { headers: { Authorization: `token ${token}` } });
  assert.equal(contents.status, 200);
  const listing = (await contents.json()) as { content: Array<{ name: string }> };
  assert.deepEqual(listing.content.map((c) => c.name), ['from-notebook-dir.txt']);
  assert.ok(
    relay.seen.slice(before).includes('GET /hub/api/user'),
    `the server asked the hub who the token is through hub_connect_url: ${JSON.stringify(relay.seen)}`,
  );
});

test('the server gets exactly the env_keep variables of the hub, the API at bind_url with 127.0.0.1, its working directory as root', async () => {
  await startServer(mockHub, 'bob');
  const res = await fetch(`http://127.0.0.1:${mockPort}/jh/user/bob/env`);
  assert.equal(res.status, 200);
  const report = (await res.json()) as { cwd: string; env: Record<string, string> };
  const env = JSON.parse(report.env.MOCK_SERVER_ENV!) as Record<string, string>;

  assert.equal(env.GANYMEDE_TEST_KEPT, 'passed on');
  assert.equal(env.PATH, process.env.PATH);
  // Nothing else of the hub's: not the unlisted variable, not its secrets, not LANG of the default list.
  const own = Object.keys(env).filter((k) => !k.startsWith('JUPYTERHUB_') && !['HOME', 'JPY_API_TOKEN', 'PATH', 'GANYMEDE_TEST_KEPT'].includes(k));
  assert.deepEqual(own, []);

  assert.equal(env.JUPYTERHUB_API_URL, `http://127.0.0.1:${mockPort}/jh/hub/api`);
  assert.equal(env.JUPYTERHUB_ACTIVITY_URL, `http://127.0.0.1:${mockPort}/jh/hub/api/users/bob/activity`);
  // Without notebook_dir the server's root is where it runs, as with JupyterHub (no JUPYTERHUB_ROOT_DIR).
  assert.equal(report.cwd, path.join(mockHub.dataDir, 'users', 'bob'));
  assert.equal(env.JUPYTERHUB_ROOT_DIR, undefined);
});
