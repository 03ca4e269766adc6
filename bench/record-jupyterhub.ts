/**
 * `npx tsx bench/record-jupyterhub.ts`: records what JupyterHub itself answers to the API requests
 * whose shapes Ganymede must match and that no published schema pins down exactly (GET /proxy,
 * GET /services), into test/fixtures/jupyterhub-responses.json. The integration tests compare
 * Ganymede's answers with these, key for key and type for type. Runs the same JupyterHub as the
 * bench (Debian's jupyterhub with configurable-http-proxy), with the C mock as the user's server.
 */
import { writeFileSync } from 'node:fs';
import { buildMock } from './lib/mock.js';
import { api } from './lib/figures.js';
import { jupyterHubAvailable, startJupyterHub } from './lib/hubs.js';

const OUT = 'test/fixtures/jupyterhub-responses.json';

async function main(): Promise<void> {
  if (!jupyterHubAvailable()) throw new Error('JupyterHub is not installed (make deps-system-test installs it)');
  const hub = await startJupyterHub({ serverCmd: [buildMock()] });
  try {
    const version = (await api(hub, 'GET', '/')).json as { version: string };
    const created = await api(hub, 'POST', '/users/alice');
    if (created.status !== 201) throw new Error(`creating alice: ${created.status} ${created.text}`);
    const started = await api(hub, 'POST', '/users/alice/server');
    if (![201, 202].includes(started.status)) throw new Error(`starting alice's server: ${started.status} ${started.text}`);
    for (let i = 0; i < 200 && !((await api(hub, 'GET', '/users/alice')).json as { servers: Record<string, { ready: boolean }> }).servers['']?.ready; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const responses = {
      recorded: `JupyterHub ${version.version}, ${new Date().toISOString().slice(0, 10)}, by bench/record-jupyterhub.ts`,
      'GET /proxy': (await api(hub, 'GET', '/proxy')).json,
      'GET /services': (await api(hub, 'GET', '/services')).json,
    };
    writeFileSync(OUT, JSON.stringify(responses, null, 2) + '\n');
    process.stdout.write(`wrote ${OUT}\n`);
  } finally {
    await hub.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
