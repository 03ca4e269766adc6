/** Reads the YAML config file, substitutes ${ENV} references, validates against the schema. */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type HubConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'ganymede.yaml';

export interface LoadedConfig {
  config: HubConfig;
  /** The file it came from, or null when the defaults were used. */
  file: string | null;
}

/** `${NAME}` → process.env.NAME in every string of the document; `$${` escapes a literal `${`. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, keyPath: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        throw new ConfigError(`environment variable ${name} is not set (used by ${formatKey(keyPath)})`);
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...keyPath, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...keyPath, k])]));
  }
  return value;
}

function formatKey(keyPath: readonly (string | number | symbol)[]): string {
  return keyPath.length === 0 ? '(top level)' : keyPath.map(String).join('.');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatKey([...issue.path, k])}: unknown key`).join('\n');
  }
  return `${formatKey(issue.path)}: ${issue.message}`;
}

/** Validates a plain object (already parsed, env-substituted). `source` names the file in errors. */
export function validateConfig(raw: unknown, source: string): HubConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map(describeIssue);
    throw new ConfigError(`invalid configuration in ${source}:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let chosen = file;
  if (!chosen && existsSync(DEFAULT_CONFIG_FILE)) chosen = DEFAULT_CONFIG_FILE;
  if (!chosen) return { config: validateConfig({}, '(defaults)'), file: null };
  const abs = path.resolve(chosen);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${abs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`invalid YAML in ${abs}:\n  ${doc.errors.map((e) => e.message).join('\n  ')}`);
  }
  const raw = substituteEnv(doc.toJS(), env);
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`invalid configuration in ${abs}: the top level must be a mapping of keys`);
  }
  return { config: validateConfig(raw, abs), file: abs };
}
