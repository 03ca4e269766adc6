/**
 * The Slurm spawner's ssh mode, for sites where the hub host is not a Slurm client: sbatch, squeue and
 * scancel run on a "login node" (a real sshd of the test's, on loopback) with the user's own key, and
 * the one squeue for all jobs with the poll account's. The JUPYTERHUB_* variables travel in the script.
 * The cluster is the real single-node Slurm of test/helpers/slurm-cluster.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, readEventStream, waitFor } from '../helpers/fixtures.js';
import { runInKernel } from '../helpers/kernel.js';
import { createUnixUser, startSlurm, type TestSlurm, type UnixUser, slurmSkipReason } from '../helpers/slurm-cluster.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const skip = slurmSkipReason({ sshd: true });

describe('Slurm spawner over SSH', { skip, timeout: 240_000 }, () => {
  let slurm: TestSlurm;
  let sshd: TestSshd;
  let hub: HubProcess;
  let user: UnixUser;
  let poller: UnixUser;
  let keyless: UnixUser;

  before(async () => {
    slurm = await startSlurm();
    const suffix = randomBytes(3).toString('hex');
    user = await createUnixUser(`gss${suffix}`);
    poller = await createUnixUser(`gsp${suffix}`);
    keyless = await createUnixUser(`gsk${suffix}`);
    sshd = await startSshd({ users: [user.name, poller.name], setEnv: slurm.env });
    hub = await startHub({
      config: {
        ...adminServiceConfig(),
        spawner: {
          class: 'slurm',
          start_timeout: 40,
          http_timeout: 40,
          poll_interval: 2,
          slurm: {
            partitions: { debug: { time_minutes: { min: 1, max: 60, default: 10 } } },
            queue_poll_interval: 1,
            submit: { mode: 'ssh' },
            ssh: {
              host: sshd.host,
              port: sshd.port,
              // Each user's key where the template says; the keyless user has none.
              private_key_file: sshd.clientKeyFile(user.name).replace(user.name, '{username}'),
              host_key_fingerprint: sshd.hostKeyFingerprint,
              poll_username: poller.name,
              poll_private_key_file: sshd.clientKeyFile(poller.name),
            },
          },
        },
      },
    });
    for (const name of [user.name, keyless.name]) assert.equal((await hub.api(`/users/${name}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  });

  after(async () => {
    await hub?.stop();
    await sshd?.stop();
    await slurm?.stop();
    for (const u of [user, poller, keyless]) await u?.remove();
  });

  test('a server starts as the user through the login node, runs code, and stops', async () => {
    const start = await hub.api(`/users/${user.name}/server`, { method: 'POST', token: ADMIN_TOKEN, body: { cpus: 1, time_minutes: 5 } });
    assert.ok([201, 202].includes(start.status), start.text);
    const events = await readEventStream(await fetch(`${hub.url}hub/api/users/${user.name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
    assert.equal(events.at(-1)!.ready, true, events.map((e) => e.message).join('\n'));
    const model = (await hub.api(`/users/${user.name}`, { token: ADMIN_TOKEN })).json.servers[''];
    const jobId = String(model.state.job_id);
    const job = (await slurm.jobs()).find((j) => j.id === jobId);
    assert.equal(job?.user, user.name);
    assert.equal(job?.state, 'RUNNING');

    const tok = await hub.api(`/users/${user.name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'kernel' } });
    const out = await runInKernel(hub.url, `user/${user.name}/`, tok.json.token, 'import os; print(os.environ["JUPYTERHUB_USER"], os.environ["SLURM_JOB_ID"])');
    assert.equal(out.trim(), `${user.name} ${jobId}`);

    const stop = await hub.api(`/users/${user.name}/server`, { method: 'DELETE', token: ADMIN_TOKEN });
    assert.ok([202, 204].includes(stop.status));
    await waitFor(async () => (await hub.api(`/users/${user.name}`, { token: ADMIN_TOKEN })).json.servers[''] === undefined, 40_000, 'the server to stop');
    assert.notEqual((await slurm.jobs()).find((j) => j.id === jobId)?.state, 'RUNNING');
  });

  test('a user without a key gets a clear failure and no job', async () => {
    const start = await hub.api(`/users/${keyless.name}/server`, { method: 'POST', token: ADMIN_TOKEN, body: {} });
    assert.equal(start.status, 500);
    assert.match(start.json.message, new RegExp(`^no SSH key for ${keyless.name} \\(ENOENT reading `));
    assert.deepEqual((await slurm.jobs()).filter((j) => j.user === keyless.name), []);
  });
});
