import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, substituteEnv, validateConfig } from '../../src/config/load.js';
import { generateConfigMarkdown, generateConfigYaml } from '../../src/config/generate.js';
import { configSchema } from '../../src/config/schema.js';
import { singleUserServerDefaults } from '../../src/config/single-user-server.js';
import { ConfigError } from '../../src/errors.js';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganymede-config-'));
  try {
    const file = path.join(dir, 'ganymede.yaml');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults match the documented JupyterHub-like values', () => {
  const c = validateConfig({}, 'test');
  assert.equal(c.bind_url, 'http://127.0.0.1:8000/');
  // JupyterLab's or PATH's jupyterhub-singleuser, as this machine has it: test/unit/single-user-server.test.ts.
  const server = singleUserServerDefaults();
  assert.deepEqual([c.spawner.cmd, c.spawner.default_url], [server.cmd, server.default_url]);
  assert.equal(c.spawner.start_timeout, 60);
  assert.equal(c.spawner.http_timeout, 30);
  assert.equal(c.last_activity_interval, 300);
  assert.equal(c.concurrent_spawn_limit, 100);
  assert.equal(c.active_server_limit, 0);
  assert.equal(c.api_page_default_limit, 50);
  assert.equal(c.api_page_max_limit, 200);
  assert.equal(c.cleanup_servers, true);
  assert.equal(c.authenticator.class, 'dummy');
});

test('an unknown key names the key and the file', () => {
  withFile('bind_url: http://127.0.0.1:9000/\nspawner:\n  cmd: [x]\n  colour: blue\n', (file) => {
    assert.throws(() => loadConfig(file, {}), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /spawner\.colour: unknown key/);
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  });
});

test('a wrong type names the key', () => {
  assert.throws(() => validateConfig({ spawner: { start_timeout: 'soon' } }, 'f.yaml'), /spawner\.start_timeout: .*expected number/);
  assert.throws(() => validateConfig({ services: [{ name: 'bad name!' }] }, 'f.yaml'), /services\.0\.name/);
  assert.throws(() => validateConfig({ authenticator: { class: 'ldapx' } }, 'f.yaml'), /authenticator\.class/);
});

test('a missing required value names the key', () => {
  assert.throws(() => validateConfig({ load_roles: [{ scopes: ['read:users'] }] }, 'f.yaml'), /load_roles\.0\.name/);
});

test('${NAME} is replaced from the environment; a missing variable is named', () => {
  assert.deepEqual(substituteEnv({ a: 'x-${FOO}-y', b: ['${FOO}'], c: 3 }, { FOO: 'bar' }), { a: 'x-bar-y', b: ['bar'], c: 3 });
  assert.equal(substituteEnv('$${FOO}', { FOO: 'bar' }), '${FOO}');
  assert.throws(() => substituteEnv({ authenticator: { password: '${NOPE}' } }, {}), /NOPE is not set \(used by authenticator\.password\)/);
  withFile('cookie_secret: ${SECRET}\n', (file) => {
    const { config } = loadConfig(file, { SECRET: 'ab'.repeat(32) });
    assert.equal(config.cookie_secret, 'ab'.repeat(32));
  });
});

test('invalid YAML and a non-mapping top level are config errors naming the file', () => {
  withFile('bind_url: [unclosed\n', (file) => {
    assert.throws(() => loadConfig(file, {}), (err: Error) => err instanceof ConfigError && err.message.includes(file));
  });
  withFile('- a\n- b\n', (file) => {
    assert.throws(() => loadConfig(file, {}), /top level must be a mapping/);
  });
});

test('generate-config prints every key with its default, and the result loads', () => {
  const yaml = generateConfigYaml();
  for (const key of Object.keys(configSchema.shape)) assert.ok(new RegExp(`^#? ?${key}:`, 'm').test(yaml), `${key} missing`);
  const parsed = parse(yaml) as Record<string, unknown>;
  assert.deepEqual(validateConfig(parsed, 'generated'), validateConfig({}, 'defaults'));
});

test('docs/configuration.md lists every key the schema has', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(generateConfigMarkdown()), 'docs/configuration.md is out of date: run `npx tsx src/cli.ts config-docs`');
});
