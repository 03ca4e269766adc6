/**
 * PAM login: a Unix user created by the test (useradd, chpasswd) logs in through PAM; a
 * wrong password is refused; Unix groups decide who may log in and who is an admin. Creating users
 * needs root, as checking other users' passwords with PAM does (JupyterHub's PAMAuthenticator has the
 * same need): without root the test is skipped, saying why. Users and groups are removed afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

const isRoot = process.getuid?.() === 0;

async function logsIn(hub: HubProcess, username: string, password: string): Promise<boolean> {
  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const form = await (await browser.fetch('/hub/login')).text();
  const res = await browser.postForm('/hub/login', { username, password }, form);
  return res.status === 302 && browser.jar.has('jupyterhub-hub-login');
}

test('PAM login with a real Unix account', { timeout: 60_000, skip: isRoot ? false : 'creating Unix users and checking their passwords with PAM needs root' }, async (t) => {
  const suffix = randomBytes(3).toString('hex');
  const member = `gpam${suffix}a`;
  const outsider = `gpam${suffix}b`;
  const allowedGroup = `gpamusers${suffix}`;
  const adminGroup = `gpamadmins${suffix}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  t.after(() => {
    for (const user of [member, outsider]) execFileSync('userdel', [user], { stdio: 'ignore' });
    for (const group of [allowedGroup, adminGroup]) execFileSync('groupdel', [group], { stdio: 'ignore' });
  });
  for (const group of [allowedGroup, adminGroup]) execFileSync('groupadd', [group]);
  execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', '-G', `${allowedGroup},${adminGroup}`, member]);
  execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', outsider]);
  execFileSync('chpasswd', { input: `${member}:${password}\n${outsider}:${password}\n` });

  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'pam', pam: { allowed_groups: [allowedGroup], admin_groups: [adminGroup] } },
    },
  });
  t.after(() => hub.stop());

  await t.test('the right password logs in; Unix groups make an admin', async () => {
    assert.equal(await logsIn(hub, member, password), true);
    const model = await hub.api(`/users/${member}`, { token: ADMIN_TOKEN });
    assert.equal(model.status, 200);
    assert.equal(model.json.admin, true);
  });

  await t.test('a wrong or empty password is refused, and creates nothing', async () => {
    assert.equal(await logsIn(hub, member, `${password}x`), false);
    assert.equal(await logsIn(hub, outsider, ''), false);
    assert.equal((await hub.api(`/users/${outsider}`, { token: ADMIN_TOKEN })).status, 404);
  });

  await t.test('a user outside allowed_groups is refused even with the right password', async () => {
    assert.equal(await logsIn(hub, outsider, password), false);
    assert.equal((await hub.api(`/users/${outsider}`, { token: ADMIN_TOKEN })).status, 404);
  });
});
