/** `ganymede generate-config` and docs/configuration.md: every key with its default and description, walked from the schema. */
import { z } from 'zod';
import { stringify } from 'yaml';
import { configSchema } from './schema.js';

interface KeyDoc {
  path: string;
  description: string;
  defaultValue: unknown;
  hasDefault: boolean;
  /** A default that depends on the machine (spawner.cmd), described instead of shown: the `resolvedDefault` meta. */
  resolvedDefault: string | undefined;
  nested: KeyDoc[];
  /** For lists of mappings (services, load_roles): the keys of one item. */
  itemKeys: KeyDoc[];
  /** An optional section without a default (e.g. authenticator.oidc): absent unless configured. */
  optionalSection: boolean;
}

type AnySchema = z.ZodType;

function unwrap(schema: AnySchema): { inner: AnySchema; defaultValue: unknown; hasDefault: boolean; optional: boolean } {
  let inner = schema;
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    const def = (inner as unknown as { _zod: { def: { type: string; innerType?: AnySchema; defaultValue?: unknown } } })._zod.def;
    if (def.type === 'default') {
      hasDefault = true;
      defaultValue = def.defaultValue;
      inner = def.innerType!;
    } else if (def.type === 'optional') {
      optional = true;
      inner = def.innerType!;
    } else {
      return { inner, defaultValue, hasDefault, optional };
    }
  }
}

function describeObject(schema: z.ZodObject, prefix: string): KeyDoc[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const f = field as AnySchema;
    const { inner, defaultValue, hasDefault, optional } = unwrap(f);
    const p = prefix ? `${prefix}.${key}` : key;
    const nested = inner instanceof z.ZodObject ? describeObject(inner, p) : [];
    const element = inner instanceof z.ZodArray ? (inner.element as AnySchema) : null;
    // Maps of named mappings (slurm partitions, course environments): the keys of one value, as <name>.
    const value = inner instanceof z.ZodRecord ? (inner.valueType as AnySchema) : null;
    const itemKeys =
      element instanceof z.ZodObject ? describeObject(element, `${p}[]`) : value instanceof z.ZodObject ? describeObject(value, `${p}.<name>`) : [];
    const optionalSection = optional && !hasDefault && inner instanceof z.ZodObject;
    const resolved = f.meta()?.resolvedDefault;
    const resolvedDefault = typeof resolved === 'string' ? resolved : undefined;
    return { path: p, description: f.description ?? '', defaultValue, hasDefault, resolvedDefault, nested, itemKeys, optionalSection };
  });
}

export function configKeyDocs(): KeyDoc[] {
  return describeObject(configSchema, '');
}

/** A complete YAML config file: every key set to its default, optional keys commented out, one comment line each. */
export function generateConfigYaml(): string {
  const lines: string[] = [
    '# Ganymede configuration. Every key is shown with its default.',
    '# ${NAME} in a string is replaced by the environment variable NAME.',
    '',
  ];
  const emit = (docs: KeyDoc[], indent: string, commented = false): void => {
    for (const d of docs) {
      const key = d.path.split('.').pop()!;
      if (d.description) lines.push(`${indent}# ${d.description}`);
      if (d.nested.length > 0) {
        // An optional section is shown commented out, so the generated file does not switch it on.
        const off = commented || d.optionalSection;
        lines.push(`${indent}${off ? '# ' : ''}${key}:`);
        emit(d.nested, indent + '  ', off);
      } else if (d.resolvedDefault) {
        // Commented out: a value written here would stop the default from following the machine.
        lines.push(`${indent}# ${key}: default ${d.resolvedDefault.replace(/`/g, '')}`);
      } else if (d.hasDefault) {
        // JSON is valid YAML and keeps lists and maps on one line.
        const value = typeof d.defaultValue === 'object' ? JSON.stringify(d.defaultValue) : stringify(d.defaultValue).trimEnd();
        lines.push(`${indent}${commented ? '# ' : ''}${key}: ${value}`);
        if (d.itemKeys.length > 0) {
          const named = d.itemKeys[0]!.path.includes('.<name>.');
          lines.push(named ? `${indent}# each entry of ${key}:` : `${indent}# each item of ${key}:`);
          if (named) lines.push(`${indent}#   <name>:`);
          d.itemKeys.forEach((k, i) => {
            const itemKey = k.path.split('.').pop()!;
            const def = k.hasDefault ? ` (default ${JSON.stringify(k.defaultValue)})` : '';
            lines.push(`${indent}#   ${named ? '  ' : i === 0 ? '- ' : '  '}${itemKey}: ${k.description}${def}`);
          });
        }
      } else {
        lines.push(`${indent}# ${key}:`);
      }
    }
  };
  emit(configKeyDocs(), '');
  return lines.join('\n') + '\n';
}

/** Markdown table of every key, for docs/configuration.md. */
export function generateConfigMarkdown(): string {
  const rows: string[] = ['| key | default | description |', '|---|---|---|'];
  const walk = (docs: KeyDoc[]): void => {
    for (const d of docs) {
      const def = d.nested.length > 0 ? '' : d.resolvedDefault ? d.resolvedDefault : d.hasDefault ? '`' + JSON.stringify(d.defaultValue) + '`' : '(none)';
      rows.push(`| \`${d.path}\` | ${def} | ${d.description.replace(/\|/g, '\\|')} |`);
      walk(d.nested);
      walk(d.itemKeys);
    }
  };
  walk(configKeyDocs());
  return rows.join('\n') + '\n';
}
