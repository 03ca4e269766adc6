/**
 * The batch script: a template (the one shipped, or the admin's file) with `{{placeholders}}`, filled
 * with validated options. Three rules keep user input out of places it could change the script's
 * meaning: values go in only as produced by options.ts (names from the admin's lists, whole numbers);
 * each simple placeholder is checked again here against a character set with no newline, quote or
 * shell character; and the command and environment are shell-quoted word by word.
 */
import { readFileSync } from 'node:fs';
import type { SlurmConfig } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { SlurmOptions } from './options.js';

export const DEFAULT_BATCH_SCRIPT = `#!/bin/bash
# A Jupyter server for {{username}}, submitted by Ganymede.
{{directives}}
{{environment}}
# sudo -E passes no HOME: take the account's own.
[ -n "\${HOME:-}" ] || export HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
# Site set-up (module load ..., conda activate ...) goes here in your own template (spawner.slurm.batch_script).
exec {{command}}
`;

/**
 * The start-up wrapper, run with the server command as its arguments: it takes a free port on the
 * node, reports it to the hub with the server's own API token (POST {JUPYTERHUB_API_URL}/batchspawner,
 * the endpoint batchspawner's wrapper uses), then becomes the server. Python because the node runs
 * jupyterhub-singleuser, so Python is there; the standard library only.
 */
export const WRAPPER = `import json, os, socket, sys, urllib.request
s = socket.socket()
s.bind(("", 0))
port = s.getsockname()[1]
s.close()
request = urllib.request.Request(
    os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/batchspawner",
    data=json.dumps({"port": port}).encode(),
    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"], "Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request, timeout=60).read()
argv = sys.argv[1:] + ["--port=%d" % port, "--ip=" + os.environ.get("GANYMEDE_SERVER_IP", "0.0.0.0")]
os.execvp(argv[0], argv)
`;

const SIMPLE = ['username', 'job_name', 'partition', 'cpus', 'memory_gb', 'time_minutes', 'gpus', 'gpu_type', 'account', 'qos', 'image', 'work_dir'] as const;
const BLOCKS = ['directives', 'environment', 'command'] as const;
const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;
/** What a simple placeholder's value may hold: no whitespace, quotes, `$`, backticks, `;`, `|`, `&`, `<`, `>`, `#`, backslash. */
const SAFE_VALUE = /^[A-Za-z0-9_.,:@+/=%-]*$/;
/** On an #SBATCH line (a comment to bash, read by sbatch alone) constraint expressions may also use | & *. */
const DIRECTIVE_VALUE = /^[A-Za-z0-9_.,:@+/=%|&*-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quote one word for a POSIX shell (bash reading the batch script, or the login node's shell over SSH). */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./=:@+%,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function shellCommand(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Read and check the admin's template (or take the shipped one); unknown placeholders are a config error. */
export function loadTemplate(config: SlurmConfig): string {
  if (!config.batch_script) return DEFAULT_BATCH_SCRIPT;
  let template: string;
  try {
    template = readFileSync(config.batch_script, 'utf8');
  } catch (err) {
    throw new ConfigError(`spawner.slurm.batch_script: cannot read ${config.batch_script}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const known = new Set<string>([...SIMPLE, ...BLOCKS]);
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!known.has(m[1]!)) {
      throw new ConfigError(`spawner.slurm.batch_script (${config.batch_script}): unknown placeholder {{${m[1]}}}; known: ${[...known].join(', ')}`);
    }
  }
  if (!/\{\{\s*command\s*\}\}/.test(template)) throw new ConfigError(`spawner.slurm.batch_script (${config.batch_script}): the template must contain {{command}}`);
  return template;
}

export interface ScriptInput {
  template: string;
  config: SlurmConfig;
  options: SlurmOptions;
  userName: string;
  /** The server command with its arguments (spawner.cmd + spawner.args, or a course's). */
  serverCommand: string[];
  /** Variables written into the script (ssh mode); empty when they travel in sbatch's environment. */
  scriptEnv: Record<string, string>;
}

export function workDir(config: SlurmConfig, userName: string): string {
  return config.work_dir.replaceAll('{username}', userName);
}

/** The job's log file (sbatch --output), %j being the job id. */
export function logFile(config: SlurmConfig, userName: string): string {
  return `${workDir(config, userName)}/.ganymede-slurm-%j.log`;
}

function directives(i: ScriptInput): string[] {
  const o = i.options;
  const lines: Array<[string, string | number]> = [
    ['job-name', i.config.job_name],
    ['partition', o.partition],
    ['nodes', 1],
    ['ntasks', 1],
    ['cpus-per-task', o.cpus],
    ['mem', `${o.memory_gb}G`],
    ['time', o.time_minutes],
    ['chdir', workDir(i.config, i.userName)],
    // A requeued job would start a second server the hub no longer waits for: end it instead.
    ['no-requeue', ''],
    ['output', logFile(i.config, i.userName)],
  ];
  if (o.gpus > 0) lines.push(['gres', o.gpu_type ? `gpu:${o.gpu_type}:${o.gpus}` : `gpu:${o.gpus}`]);
  if (o.account) lines.push(['account', o.account]);
  if (o.qos) lines.push(['qos', o.qos]);
  for (const [name, value] of Object.entries(o.extra)) lines.push([name, value]);
  return lines.map(([k, v]) => (v === '' ? `#SBATCH --${k}` : `#SBATCH --${k}=${checked(`--${k}`, String(v), DIRECTIVE_VALUE)}`));
}

function checked(what: string, value: string, allowed = SAFE_VALUE): string {
  if (!allowed.test(value)) throw new Error(`refusing to put ${what} into the batch script: it holds characters outside ${allowed.source.slice(1, -2)}`);
  return value;
}

/** The server command inside the job: [container wrapper] python3 -c WRAPPER server-command... */
export function jobCommand(i: Pick<ScriptInput, 'config' | 'options' | 'serverCommand'>): string[] {
  const container: string[] = [];
  if (i.options.image) {
    const image = i.config.images[i.options.image]?.image;
    if (!image || !i.config.container) throw new Error(`image ${i.options.image} needs spawner.slurm.container.command`);
    for (const word of i.config.container.command.trim().split(/\s+/)) container.push(word.replaceAll('{image}', image));
  }
  return [...container, i.config.python, '-c', WRAPPER, ...i.serverCommand];
}

export function renderScript(i: ScriptInput): string {
  const o = i.options;
  const simple: Record<(typeof SIMPLE)[number], string> = {
    username: i.userName,
    job_name: i.config.job_name,
    partition: o.partition,
    cpus: String(o.cpus),
    memory_gb: String(o.memory_gb),
    time_minutes: String(o.time_minutes),
    gpus: String(o.gpus),
    gpu_type: o.gpu_type ?? '',
    account: o.account ?? '',
    qos: o.qos ?? '',
    image: o.image ? (i.config.images[o.image]?.image ?? '') : '',
    work_dir: workDir(i.config, i.userName),
  };
  const env = Object.entries(i.scriptEnv).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new Error(`refusing environment variable name ${JSON.stringify(k)}`);
    return `export ${k}=${shellQuote(v)}`;
  });
  const blocks: Record<(typeof BLOCKS)[number], string> = {
    directives: directives(i).join('\n'),
    environment: env.length ? env.join('\n') : '# The JUPYTERHUB_* variables arrive in the environment sbatch passes on (not written here).',
    command: shellCommand(jobCommand(i)),
  };
  return i.template.replace(PLACEHOLDER, (_m, name: string) => {
    if (name in blocks) return blocks[name as keyof typeof blocks];
    if (name in simple) return checked(`{{${name}}}`, simple[name as keyof typeof simple]);
    throw new Error(`unknown placeholder {{${name}}}`);
  });
}
