/**
 * The Slurm spawner against a real single-node Slurm (test/helpers/slurm-cluster.ts): servers are
 * batch jobs of the users' own Unix accounts running the real jupyterhub-singleuser.
 *  - start by API, a kernel runs code through the proxy, stop cancels the job;
 *  - a full partition: the second server shows PENDING (Resources) with its queue position, and starts
 *    when the first ends;
 *  - sbatch refusal, pending past start_timeout, scancel from outside, walltime: a message, no job left;
 *  - a hub restart reattaches to the running job and cancels an orphan;
 *  - injection attempts are refused before any job exists; every job is the user's, never root's.
 * A stop answers 204, as JupyterHub does when the server stopped within the 10 s the API waits
 * (slow_stop_timeout): the spawner returns once squeue no longer lists the job as active, a few
 * seconds after scancel (KillWait=2 here); 202 would mean it was still ending.
 * The browser journey through the options form is in test/browser/slurm-form.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, readEventStream, waitFor } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { runInKernel } from '../helpers/kernel.js';
import { ACTIVE_JOB_STATES, createUnixUser, startSlurm, type TestSlurm, type UnixUser, slurmTestSpawner, slurmSkipReason } from '../helpers/slurm-cluster.js';

const skip = slurmSkipReason();

describe('Slurm spawner with a real Slurm', { skip, timeout: 600_000 }, () => {
  let slurm: TestSlurm;
  let hub: HubProcess;
  const users: UnixUser[] = [];
  let dataDir = '';
  let hubUrl = '';

  const newUser = async (): Promise<string> => {
    const u = await createUnixUser(`gs${randomBytes(3).toString('hex')}`);
    users.push(u);
    const created = await hub.api(`/users/${u.name}`, { method: 'POST', token: ADMIN_TOKEN });
    assert.equal(created.status, 201, created.text);
    return u.name;
  };
  const userJobs = async (name: string) => (await slurm.jobs()).filter((j) => j.user === name);
  const activeJobs = async (name: string) => (await userJobs(name)).filter((j) => ACTIVE_JOB_STATES.includes(j.state));
  const serverModel = async (name: string) => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''] as { ready: boolean; state: Record<string, unknown> } | undefined;
  const progressEvents = async (name: string) => {
    const res = await fetch(`${hub.url}hub/api/users/${name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
    return readEventStream(res);
  };
  const startAndWait = async (name: string, options: Record<string, unknown>) => {
    const start = await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN, body: options });
    assert.ok([201, 202].includes(start.status), `start answered ${start.status}: ${start.text}`);
    return progressEvents(name);
  };
  /** Starts a server and checks it became ready, showing the progress messages if not. */
  const startReady = async (name: string, options: Record<string, unknown>) => {
    const events = await startAndWait(name, options);
    assert.equal(events.at(-1)!.ready, true, events.map((e) => e.message).join('\n'));
  };
  const startHubHere = async () =>
    startHub({
      // The same address after a restart: the servers in running jobs call the hub there.
      config: { ...adminServiceConfig(), spawner: slurmTestSpawner(), cleanup_servers: false, ...(hubUrl ? { bind_url: hubUrl } : {}) },
      env: slurm.env,
      ...(dataDir ? { dataDir } : {}),
    });

  before(async () => {
    slurm = await startSlurm();
    hub = await startHubHere();
    dataDir = hub.dataDir;
    hubUrl = hub.url;
  });

  after(async () => {
    await hub?.stop();
    await slurm?.stop();
    for (const u of users) await u.remove();
  });

  test('a server runs as a batch job of the user, runs code through the proxy, and stop cancels the job', async () => {
    const name = await newUser();
    const events = await startAndWait(name, { partition: 'debug', cpus: 2, memory_gb: 1, time_minutes: 20 });
    const last = events.at(-1)!;
    assert.equal(last.ready, true, JSON.stringify(events));
    const messages = events.map((e) => String(e.message));
    assert.ok(messages.some((m) => /^Submitted batch job \d+$/.test(m)), messages.join('\n'));

    const model = await serverModel(name);
    const state = model!.state;
    assert.match(String(state.job_id), /^\d+$/);
    assert.equal(state.partition, 'debug');
    assert.equal(state.cpus, 2);
    assert.equal(state.time_minutes, 20);
    assert.equal(state.node, slurm.nodeName);
    const [job] = await activeJobs(name);
    assert.equal(job?.id, state.job_id);
    assert.equal(job?.state, 'RUNNING');
    assert.equal(job?.user, name, 'the job is the user’s own, not root’s');
    assert.equal(job?.name, 'ganymede');

    // Accounting on the user's home page: job, partition, resources, node, time left.
    const home = await homePage(hub, name);
    assert.match(home, new RegExp(`data-detail="job">${state.job_id}<`));
    assert.match(home, /data-detail="partition">debug</);
    assert.match(home, /data-detail="resources">2 CPUs, 1 GB</);
    assert.match(home, /data-detail="time-left">(19|20) min</);

    const tok = await hub.api(`/users/${name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'kernel' } });
    const output = await runInKernel(hub.url, `user/${name}/`, tok.json.token, 'import getpass, os; print(getpass.getuser(), os.environ["SLURM_JOB_ID"], os.environ["SLURM_CPUS_PER_TASK"])');
    assert.equal(output.trim(), `${name} ${state.job_id} 2`);

    const stop = await hub.api(`/users/${name}/server`, { method: 'DELETE', token: ADMIN_TOKEN });
    assert.equal(stop.status, 204, `stopped within the API's wait: ${stop.text}`);
    assert.equal(await serverModel(name), undefined, 'the server is stopped');
    assert.deepEqual(await activeJobs(name), [], 'squeue lists no job of the user any more');
    const plain = await slurm.run('squeue', ['--noheader', '--format=%i']);
    assert.ok(!plain.stdout.split('\n').includes(String(state.job_id)), 'plain squeue no longer lists it');
  });

  test('with the partition full, the second server waits PENDING with its reason and starts when the first ends', async () => {
    const first = await newUser();
    const second = await newUser();
    await startReady(first, { partition: 'small' });
    const start = await hub.api(`/users/${second}/server`, { method: 'POST', token: ADMIN_TOKEN, body: { partition: 'small' } });
    assert.equal(start.status, 202);
    // Follow the progress stream while the first server still holds the partition's only CPU, until
    // it shows the job's place in the queue; only then free the partition.
    const progress = followProgress(hub, second);
    const queued = /^Job (\d+) is waiting in the queue: PENDING \((Resources|Priority)\), position 1 in partition small$/;
    const pending = await progress.until((e) => queued.test(String(e.message)), 'the job pending with its reason and queue position');
    const [waitingJob] = await activeJobs(second);
    assert.equal(waitingJob?.state, 'PENDING');
    assert.equal(queued.exec(String(pending.message))?.[1], waitingJob?.id, 'the message names the second user’s job');
    const stop = await hub.api(`/users/${first}/server`, { method: 'DELETE', token: ADMIN_TOKEN });
    assert.equal(stop.status, 204, `stopped within the API's wait: ${stop.text}`);
    assert.deepEqual(await activeJobs(first), [], 'the first job has left the queue');
    const events = await progress.all;
    const messages = events.map((e) => String(e.message));
    assert.equal(events.at(-1)!.ready, true, messages.join('\n'));
    assert.equal((await activeJobs(second))[0]?.state, 'RUNNING');
    assert.equal((await hub.api(`/users/${second}/server`, { method: 'DELETE', token: ADMIN_TOKEN })).status, 204);
    assert.deepEqual(await activeJobs(second), [], 'the second job has left the queue');
  });

  test('failures end in the right state with a message, and leave no job behind', async () => {
    // Walltime: started first, it runs out (60-90 s) while the other cases run.
    const walltime = await newUser();
    await startReady(walltime, { partition: 'debug', time_minutes: 1 });

    // sbatch refuses a partition Slurm does not know.
    const refused = await newUser();
    const refusedStart = await hub.api(`/users/${refused}/server`, { method: 'POST', token: ADMIN_TOKEN, body: { partition: 'ghost' } });
    assert.equal(refusedStart.status, 500, 'a spawn that fails within the wait answers 500, as JupyterHub');
    assert.match(refusedStart.json.message, /^Slurm refused the job: sbatch: error: .*invalid partition/i);
    const refusedEvents = await progressEvents(refused);
    const refusal = refusedEvents.at(-1)!;
    assert.equal(refusal.failed, true, JSON.stringify(refusedEvents));
    assert.match(String(refusal.message), /^Spawn failed: Slurm refused the job: sbatch: error: .*invalid partition/i);
    assert.deepEqual(await userJobs(refused), []);

    // Pending past start_timeout: the small partition is held by another server.
    const holder = await newUser();
    const waiting = await newUser();
    await startReady(holder, { partition: 'small' });
    const timedOut = (await startAndWait(waiting, { partition: 'small' })).at(-1)!;
    assert.equal(timedOut.failed, true);
    assert.match(String(timedOut.message), /^Spawn failed: Server didn't start within 40 seconds: job \d+ was still waiting in the queue \(PENDING, (Resources|Priority)\), so it is cancelled$/);
    await waitFor(async () => (await activeJobs(waiting)).length === 0, 20_000, 'the pending job to be cancelled');

    // scancel from outside: the hub notices at its next poll, drops the route and says why.
    const holderJob = String((await serverModel(holder))!.state.job_id);
    assert.equal((await slurm.run('scancel', [holderJob])).code, 0);
    await waitFor(async () => (await serverModel(holder)) === undefined, 30_000, 'the hub to notice the cancelled job');
    const gone = await fetch(`${hub.url}user/${holder}/api`, { redirect: 'manual', headers: { Authorization: `token ${ADMIN_TOKEN}` } });
    assert.notEqual(gone.status, 200, 'no route to the cancelled server');
    assert.match(await homePage(hub, holder), new RegExp(`Server stopped unexpectedly: Job ${holderJob} was cancelled outside the hub`));

    // Walltime: Slurm ends the job with TIMEOUT; the hub says so.
    const wallJob = String((await serverModel(walltime))!.state.job_id);
    await waitFor(async () => (await serverModel(walltime)) === undefined, 150_000, 'the walltime to run out');
    assert.match(await homePage(hub, walltime), new RegExp(`Job ${wallJob} reached its time limit of 1 minutes and was ended by Slurm \\(TIMEOUT\\)`));
    for (const name of [walltime, refused, holder, waiting]) assert.deepEqual(await activeJobs(name), [], `${name} has no job left`);
  });

  test('bad options and injection attempts are refused before any job exists', async () => {
    const name = await newUser();
    const attempts: Array<Record<string, unknown>> = [
      { partition: 'debug\n#SBATCH --uid=0' },
      { partition: '$(id)' },
      { cpus: '2; scancel -u root' },
      { cpus: '`id`' },
      { memory_gb: "1' || '1" },
      { time_minutes: '10\n#SBATCH --time=99999' },
      { cpus: 99 },
      { partition: 'x'.repeat(100_000) },
      { partition: 'débug' },
      { extra: '--uid=0' },
      { nonsense: 1 },
    ];
    for (const body of attempts) {
      const res = await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN, body });
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(typeof res.json.message, 'string');
      const field = Object.keys(body)[0]!;
      assert.ok(res.json.message.startsWith(`${field}:`), `the message names ${field}: ${res.json.message}`);
    }
    assert.deepEqual(await userJobs(name), [], 'no job was submitted');
    assert.equal(await serverModel(name), undefined);
  });

  test('a restarted hub reattaches to the running job and cancels an orphan', async () => {
    const name = await newUser();
    await startReady(name, { partition: 'debug' });
    const jobId = String((await serverModel(name))!.state.job_id);
    // A job of the hub's name that no server row knows: left by a hub that lost its database, say.
    const orphanOwner = await newUser();
    const orphan = await slurm.run('sudo', ['-E', '-u', orphanOwner, '--', 'sbatch', '--parsable', '--job-name=ganymede', '--chdir=/tmp', '--output=/dev/null', '--wrap=sleep 600']);
    assert.equal(orphan.code, 0, orphan.stderr);
    const orphanId = orphan.stdout.trim();

    assert.equal(await hub.stop(), 0);
    hub = await startHubHere();
    await waitFor(async () => !(await activeJobs(orphanOwner)).length, 20_000, 'the orphan to be cancelled');
    const model = await serverModel(name);
    assert.equal(model?.ready, true);
    assert.equal(model?.state.job_id, jobId, 'the same job, not a new one');
    assert.deepEqual((await userJobs(name)).map((j) => j.id), [jobId], 'nothing was resubmitted');
    assert.equal((await slurm.jobs()).find((j) => j.id === orphanId)?.state, 'CANCELLED');
    const tok = await hub.api(`/users/${name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'after restart' } });
    const api = await fetch(`${hub.url}user/${name}/api/status`, { headers: { Authorization: `token ${tok.json.token}` } });
    assert.equal(api.status, 200, 'the proxy reaches the reattached server');
    assert.equal((await hub.api(`/users/${name}/server`, { method: 'DELETE', token: ADMIN_TOKEN })).status, 204);
    assert.deepEqual(await activeJobs(name), [], 'the job has left the queue');
  });
});

/** The user's own home page, logged in with the login form (dummy authenticator). */
async function homePage(hub: HubProcess, name: string): Promise<string> {
  const session = new CookieSession(new URL(hub.url).origin);
  await session.login('/hub/', name);
  const { res } = await session.follow('/hub/home');
  assert.equal(res.status, 200);
  return res.text();
}

type ProgressEvent = Record<string, unknown>;

/**
 * Reads a server's progress stream as it comes: `until(match)` resolves at the first event that
 * matches (rejecting if the stream ends without one), `all` with every event once the stream ends.
 */
function followProgress(hub: HubProcess, name: string): { until(match: (e: ProgressEvent) => boolean, what: string): Promise<ProgressEvent>; all: Promise<ProgressEvent[]> } {
  const seen: ProgressEvent[] = [];
  const waiting: Array<{ match: (e: ProgressEvent) => boolean; resolve(e: ProgressEvent): void }> = [];
  const all = (async () => {
    const res = await fetch(`${hub.url}hub/api/users/${name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const event = JSON.parse(data) as ProgressEvent;
        seen.push(event);
        for (const w of waiting.filter((w) => w.match(event))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(event);
        }
      }
    }
    return seen;
  })();
  return {
    all,
    until: (match, what) =>
      new Promise<ProgressEvent>((resolve, reject) => {
        const hit = seen.find(match);
        if (hit) return resolve(hit);
        waiting.push({ match, resolve });
        all.then(
          (events) => reject(new Error(`the progress stream ended without ${what}:\n${events.map((e) => e.message).join('\n')}`)),
          reject,
        );
      }),
  };
}
