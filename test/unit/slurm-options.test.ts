/** The Slurm options: what the form and the API may ask for, per partition, and that nothing else gets through. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { slurmSchema, spawnerSchema, type SlurmConfig } from '../../src/config/schema.js';
import { HubError } from '../../src/errors.js';
import type { CommandResult, CommandRunner } from '../../src/spawners/slurm/commands.js';
import { SlurmSpawner } from '../../src/spawners/slurm/index.js';
import { optionsFromJson, optionsToJson, parseSlurmOptions, slurmOptionsForm } from '../../src/spawners/slurm/options.js';
import type { JsonObject, JsonValue } from '../../src/spawners/spawner.js';

const silent = pino({ level: 'silent' });
const alice = { id: 1, name: 'alice', admin: false, groups: [] };

const PARTITIONS = {
  cpu: { description: 'CPU nodes', cpus: { min: 1, max: 8, default: 1 }, time_minutes: { min: 10, max: 480, default: 60 } },
  gpu: {
    description: 'GPU nodes',
    gpus: { min: 1, max: 4, default: 1 },
    gpu_types: ['a100', 'v100'],
    time_minutes: { min: 10, max: 480, default: 60 },
    accounts: ['proj1', 'proj2'],
    qos: ['normal', 'long'],
  },
};

const config: SlurmConfig = slurmSchema.parse({ partitions: PARTITIONS });
/** Everything configured: images, a container wrapper and extra options, so that every field has a list to be checked against. */
const full: SlurmConfig = slurmSchema.parse({
  partitions: PARTITIONS,
  images: { py311: { image: '/cvmfs/images/python-3.11.sif', description: 'Python 3.11' }, r43: { image: 'docker://rocker/r-ver:4.3' } },
  container: { command: 'apptainer exec --nv {image}' },
  extra_options: ['constraint', 'reservation'],
});

function errorsOf(err: unknown): Record<string, string> {
  assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
  assert.equal(err.status, 400);
  return err.extra.errors as Record<string, string>;
}

/** Assert that `input` is refused with a 400 naming exactly `field` (and, if given, a message matching `message`). */
function refused(input: JsonObject, field: string, message?: RegExp, cfg: SlurmConfig = config): void {
  assert.throws(
    () => parseSlurmOptions(input, cfg),
    (err: unknown) => {
      const errors = errorsOf(err);
      assert.deepEqual(Object.keys(errors), [field], `errors of ${JSON.stringify(input).slice(0, 200)}`);
      assert.ok((err as Error).message.startsWith(`${field}: `), `the message names the field: ${(err as Error).message}`);
      if (message) assert.match(errors[field]!, message);
      return true;
    },
    `${JSON.stringify(input).slice(0, 200)} must be refused`,
  );
}

function spyRunner() {
  const spy = {
    calls: 0,
    runner: {
      envInScript: false,
      run: async (): Promise<CommandResult> => {
        spy.calls++;
        return { code: 0, stdout: '', stderr: '' };
      },
    } satisfies CommandRunner,
  };
  return spy;
}

function slurmSpawner(slurm: Record<string, unknown>, runner: CommandRunner): SlurmSpawner {
  return new SlurmSpawner(spawnerSchema.parse({ class: 'slurm', slurm }), silent, { runner });
}

test('nothing given: the first partition with its defaults, and no optional field', () => {
  assert.deepEqual(parseSlurmOptions({}, config), { partition: 'cpu', cpus: 1, memory_gb: 2, time_minutes: 60, gpus: 0, extra: {} });
  // Empty form fields count as not given.
  assert.deepEqual(parseSlurmOptions({ cpus: '', memory_gb: null, time_minutes: '', gpus: '', extra: '' }, config), parseSlurmOptions({}, config));
});

test('the GPU partition defaults to its first GPU type, account and QOS', () => {
  assert.deepEqual(parseSlurmOptions({ partition: 'gpu' }, config), {
    partition: 'gpu',
    cpus: 1,
    memory_gb: 2,
    time_minutes: 60,
    gpus: 1,
    gpu_type: 'a100',
    account: 'proj1',
    qos: 'normal',
    extra: {},
  });
});

test('numbers from API JSON and digit strings from the form give the same options', () => {
  const api = parseSlurmOptions({ partition: 'gpu', cpus: 4, memory_gb: 16, time_minutes: 480, gpus: 4, gpu_type: 'v100', account: 'proj2', qos: 'long' }, config);
  const form = parseSlurmOptions({ partition: 'gpu', cpus: '4', memory_gb: '16', time_minutes: '480', gpus: '4', gpu_type: 'v100', account: 'proj2', qos: 'long' }, config);
  assert.deepEqual(api, form);
  assert.deepEqual(api, { partition: 'gpu', cpus: 4, memory_gb: 16, time_minutes: 480, gpus: 4, gpu_type: 'v100', account: 'proj2', qos: 'long', extra: {} });
  assert.equal(typeof form.cpus, 'number');
});

test('the bounds of each partition are its own, the limits themselves included', () => {
  assert.equal(parseSlurmOptions({ partition: 'cpu', cpus: 8 }, config).cpus, 8);
  assert.equal(parseSlurmOptions({ partition: 'cpu', cpus: 1 }, config).cpus, 1);
  assert.equal(parseSlurmOptions({ partition: 'cpu', time_minutes: 10 }, config).time_minutes, 10);
  assert.equal(parseSlurmOptions({ partition: 'gpu', time_minutes: 480 }, config).time_minutes, 480);
  assert.equal(parseSlurmOptions({ partition: 'gpu', gpus: 1 }, config).gpus, 1);
  // 8 CPUs is fine in cpu but above gpu's default maximum of 4.
  refused({ partition: 'gpu', cpus: 8 }, 'cpus', /between 1 and 4 CPUs in partition gpu/);
});

test('each out-of-bounds value is refused with a 400 naming its field', () => {
  const cases: Array<[JsonObject, string, RegExp]> = [
    [{ partition: 'cpu', cpus: 0 }, 'cpus', /between 1 and 8 CPUs in partition cpu/],
    [{ partition: 'cpu', cpus: 9 }, 'cpus', /between 1 and 8/],
    [{ partition: 'cpu', cpus: '9' }, 'cpus', /between 1 and 8/],
    [{ partition: 'cpu', memory_gb: 17 }, 'memory_gb', /between 1 and 16 GB/],
    [{ partition: 'cpu', memory_gb: 0 }, 'memory_gb', /between 1 and 16 GB/],
    [{ partition: 'cpu', time_minutes: 481 }, 'time_minutes', /between 10 and 480 minutes/],
    [{ partition: 'gpu', time_minutes: 9 }, 'time_minutes', /between 10 and 480 minutes/],
    [{ partition: 'cpu', gpus: 1 }, 'gpus', /partition cpu allows only 0 GPUs/],
    [{ partition: 'gpu', gpus: 0 }, 'gpus', /between 1 and 4 GPUs in partition gpu/],
    [{ partition: 'gpu', gpus: 5 }, 'gpus', /between 1 and 4/],
    [{ partition: 'gpu', gpu_type: 'h100' }, 'gpu_type', /must be one of a100, v100/],
    [{ partition: 'gpu', account: 'proj3' }, 'account', /must be one of proj1, proj2/],
    [{ partition: 'gpu', qos: 'high' }, 'qos', /must be one of normal, long/],
    [{ partition: 'cpu', account: 'proj9' }, 'account', /must be one of proj1, proj2/],
    [{ partition: 'cpu', qos: 'urgent' }, 'qos', /must be one of normal, long/],
    [{ partition: 'cpu', gpu_type: 'h100' }, 'gpu_type', /must be one of a100, v100/],
    [{ partition: 'debug' }, 'partition', /must be one of cpu, gpu/],
    [{ partition: 'CPU' }, 'partition', /must be one of cpu, gpu/],
    [{ image: 'py311' }, 'image', /no choice of container image/],
  ];
  for (const [input, field, message] of cases) refused(input, field, message);
});

test('values of the wrong type or form are refused', () => {
  const notWhole: JsonValue[] = [1.5, -1, '1.5', '-1', '+1', '1e3', '0x10', 'one', ' ', '１', '1 2', 1e21, '1234567890'];
  for (const value of notWhole) refused({ cpus: value }, 'cpus', /whole number/);
  for (const value of [true, false, {}, { a: 1 }, [1, 2], [], [[1]]] as JsonValue[]) {
    for (const field of ['partition', 'cpus', 'memory_gb', 'time_minutes', 'gpus', 'gpu_type', 'account', 'qos', 'image', 'extra']) {
      refused({ [field]: value }, field, /must be a string or a number/, full);
    }
  }
  refused({ account: 'x'.repeat(501) }, 'account', /too long/);
});

test('a field repeated once (a form field given as a one-element list) counts as its value; twice is refused', () => {
  assert.equal(parseSlurmOptions({ cpus: ['2'] }, config).cpus, 2);
  assert.equal(parseSlurmOptions({ partition: ['gpu'] }, config).partition, 'gpu');
  refused({ cpus: ['2', '3'] }, 'cpus', /string or a number/);
});

test('unknown fields are refused, names of Object.prototype included', () => {
  refused({ nodes: 2 }, 'nodes', /not an option/);
  refused({ partition: 'cpu', uid: 0 }, 'uid', /not an option/);
  refused({ constructor: 'x' }, 'constructor', /not an option/);
  refused({ toString: 'x' }, 'toString', /not an option/);
  refused(JSON.parse('{"__proto__": {"cpus": 99}}') as JsonObject, '__proto__', /not an option/);
  // Case matters: the API's field names are lower case.
  refused({ CPUS: 2 }, 'CPUS', /not an option/);
});

test('images: the first is the default, the others can be chosen, nothing else', () => {
  assert.equal(parseSlurmOptions({}, full).image, 'py311');
  assert.equal(parseSlurmOptions({ image: 'r43' }, full).image, 'r43');
  refused({ image: 'ubuntu' }, 'image', /must be one of py311, r43/, full);
  // The image's path is not a choice: only the admin's name for it.
  refused({ image: '/cvmfs/images/python-3.11.sif' }, 'image', /must be one of/, full);
  assert.equal(parseSlurmOptions({}, config).image, undefined);
});

test('extra options: only when configured, only allowed names, restricted values', () => {
  refused({ extra: '--constraint=a100' }, 'extra', /allows no extra sbatch options/, config);
  assert.deepEqual(parseSlurmOptions({ extra: '--constraint=a100' }, full).extra, { constraint: 'a100' });
  assert.deepEqual(parseSlurmOptions({ extra: '  --constraint=ib\t--reservation=maint_2025 ' }, full).extra, { constraint: 'ib', reservation: 'maint_2025' });
  const bad: Array<[string, RegExp]> = [
    ['--uid=0', /--uid is not allowed \(allowed: --constraint, --reservation\)/],
    ['--constraint=a --uid=0', /--uid is not allowed/],
    ['--Constraint=a', /not of the form --option=value/],
    ['constraint=a', /not of the form/],
    ['--constraint a100', /not of the form/],
    ['-C=a100', /not of the form/],
    ['--constraint=', /the value of --constraint may hold only/],
    ['--constraint=$(id)', /the value of --constraint may hold only/],
    ['--constraint=`id`', /may hold only/],
    ['--constraint=a;id', /may hold only/],
    ["--constraint='a'", /may hold only/],
    ['--constraint=a/b', /may hold only/],
    ['--constraint=a=b', /may hold only/],
    [`--constraint=${'a'.repeat(129)}`, /at most 128/],
    ['--constraint=a --constraint=b', /given twice/],
    ['--constraint=a\n#SBATCH --uid=0', /not of the form/],
  ];
  for (const [extra, message] of bad) refused({ extra }, 'extra', message, full);
  assert.equal(parseSlurmOptions({ extra: `--constraint=${'a'.repeat(128)}` }, full).extra.constraint, 'a'.repeat(128));
});

test('stored options read back (optionsFromJson) give the same options', () => {
  const options = parseSlurmOptions({ partition: 'gpu', gpus: 2, gpu_type: 'v100', image: 'r43', extra: '--constraint=ib --reservation=r1' }, full);
  const stored = optionsToJson(options);
  assert.deepEqual(optionsFromJson(JSON.parse(JSON.stringify(stored)) as JsonObject, full), options);
  // Checked again on the way back: a tampered row is refused like a request.
  assert.throws(() => optionsFromJson({ ...stored, extra: { uid: '0' } }, full), (err: unknown) => 'extra' in errorsOf(err));
  assert.throws(() => optionsFromJson({ ...stored, cpus: 64 }, full), (err: unknown) => 'cpus' in errorsOf(err));
});

/** Every field, every nasty value: refused with a 400 for that field, before any command runs. */
const NASTY: JsonValue[] = [
  'debug\n#SBATCH --uid=0',
  '1; rm -rf /',
  '$(id)',
  '`id`',
  "1' || '",
  '"quoted"',
  'x'.repeat(100000),
  'ünïcödé',
  '--constraint=a\n#SBATCH --x=y',
  '--constraint=$(id)',
  '--uid=0',
  '1\r\n2',
  '../../etc/passwd',
  '-1',
  '1 --uid=0',
  'a100\u0000',
  '\u202ea100',
];
const NASTY_SHAPES = (v: JsonValue): JsonValue[] => [v, [v], [v, v], { v }, [{ v }], { toString: v }];
const FIELDS = ['partition', 'cpus', 'memory_gb', 'time_minutes', 'gpus', 'gpu_type', 'account', 'qos', 'image', 'extra'];

test('injection: every nasty value in every field is refused with 400 for that field, and no command runs', async () => {
  const spy = spyRunner();
  const spawner = slurmSpawner(
    {
      partitions: PARTITIONS,
      images: { py311: { image: '/cvmfs/images/python-3.11.sif' } },
      container: { command: 'apptainer exec --nv {image}' },
      extra_options: ['constraint', 'reservation'],
    },
    spy.runner,
  );
  let tried = 0;
  for (const field of FIELDS) {
    // In partition gpu every list (GPU types, accounts, QOS) is non-empty, so the value itself is what is judged.
    const base: JsonObject = field === 'partition' ? {} : { partition: 'gpu' };
    for (const nasty of NASTY) {
      for (const value of NASTY_SHAPES(nasty)) {
        tried++;
        await assert.rejects(
          spawner.parseOptions({ ...base, [field]: value }, alice),
          (err: unknown) => {
            assert.deepEqual(Object.keys(errorsOf(err)), [field], `${field} = ${JSON.stringify(value).slice(0, 80)}`);
            assert.ok((err as Error).message.startsWith(`${field}: `));
            return true;
          },
          `${field} = ${JSON.stringify(value).slice(0, 80)} must be refused`,
        );
      }
    }
  }
  assert.equal(tried, FIELDS.length * NASTY.length * 6);
  assert.equal(spy.calls, 0, 'no command ran');
  await spawner.close();
});

test('injection: a digit string with a trailing newline is read as the bare number, never as text', async () => {
  // The fields are trimmed before the digit check, so "1\r\n" is 1 (within cpu's bounds); what reaches
  // the script is the number the module produced, not the string. Outside the bounds it is refused.
  const spy = spyRunner();
  const spawner = slurmSpawner({ partitions: PARTITIONS }, spy.runner);
  const options = await spawner.parseOptions({ partition: 'cpu', cpus: '1\r\n', memory_gb: ' 2\t' }, alice);
  assert.equal(options.cpus, 1);
  assert.equal(options.memory_gb, 2);
  await assert.rejects(spawner.parseOptions({ partition: 'cpu', time_minutes: '1\r\n' }, alice), (err: unknown) => 'time_minutes' in errorsOf(err));
  await assert.rejects(spawner.parseOptions({ partition: 'cpu', gpus: '1\r\n' }, alice), (err: unknown) => 'gpus' in errorsOf(err));
  for (const field of ['partition', 'gpu_type', 'account', 'qos', 'extra']) {
    await assert.rejects(spawner.parseOptions({ partition: 'gpu', [field]: '1\r\n' }, alice), (err: unknown) => field in errorsOf(err), field);
  }
  assert.equal(spy.calls, 0);
});

test('user names that are not Unix account names are refused by parseOptions with 400', async () => {
  const spy = spyRunner();
  const spawner = slurmSpawner({ partitions: PARTITIONS }, spy.runner);
  for (const name of ['al ice', '../x', 'a;b', '$(id)', '`id`', '-x', 'alice\n', 'a/b', '', 'a..b']) {
    await assert.rejects(
      spawner.parseOptions({}, { ...alice, name }),
      (err: unknown) => err instanceof HubError && err.status === 400 && /Unix account name/.test(err.message),
      JSON.stringify(name),
    );
  }
  assert.deepEqual(await spawner.parseOptions({ cpus: 2 }, alice), { partition: 'cpu', cpus: 2, memory_gb: 2, time_minutes: 60, gpus: 0, extra: {} });
  assert.equal(spy.calls, 0);
});

test('the form escapes the descriptions the admin wrote', () => {
  const form = slurmOptionsForm(
    slurmSchema.parse({
      partitions: { cpu: { description: '<script>alert("p")</script> & more' } },
      images: { py: { image: '/i.sif', description: '<img src=x onerror=alert(1)>' } },
      container: { command: 'apptainer exec {image}' },
    }),
  );
  assert.ok(!form.includes('<script>'), form);
  assert.ok(!form.includes('<img'), form);
  assert.ok(form.includes('cpu — &lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt; &amp; more'), form);
  assert.ok(form.includes('py — &lt;img src=x onerror=alert(1)&gt;'), form);
});

test('the form shows fields only for what is configured', () => {
  const minimal = slurmOptionsForm(slurmSchema.parse({ partitions: { a: {}, b: { cpus: { min: 2, max: 16, default: 2 } } } }));
  for (const name of ['partition', 'cpus', 'memory_gb', 'time_minutes']) assert.ok(minimal.includes(`name="${name}"`), `${name} shown`);
  for (const name of ['gpus', 'gpu_type', 'account', 'qos', 'image', 'extra']) assert.ok(!minimal.includes(`name="${name}"`), `${name} not shown`);
  assert.match(minimal, /<input id="slurm-cpus" name="cpus" type="number" inputmode="numeric" min="1" max="16" step="1" value="1" required>/);
  assert.ok(minimal.includes('a: 1–4 CPUs; b: 2–16 CPUs.'), minimal);

  const all = slurmOptionsForm(full);
  for (const name of ['partition', 'cpus', 'memory_gb', 'time_minutes', 'gpus', 'gpu_type', 'account', 'qos', 'image', 'extra']) {
    assert.ok(all.includes(`name="${name}"`), `${name} shown`);
  }
  assert.ok(all.includes('Allowed: --constraint=value, --reservation=value.'), all);
  assert.ok(all.includes('<option value="v100">v100</option>'), all);
  // No extra field without extra_options, however much else is configured.
  assert.ok(!slurmOptionsForm(config).includes('name="extra"'));
  assert.ok(slurmOptionsForm(config).includes('name="gpus"'));
});

test('the spawner offers the same form', async () => {
  const spawner = slurmSpawner({ partitions: PARTITIONS }, spyRunner().runner);
  assert.equal(await spawner.optionsForm({ id: 1, name: 'alice', admin: false, groups: [] }), slurmOptionsForm(config));
});

test('after a refusal the form shows what was typed, escaped', () => {
  const form = slurmOptionsForm(config, { partition: 'gpu', cpus: '99', memory_gb: '"><script>', gpu_type: 'v100' });
  assert.match(form, /<option value="gpu" selected>/);
  assert.match(form, /name="cpus"[^>]*value="99"/);
  assert.match(form, /name="memory_gb"[^>]*value="&quot;&gt;&lt;script&gt;"/);
  assert.match(form, /<option value="v100" selected>/);
  assert.ok(!form.includes('<script>'));
});

/** What a browser posts for the form untouched, with `partition` changed: every input's value, every select's first option. */
function browserPost(form: string, partition: string): JsonObject {
  const post: JsonObject = {};
  for (const [tag] of form.matchAll(/<input [^>]*>/g)) post[/ name="([^"]+)"/.exec(tag)![1]!] = / value="([^"]*)"/.exec(tag)?.[1] ?? '';
  for (const m of form.matchAll(/<select [^>]*name="([^"]+)">\s*<option value="([^"]*)"/g)) post[m[1]!] = m[2]!;
  post.partition = partition;
  return post;
}

test('the form as a browser posts it, partition gpu with one GPU: accepted', () => {
  const post = browserPost(slurmOptionsForm(config), 'gpu');
  assert.deepEqual(Object.keys(post).sort(), ['account', 'cpus', 'gpu_type', 'gpus', 'memory_gb', 'partition', 'qos', 'time_minutes']);
  assert.equal(parseSlurmOptions({ ...post, gpus: '1' }, config).gpu_type, 'a100');
});

test(
  'the form as a browser posts it, partition cpu: accepted',
  () => {
    const post = browserPost(slurmOptionsForm(config), 'cpu');
    assert.deepEqual(parseSlurmOptions(post, config), { partition: 'cpu', cpus: 1, memory_gb: 2, time_minutes: 60, gpus: 0, extra: {} });
  },
);
