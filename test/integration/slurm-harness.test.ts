/**
 * The harness the Slurm spawner's tests stand on: a real single-node Slurm (munged, slurmctld, slurmd
 * of our own) and a real sshd. A Unix user made by the test submits a batch job through sudo and over
 * SSH (with the ssh2 library the spawner uses); squeue reports the job as that user's. The `small`
 * partition keeps a second job PENDING until the first ends. Needs root (slurmd, useradd, sshd).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sshFingerprint } from '../../src/spawners/slurm/commands.js';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'ssh2';
import { createUnixUser, startSlurm, type SlurmJob, type TestSlurm, type UnixUser, slurmSkipReason } from '../helpers/slurm-cluster.js';
import { waitFor } from '../helpers/fixtures.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const skip = slurmSkipReason({ sshd: true });

function sshConnect(sshd: TestSshd, user: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: sshd.host,
      port: sshd.port,
      username: user,
      privateKey: readFileSync(sshd.clientKeyFile(user)),
      // ssh2 hands over the raw host key; `ssh-keygen -l` prints its unpadded base64 SHA-256.
      hostVerifier: (key: Buffer) => sshFingerprint(key) === sshd.hostKeyFingerprint,
    });
  });
}

function sshExec(client: Client, command: string, stdin = ''): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      stream.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      stream.once('close', (code: number | null) => resolve({ stdout, stderr, code }));
      stream.end(stdin);
    });
  });
}

describe('Slurm and sshd test harness', { skip, timeout: 60_000 }, () => {
  let slurm: TestSlurm | undefined;
  let user: UnixUser | undefined;
  let sshd: TestSshd | undefined;

  before(async () => {
    slurm = await startSlurm();
    user = await createUnixUser(`gslurm${randomBytes(3).toString('hex')}`);
    sshd = await startSshd({ users: [user.name], setEnv: slurm.env });
  });

  after(async () => {
    await sshd?.stop();
    await slurm?.stop(); // before the user goes: their jobs are cancelled first
    await user?.remove();
  });

  test('a job submitted with sudo runs as the user, and squeue says so', async () => {
    const output = path.join(user!.home, 'sudo-job.out');
    // -E keeps SLURM_CONF; -H sets HOME to the user's (with -E alone the job would get the caller's HOME).
    const submit = await slurm!.run('sudo', ['-E', '-H', '-u', user!.name, '--', 'sbatch', '--parsable', `--chdir=${user!.home}`, `--output=${output}`, '--wrap=id -un; echo "home=$HOME"']);
    assert.equal(submit.code, 0, submit.stderr);
    const id = submit.stdout.trim();
    const job = await slurm!.waitForJob(id, ['COMPLETED']);
    assert.equal(job.user, user!.name);
    assert.equal(job.partition, 'debug');
    assert.deepEqual(readFileSync(output, 'utf8').trim().split('\n'), [user!.name, `home=${user!.home}`]);
    assert.ok((await slurm!.jobs()).some((j) => j.id === id && j.user === user!.name));
  });

  test('over SSH: key login, SetEnv, stdin, and sbatch as the user', async () => {
    const client = await sshConnect(sshd!, user!.name);
    try {
      const whoami = await sshExec(client, 'id -un; echo "$SLURM_CONF"');
      assert.deepEqual(whoami.stdout.trim().split('\n'), [user!.name, slurm!.confPath]);
      assert.equal((await sshExec(client, 'cat', 'line one\nline two\n')).stdout, 'line one\nline two\n');
      const submit = await sshExec(client, `sbatch --parsable --chdir="$HOME" --output=/dev/null --wrap='sleep 1'`);
      assert.equal(submit.code, 0, submit.stderr);
      const job = await slurm!.waitForJob(submit.stdout.trim(), ['COMPLETED']);
      assert.equal(job.user, user!.name);
    } finally {
      client.end();
    }
  });

  test('in the small partition a second job waits until the first ends', async () => {
    // The first job runs until the test lets it end (a file appears), not for a time the test would race.
    const release = path.join(slurm!.confPath, '..', `release-${randomBytes(3).toString('hex')}`);
    const submit = (wrap: string) => slurm!.run('sbatch', ['--parsable', '--partition=small', '--output=/dev/null', `--wrap=${wrap}`]);
    const first = (await submit(`while [ ! -e ${release} ]; do sleep 0.1; done`)).stdout.trim();
    const second = (await submit('true')).stdout.trim();
    await slurm!.waitForJob(first, ['RUNNING']);
    // Submitted while the first was still starting, it may say Priority until the next scheduler pass.
    let waiting: SlurmJob | undefined;
    await waitFor(async () => {
      waiting = (await slurm!.jobs()).find((j) => j.id === second);
      return waiting?.state !== 'PENDING' || waiting.reason === 'Resources';
    }, 30_000, 'the second job to wait for resources');
    assert.equal(waiting?.state, 'PENDING', 'the second job waits while the first holds the CPU');
    assert.equal(waiting?.reason, 'Resources');
    writeFileSync(release, '');
    await slurm!.waitForJob(first, ['COMPLETED']);
    await slurm!.waitForJob(second, ['RUNNING', 'COMPLETED']);
  });
});
