/**
 * The default single-user server: JupyterLab from the environment the install script made (its
 * jupyterhub-singleuser, default_url /lab), else jupyterhub-singleuser on PATH with default_url ''.
 * The environment is a temporary directory named by GANYMEDE_VENV, as the Makefile's VENV sets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { singleUserServerDefaults } from '../../src/config/single-user-server.js';
import { validateConfig } from '../../src/config/load.js';
import { generateConfigMarkdown } from '../../src/config/generate.js';
import { tempDir } from '../helpers/tmp.js';

const CLASSIC = { cmd: ['jupyterhub-singleuser'], default_url: '' };

test('JupyterLab once its jupyterhub-singleuser is there and executable, the classic server before', async (t) => {
  const venv = await tempDir('ganymede-venv-');
  t.after(() => venv.cleanup());
  const env = { GANYMEDE_VENV: venv.path };
  assert.deepEqual(singleUserServerDefaults(env), CLASSIC, 'an empty environment: pip could not install');

  const command = path.join(venv.path, 'bin', 'jupyterhub-singleuser');
  mkdirSync(path.dirname(command));
  writeFileSync(command, '#!/bin/sh\n');
  assert.deepEqual(singleUserServerDefaults(env), CLASSIC, 'not executable');

  chmodSync(command, 0o755);
  assert.deepEqual(singleUserServerDefaults(env), { cmd: [command], default_url: '/lab' });
});

test('the config takes the resolved defaults when it sets neither key, and keeps what it sets', async (t) => {
  const venv = await tempDir('ganymede-venv-');
  t.after(() => venv.cleanup());
  const command = path.join(venv.path, 'bin', 'jupyterhub-singleuser');
  mkdirSync(path.dirname(command));
  writeFileSync(command, '#!/bin/sh\n', { mode: 0o755 });
  const saved = process.env.GANYMEDE_VENV;
  process.env.GANYMEDE_VENV = venv.path;
  t.after(() => (saved === undefined ? delete process.env.GANYMEDE_VENV : (process.env.GANYMEDE_VENV = saved)));

  const lab = validateConfig({ spawner: { start_timeout: 90 } }, 'test').spawner;
  assert.deepEqual([lab.cmd, lab.default_url], [[command], '/lab']);
  const own = validateConfig({ spawner: { cmd: ['/opt/jupyter/bin/jupyterhub-singleuser'], default_url: '/tree' } }, 'test').spawner;
  assert.deepEqual([own.cmd, own.default_url], [['/opt/jupyter/bin/jupyterhub-singleuser'], '/tree']);

  process.env.GANYMEDE_VENV = path.join(venv.path, 'missing');
  const classic = validateConfig({ spawner: { start_timeout: 90 } }, 'test').spawner;
  assert.deepEqual({ cmd: classic.cmd, default_url: classic.default_url }, CLASSIC);
});

test('the docs state the resolved defaults, not this machine\'s', () => {
  const table = generateConfigMarkdown();
  const row = (key: string) => table.split('\n').find((line) => line.startsWith(`| \`${key}\` |`)) ?? '';
  assert.match(row('spawner.cmd'), /`<repo>\/\.venv\/bin\/jupyterhub-singleuser` \(JupyterLab 4\) when `make` installed JupyterLab, else `jupyterhub-singleuser`/);
  assert.match(row('spawner.default_url'), /`\/lab` when `make` installed JupyterLab \(as spawner.cmd\), else `""`/);
});
