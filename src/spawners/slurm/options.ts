/**
 * The Slurm options form and the checks of what comes back from it (or from the API's JSON body).
 * Every value is either one of the admin's names (partition, account, QOS, GPU type, image) or a
 * whole number within the partition's bounds; anything else is refused with a message naming the
 * field, before any command runs. So nothing a user types reaches the batch script or a command line
 * except as a value this module produced.
 */
import type { SlurmConfig, SlurmPartitionConfig } from '../../config/schema.js';
import { HubError } from '../../errors.js';
import { html, type SafeHtml } from '../../web/templates/html.js';
import type { JsonObject, JsonValue } from '../spawner.js';

/** Validated options: what the batch script is rendered from (and what the servers row keeps as user_options). */
export interface SlurmOptions {
  partition: string;
  cpus: number;
  memory_gb: number;
  time_minutes: number;
  gpus: number;
  gpu_type?: string;
  account?: string;
  qos?: string;
  image?: string;
  /** sbatch long option name → value, from the free "extra" field. */
  extra: Record<string, string>;
}

const FIELDS = new Set(['partition', 'cpus', 'memory_gb', 'time_minutes', 'gpus', 'gpu_type', 'account', 'qos', 'image', 'extra']);
const MAX_TEXT = 500;
/** What an extra option's value may hold: enough for constraints ("a100|v100&ib"), reservations and mail types. */
const EXTRA_VALUE = /^[A-Za-z0-9_.,:@+|&*-]{1,128}$/;

function bad(field: string, message: string): never {
  throw new HubError(400, `${field}: ${message}`, {}, { errors: { [field]: message } });
}

function text(input: JsonObject, field: string): string | undefined {
  let value: JsonValue | undefined = input[field];
  // Form posts can repeat a field; the API must not.
  if (Array.isArray(value) && value.length === 1) value = value[0];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') bad(field, 'must be a string or a number');
  if (value.length > MAX_TEXT) bad(field, `is too long (at most ${MAX_TEXT} characters)`);
  return value.trim();
}

function choice(input: JsonObject, field: string, allowed: string[], what: string): string | undefined {
  const value = text(input, field);
  if (value === undefined) return undefined;
  if (allowed.length === 0) bad(field, `this hub offers no choice of ${what}`);
  if (!allowed.includes(value)) bad(field, `must be one of ${allowed.join(', ')}`);
  return value;
}

/**
 * A name the chosen partition may offer. The form has one select for all partitions, so a value
 * another partition offers is ignored where this one offers none; a value no partition offers is refused.
 */
function partitionChoice(input: JsonObject, field: string, offered: string[], anywhere: string[], what: string, partition: string): string | undefined {
  const value = choice(input, field, anywhere, what);
  if (value === undefined || offered.length === 0) return offered[0];
  if (!offered.includes(value)) bad(field, `must be one of ${offered.join(', ')} in partition ${partition}`);
  return value;
}

function whole(input: JsonObject, field: string, bounds: { min: number; max: number; default: number }, partition: string, unit: string): number {
  const value = text(input, field);
  if (value === undefined) return bounds.default;
  if (!/^\d{1,9}$/.test(value)) bad(field, 'must be a whole number');
  const n = Number(value);
  if (n < bounds.min || n > bounds.max) {
    bad(field, bounds.min === bounds.max ? `partition ${partition} allows only ${bounds.min} ${unit}` : `must be between ${bounds.min} and ${bounds.max} ${unit} in partition ${partition}`);
  }
  return n;
}

function parseExtra(value: string | undefined, allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  if (allowed.length === 0) bad('extra', 'this hub allows no extra sbatch options');
  for (const token of value.split(/[ \t]+/)) {
    const m = /^--([a-z][a-z-]*)=(.*)$/.exec(token);
    if (!m) bad('extra', `"${token.slice(0, 40)}" is not of the form --option=value`);
    const [, name, v] = m as unknown as [string, string, string];
    if (!allowed.includes(name)) bad('extra', `--${name} is not allowed (allowed: ${allowed.map((a) => `--${a}`).join(', ')})`);
    if (!EXTRA_VALUE.test(v)) bad('extra', `the value of --${name} may hold only letters, digits and _ . , : @ + | & * - (at most 128)`);
    if (name in out) bad('extra', `--${name} is given twice`);
    out[name] = v;
  }
  return out;
}

export function partitionNames(config: SlurmConfig): string[] {
  return Object.keys(config.partitions);
}

/** Turn form fields or API JSON into SlurmOptions, or throw HubError(400) naming the first bad field. */
export function parseSlurmOptions(input: JsonObject, config: SlurmConfig): SlurmOptions {
  for (const key of Object.keys(input)) if (!FIELDS.has(key)) bad(key, 'is not an option of this hub');
  const names = partitionNames(config);
  const partition = choice(input, 'partition', names, 'partition') ?? names[0];
  if (partition === undefined) bad('partition', 'no partition is configured');
  const p: SlurmPartitionConfig = config.partitions[partition]!;
  const gpus = whole(input, 'gpus', p.gpus, partition, 'GPUs');
  const options: SlurmOptions = {
    partition,
    cpus: whole(input, 'cpus', p.cpus, partition, 'CPUs'),
    memory_gb: whole(input, 'memory_gb', p.memory_gb, partition, 'GB'),
    time_minutes: whole(input, 'time_minutes', p.time_minutes, partition, 'minutes'),
    gpus,
    extra: parseExtra(text(input, 'extra'), config.extra_options),
  };
  const all = Object.values(config.partitions);
  const anywhere = (pick: (p: SlurmPartitionConfig) => string[]) => [...new Set(all.flatMap(pick))];
  const gpuType = partitionChoice(input, 'gpu_type', p.gpu_types, anywhere((q) => q.gpu_types), 'GPU type', partition);
  // The form always sends its GPU type select; without GPUs it means nothing.
  if (gpus > 0 && gpuType) options.gpu_type = gpuType;
  const account = partitionChoice(input, 'account', p.accounts, anywhere((q) => q.accounts), 'account', partition);
  if (account) options.account = account;
  const qos = partitionChoice(input, 'qos', p.qos, anywhere((q) => q.qos), 'QOS', partition);
  if (qos) options.qos = qos;
  const images = Object.keys(config.images);
  const image = choice(input, 'image', images, 'container image') ?? images[0];
  if (image) options.image = image;
  return options;
}

/** The stored user_options back as SlurmOptions (they were validated when stored; checked again all the same). */
export function optionsFromJson(stored: JsonObject, config: SlurmConfig): SlurmOptions {
  const { extra, ...rest } = stored;
  const extraText =
    extra && typeof extra === 'object' && !Array.isArray(extra)
      ? Object.entries(extra)
          .map(([k, v]) => `--${k}=${String(v)}`)
          .join(' ')
      : undefined;
  return parseSlurmOptions({ ...rest, ...(extraText ? { extra: extraText } : {}) }, config);
}

export function optionsToJson(options: SlurmOptions): JsonObject {
  return JSON.parse(JSON.stringify(options)) as JsonObject;
}

function range(b: { min: number; max: number }, unit: string): string {
  return b.min === b.max ? `${b.min} ${b.min === 1 ? unit.replace(/s$/, '') : unit}` : `${b.min}–${b.max} ${unit}`;
}

/** What the user typed (after a refusal), as the text of a field. */
function given(values: JsonObject | undefined, field: string): string | undefined {
  const v = values?.[field];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function numberField(id: string, label: string, hint: string, bounds: Array<{ min: number; max: number }>, value: number | string): SafeHtml {
  const min = Math.min(...bounds.map((b) => b.min));
  const max = Math.max(...bounds.map((b) => b.max));
  return html`<div class="field">
  <label for="slurm-${id}">${label}</label>
  <input id="slurm-${id}" name="${id}" type="number" inputmode="numeric" min="${min}" max="${max}" step="1" value="${value}" required>
  <p class="hint">${hint}</p>
</div>`;
}

function select(id: string, label: string, options: Array<{ value: string; text: string }>, hint = '', chosen?: string): SafeHtml {
  return html`<div class="field">
  <label for="slurm-${id}">${label}</label>
  <select id="slurm-${id}" name="${id}">
    ${options.map((o) => html`<option value="${o.value}"${o.value === chosen && html` selected`}>${o.text}</option>`)}
  </select>
  ${hint && html`<p class="hint">${hint}</p>`}
</div>`;
}

/** The options form: fields only for what the admin offers, each with the bounds of every partition in its hint. */
export function slurmOptionsForm(config: SlurmConfig, values?: JsonObject): string {
  const entries = Object.entries(config.partitions);
  const first = entries[0]?.[1];
  if (!first) return '';
  const perPartition = (pick: (p: SlurmPartitionConfig) => { min: number; max: number }, unit: string) =>
    entries.length === 1 ? `${range(pick(first), unit)}.` : entries.map(([name, p]) => `${name}: ${range(pick(p), unit)}`).join('; ') + '.';
  const all = entries.map(([, p]) => p);
  const gpuTypes = [...new Set(all.flatMap((p) => p.gpu_types))];
  const accounts = [...new Set(all.flatMap((p) => p.accounts))];
  const qos = [...new Set(all.flatMap((p) => p.qos))];
  const images = Object.entries(config.images);
  return html`<div id="slurm-options" class="stack">
${select(
  'partition',
  'Partition',
  entries.map(([name, p]) => ({ value: name, text: p.description ? `${name} — ${p.description}` : name })),
  '',
  given(values, 'partition'),
)}
${numberField('cpus', 'CPUs', perPartition((p) => p.cpus, 'CPUs'), all.map((p) => p.cpus), given(values, 'cpus') ?? first.cpus.default)}
${numberField('memory_gb', 'Memory (GB)', perPartition((p) => p.memory_gb, 'GB'), all.map((p) => p.memory_gb), given(values, 'memory_gb') ?? first.memory_gb.default)}
${numberField('time_minutes', 'Time limit (minutes)', `The server stops when this time is up. ${perPartition((p) => p.time_minutes, 'minutes')}`, all.map((p) => p.time_minutes), given(values, 'time_minutes') ?? first.time_minutes.default)}
${all.some((p) => p.gpus.max > 0) && numberField('gpus', 'GPUs', perPartition((p) => p.gpus, 'GPUs'), all.map((p) => p.gpus), given(values, 'gpus') ?? first.gpus.default)}
${gpuTypes.length > 0 && select('gpu_type', 'GPU type', gpuTypes.map((t) => ({ value: t, text: t })), 'Used only when you ask for GPUs.', given(values, 'gpu_type'))}
${accounts.length > 0 && select('account', 'Account', accounts.map((a) => ({ value: a, text: a })), '', given(values, 'account'))}
${qos.length > 0 && select('qos', 'QOS', qos.map((q) => ({ value: q, text: q })), '', given(values, 'qos'))}
${images.length > 0 && select('image', 'Container image', images.map(([name, i]) => ({ value: name, text: i.description ? `${name} — ${i.description}` : name })), '', given(values, 'image'))}
${config.extra_options.length > 0 &&
html`<div class="field">
  <label for="slurm-extra">Extra sbatch options</label>
  <input id="slurm-extra" name="extra" type="text" maxlength="${MAX_TEXT}" autocomplete="off" autocapitalize="none" spellcheck="false" placeholder="--${config.extra_options[0]!}=…" value="${given(values, 'extra') ?? ''}">
  <p class="hint">Optional. Allowed: ${config.extra_options.map((o) => `--${o}=value`).join(', ')}.</p>
</div>`}
</div>`.toString();
}
