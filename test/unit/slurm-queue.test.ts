/** What squeue says, read once for every job: parsing, queue positions, the shared board, and the spawner's poll and details. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { slurmSchema, spawnerSchema } from '../../src/config/schema.js';
import type { CommandResult, CommandRunner } from '../../src/spawners/slurm/commands.js';
import { describeEnd, describeResources, SlurmSpawner } from '../../src/spawners/slurm/index.js';
import { isActive, JobBoard, parseSqueue, queuePositions } from '../../src/spawners/slurm/queue.js';
import type { SpawnerState } from '../../src/spawners/spawner.js';

const silent = pino({ level: 'silent' });

/** A runner standing in for squeue: answers the job query with `jobs` and the positions query with `queue`. */
function fakeSqueue(jobs: string, queue = '') {
  const fake = {
    calls: [] as Array<{ user: string | null; argv: string[] }>,
    jobs,
    queue,
    code: 0,
    runner: {
      envInScript: false,
      run: async (user: string | null, argv: string[]): Promise<CommandResult> => {
        fake.calls.push({ user, argv });
        // Answer on a later turn of the event loop, as a real process would.
        await new Promise((r) => setImmediate(r));
        if (fake.code !== 0) return { code: fake.code, stdout: '', stderr: 'squeue: error: Unable to contact slurm controller (connect failure)\n' };
        return { code: 0, stdout: argv.includes('--states=PENDING') ? fake.queue : fake.jobs, stderr: '' };
      },
    } satisfies CommandRunner,
  };
  return fake;
}

const SQUEUE = [
  '123|PENDING|Resources|n/a|alice|debug',
  '124|RUNNING|None|node017|bob|gpu',
  '125|TIMEOUT|TimeLimit|node003|carol|debug',
  '126|PENDING|Priority|n/a|dave|gpu',
  '',
].join('\n');

test('parseSqueue reads the jobs of realistic squeue output', () => {
  assert.deepEqual(parseSqueue(SQUEUE), [
    { id: '123', state: 'PENDING', reason: 'Resources', node: '', user: 'alice', partition: 'debug' },
    { id: '124', state: 'RUNNING', reason: '', node: 'node017', user: 'bob', partition: 'gpu' },
    { id: '125', state: 'TIMEOUT', reason: 'TimeLimit', node: 'node003', user: 'carol', partition: 'debug' },
    { id: '126', state: 'PENDING', reason: 'Priority', node: '', user: 'dave', partition: 'gpu' },
  ]);
});

test('parseSqueue: (null) fields, states with a suffix, surrounding blanks, and lines that are not jobs', () => {
  const out = [
    'JOBID|STATE|REASON|EXEC_HOST|USER|PARTITION',
    '  127|COMPLETED|(null)|(null)|eve|debug  ',
    '128|CANCELLED by 1000|None|node004|frank|debug',
    '129|FAILED|NonZeroExitCode|node005|gina|gpu',
    '130_1|RUNNING|None|node006|hank|debug',
    '131|RUNNING|None|node007|ida',
    '132|RUNNING|None|node008|ida|debug|extra',
    'squeue: error: Invalid user',
    '',
    '\r',
  ].join('\n');
  assert.deepEqual(parseSqueue(out), [
    { id: '127', state: 'COMPLETED', reason: '', node: '', user: 'eve', partition: 'debug' },
    { id: '128', state: 'CANCELLED', reason: '', node: 'node004', user: 'frank', partition: 'debug' },
    { id: '129', state: 'FAILED', reason: 'NonZeroExitCode', node: 'node005', user: 'gina', partition: 'gpu' },
  ]);
  assert.deepEqual(parseSqueue(''), []);
});

test('isActive: waiting and running states hold resources, ended ones do not', () => {
  for (const s of ['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED']) assert.equal(isActive(s), true, s);
  for (const s of ['COMPLETED', 'TIMEOUT', 'CANCELLED', 'FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', '']) assert.equal(isActive(s), false, s);
});

test('queuePositions counts places per partition, in the order squeue sorted them', () => {
  const positions = queuePositions(['10|gpu', '11|cpu', '12|gpu,cpu', '13|cpu', '14|gpu', 'garbage', '|cpu', '15|', ''].join('\n'));
  assert.deepEqual([...positions.entries()], [
    ['10', 1],
    ['11', 1],
    ['12', 2],
    ['13', 2],
    ['14', 3],
  ]);
});

test('500 concurrent snapshots cost one squeue, run as the poll account with the hub job name', async () => {
  const fake = fakeSqueue(['124|RUNNING|None|node017|bob|gpu', '125|TIMEOUT|TimeLimit|node003|carol|debug'].join('\n'));
  const board = new JobBoard(slurmSchema.parse({ job_name: 'hub-a' }), fake.runner);
  const snapshots = await Promise.all(Array.from({ length: 500 }, () => board.snapshot()));
  assert.equal(fake.calls.length, 1);
  assert.equal(board.calls, 1);
  assert.deepEqual(fake.calls[0], { user: null, argv: ['squeue', '--noheader', '--states=all', '--name=hub-a', '--format=%i|%T|%r|%B|%u|%P'] });
  assert.ok(snapshots.every((s) => s === snapshots[0]), 'all share one snapshot');
  assert.deepEqual([...snapshots[0]!.jobs.keys()], ['124', '125']);
  assert.equal(snapshots[0]!.jobs.get('124')!.position, undefined);
  // A recent enough snapshot is reused.
  await board.snapshot(60_000);
  assert.equal(fake.calls.length, 1);
});

test('with a pending job, 500 concurrent snapshots cost two squeues: the jobs, then the queue positions', async () => {
  const fake = fakeSqueue(SQUEUE, ['126|gpu', '200|debug', '201|gpu', '123|debug'].join('\n'));
  const board = new JobBoard(slurmSchema.parse({ commands: { squeue: '/opt/slurm/bin/squeue' } }), fake.runner);
  const snapshots = await Promise.all(Array.from({ length: 500 }, () => board.snapshot()));
  assert.equal(fake.calls.length, 2);
  assert.equal(board.calls, 2);
  assert.deepEqual(fake.calls[1], { user: null, argv: ['/opt/slurm/bin/squeue', '--noheader', '--states=PENDING', '--partition=debug,gpu', '--sort=-p,i', '--format=%i|%P'] });
  const jobs = snapshots[0]!.jobs;
  assert.equal(jobs.get('123')!.position, 2, 'second in debug, after job 200 of someone else');
  assert.equal(jobs.get('126')!.position, 1);
  assert.equal(jobs.get('124')!.position, undefined, 'running jobs have no place in the queue');
});

test('a failed positions query leaves the jobs without positions but the snapshot stands', async () => {
  const fake = fakeSqueue(SQUEUE);
  let n = 0;
  const runner: CommandRunner = {
    envInScript: false,
    run: async (user, argv) => (++n === 2 ? { code: 1, stdout: '', stderr: 'boom' } : fake.runner.run(user, argv)),
  };
  const board = new JobBoard(slurmSchema.parse({}), runner);
  const snapshot = await board.snapshot();
  assert.equal(n, 2);
  assert.equal(snapshot.jobs.get('123')!.state, 'PENDING');
  assert.equal(snapshot.jobs.get('123')!.position, undefined);
});

test('a failing squeue rejects every waiting caller with its error, and the next call tries again', async () => {
  const fake = fakeSqueue('124|RUNNING|None|node017|bob|gpu');
  fake.code = 1;
  const board = new JobBoard(slurmSchema.parse({}), fake.runner);
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => board.snapshot()));
  assert.equal(fake.calls.length, 1);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.match(String((r as PromiseRejectedResult).reason), /squeue failed \(exit 1\): squeue: error: Unable to contact slurm controller/);
  }
  fake.code = 0;
  assert.equal((await board.snapshot()).jobs.get('124')!.node, 'node017');
  assert.equal(fake.calls.length, 2);
});

test('100 concurrent nextTick waiters share one squeue', async () => {
  const fake = fakeSqueue('124|RUNNING|None|node017|bob|gpu');
  const board = new JobBoard(slurmSchema.parse({ queue_poll_interval: 0.01 }), fake.runner);
  const snapshots = await Promise.all(Array.from({ length: 100 }, () => board.nextTick()));
  assert.equal(fake.calls.length, 1);
  assert.ok(snapshots.every((s) => s === snapshots[0]));
  assert.equal(snapshots[0]!.jobs.get('124')!.state, 'RUNNING');
  // The next round of waiters gets a fresh snapshot of its own.
  fake.jobs = '124|COMPLETED|None|node017|bob|gpu';
  const [later] = await Promise.all([board.nextTick(), board.nextTick()]);
  assert.equal(fake.calls.length, 2);
  assert.equal(later.jobs.get('124')!.state, 'COMPLETED');
  board.close();
});

test('close() rejects the waiters and runs no squeue', async () => {
  const fake = fakeSqueue('');
  const board = new JobBoard(slurmSchema.parse({ queue_poll_interval: 3600 }), fake.runner);
  const waiting = Promise.allSettled([board.nextTick(), board.nextTick()]);
  board.close();
  const results = await waiting;
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((results[0] as PromiseRejectedResult).reason), /shutting down/);
  assert.equal(fake.calls.length, 0);
});

function spawnerWith(runner: CommandRunner, slurm: Record<string, unknown> = {}): SlurmSpawner {
  return new SlurmSpawner(spawnerSchema.parse({ class: 'slurm', slurm }), silent, { runner });
}

test('SlurmSpawner.poll: 500 servers polled at once cost one squeue', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) {
    const id = 1000 + i;
    if (i % 5 === 4) lines.push(`${id}|TIMEOUT|TimeLimit|node${i}|u${i}|debug`);
    else if (i % 5 === 3) lines.push(`${id}|COMPLETING|None|node${i}|u${i}|debug`);
    else lines.push(`${id}|RUNNING|None|node${i}|u${i}|debug`);
  }
  lines.splice(7, 1); // job 1007 is gone from squeue's memory
  const fake = fakeSqueue(lines.join('\n'));
  const spawner = spawnerWith(fake.runner);
  const states: SpawnerState[] = Array.from({ length: 500 }, (_, i) => ({ job_id: String(1000 + i), job_user: `u${i}`, time_minutes: 90 }));
  const results = await Promise.all(states.map((s) => spawner.poll(s)));
  assert.equal(fake.calls.length, 1);
  assert.equal(spawner.board.calls, 1);
  assert.deepEqual(results[0], { running: true });
  assert.deepEqual(results[3], { running: true }, 'COMPLETING: how it ended shows at the next poll');
  assert.deepEqual(results[4], { running: false, message: 'Job 1004 reached its time limit of 90 minutes and was ended by Slurm (TIMEOUT)' });
  assert.deepEqual(results[7], { running: false, message: 'Job 1007 is no longer known to Slurm' });
  assert.equal(results.filter((r) => r.running).length, 400 - 1);
  assert.deepEqual(await spawner.poll({}), { running: false, message: 'no batch job recorded' });
  assert.equal(fake.calls.length, 1, 'a state without a job asks nothing');
  await spawner.close();
});

test('describeEnd says what happened, with the job id and the state', () => {
  const cases: Array<[string, string, number | undefined, RegExp]> = [
    ['TIMEOUT', 'TimeLimit', 120, /^Job 42 reached its time limit of 120 minutes and was ended by Slurm \(TIMEOUT\)$/],
    ['TIMEOUT', '', undefined, /^Job 42 reached its time limit and was ended by Slurm \(TIMEOUT\)$/],
    ['CANCELLED', '', undefined, /^Job 42 was cancelled outside the hub \(CANCELLED\)$/],
    ['CANCELLED', 'Prolog', undefined, /^Job 42 was cancelled outside the hub \(CANCELLED \(Prolog\)\)$/],
    ['NODE_FAIL', 'NodeDown', undefined, /^The node running job 42 failed \(NODE_FAIL\)$/],
    ['FAILED', 'NonZeroExitCode', undefined, /^Job 42 failed \(NonZeroExitCode\)$/],
    ['OUT_OF_MEMORY', '', undefined, /^Job 42 ran out of memory \(OUT_OF_MEMORY\): ask for more memory$/],
    ['PREEMPTED', '', undefined, /^Job 42 .*\(PREEMPTED\)$/],
    ['BOOT_FAIL', '', undefined, /^The node for job 42 .*\(BOOT_FAIL\)$/],
    ['SPECIAL_EXIT', 'X', undefined, /^Job 42 ended: SPECIAL_EXIT \(X\)$/],
  ];
  for (const [state, reason, minutes, expected] of cases) {
    const message = describeEnd({ id: '42', state, reason }, minutes);
    assert.match(message, expected, state);
    assert.match(message, /\b42\b/);
    assert.ok(message.toUpperCase().includes(state), `${message} names ${state}`);
  }
});

test('describeResources: singular and plural, GPUs only when asked for', () => {
  assert.equal(describeResources({ cpus: 1, memory_gb: 2, gpus: 0 }), '1 CPU, 2 GB');
  assert.equal(describeResources({ cpus: 4, memory_gb: 16, gpus: 0, gpu_type: 'a100' }), '4 CPUs, 16 GB');
  assert.equal(describeResources({ cpus: 4, memory_gb: 16, gpus: 1 }), '4 CPUs, 16 GB, 1 GPU');
  assert.equal(describeResources({ cpus: 8, memory_gb: 64, gpus: 2, gpu_type: 'a100' }), '8 CPUs, 64 GB, 2 GPUs (a100)');
});

test('SlurmSpawner.describe gives the job, partition, resources, node and time left', () => {
  const spawner = spawnerWith(fakeSqueue('').runner);
  // Started 30.5 minutes ago with 120 minutes: 89.5 left, shown as whole minutes.
  const since = new Date(Date.now() - 30 * 60_000 - 30_000).toISOString();
  const state: SpawnerState = { job_id: '42', job_user: 'alice', partition: 'gpu', cpus: 4, memory_gb: 16, gpus: 2, gpu_type: 'a100', node: 'node017', port: 40000, running_since: since, time_minutes: 120 };
  assert.deepEqual(spawner.describe(state), [
    { label: 'Job', value: '42' },
    { label: 'Partition', value: 'gpu' },
    { label: 'Resources', value: '4 CPUs, 16 GB, 2 GPUs (a100)' },
    { label: 'Node', value: 'node017' },
    { label: 'Time left', value: '1 h 29 min' },
  ]);
  // Past its time: none left, never negative.
  assert.deepEqual(spawner.describe({ ...state, running_since: '2020-01-01T00:00:00Z' }).at(-1), { label: 'Time left', value: '0 min' });
  // Still pending: a job, no node, no time left yet.
  assert.deepEqual(spawner.describe({ job_id: '43', partition: 'debug', cpus: 1, memory_gb: 2, gpus: 0, time_minutes: 60 }), [
    { label: 'Job', value: '43' },
    { label: 'Partition', value: 'debug' },
    { label: 'Resources', value: '1 CPU, 2 GB' },
  ]);
  assert.deepEqual(spawner.describe({}), []);
});

test(
  'a start whose server reported its port before squeue shows it running waits for the next tick',
  async () => {
    const fake = fakeSqueue('77|PENDING|None|n/a|alice|debug', '77|debug');
    const runner: CommandRunner = {
      envInScript: false,
      run: (user, argv) => (argv[0] === 'sbatch' ? Promise.resolve({ code: 0, stdout: '77\n', stderr: '' }) : fake.runner.run(user, argv)),
    };
    // No tick within the test: every squeue seen here is one the start asked for outside the ticker.
    const spawner = spawnerWith(runner, { queue_poll_interval: 3600 });
    const abort = new AbortController();
    const progress: string[] = [];
    const started = spawner
      .start(
        { user: { id: 1, name: 'alice', admin: false, groups: [] }, serverName: '', servicePrefix: '/user/alice/', env: {}, userOptions: {}, resources: {}, previousState: {}, authState: null },
        { progress: (e) => progress.push(e.message), saveState: async () => undefined },
        abort.signal,
      )
      .catch((err: unknown) => err as Error);
    while (progress.length < 2) await new Promise((r) => setImmediate(r));
    assert.equal(spawner.acceptReport({ userName: 'alice', serverName: '', port: 40000 }), true);
    for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
    const calls = fake.calls.length;
    abort.abort(new Error('test over'));
    await started;
    await spawner.close();
    // One look at the queue right after the report is fine; then it should wait for the ticker.
    assert.ok(calls <= 2, `${calls} squeue calls within 100 turns of the event loop`);
    assert.equal(progress.filter((m) => m.includes('listens on port 40000')).length, 1, progress.join('\n'));
  },
);

test('a start rides out a few failing squeue calls, then gives up saying Slurm does not answer', async () => {
  let squeueCalls = 0;
  const runner: CommandRunner = {
    envInScript: false,
    run: async (_user, argv) => {
      if (argv[0] === 'sbatch') return { code: 0, stdout: '88\n', stderr: '' };
      squeueCalls++;
      return { code: 1, stdout: '', stderr: 'slurm_load_jobs error: Unable to contact slurm controller' };
    },
  };
  const spawner = spawnerWith(runner, { queue_poll_interval: 0.01 });
  const result = await spawner
    .start(
      { user: { id: 1, name: 'alice', admin: false, groups: [] }, serverName: '', servicePrefix: '/user/alice/', env: {}, userOptions: {}, resources: {}, previousState: {}, authState: null },
      { progress: () => undefined, saveState: async () => undefined },
      new AbortController().signal,
    )
    .catch((err: unknown) => err as Error);
  await spawner.close();
  assert.ok(result instanceof Error);
  assert.match(result.message, /^Slurm does not answer \(job 88\): squeue failed \(exit 1\): slurm_load_jobs error: Unable to contact slurm controller$/);
  assert.equal(squeueCalls, 5, 'five ticks failed before it gave up, not one');
});

test('a running server whose job Slurm put back in the queue counts as stopped, saying why', async () => {
  const spawner = spawnerWith(fakeSqueue('300|PENDING|BeginTime|n/a|alice|debug\n301|RUNNING|None|node1|bob|debug').runner);
  const requeued = await spawner.poll({ job_id: '300', job_user: 'alice' });
  assert.equal(requeued.running, false);
  assert.match(requeued.running ? '' : (requeued.message ?? ''), /^Job 300 was put back in the queue by Slurm \(PENDING, BeginTime\)$/);
  assert.deepEqual(await spawner.poll({ job_id: '301', job_user: 'bob' }), { running: true });
  await spawner.close();
});
