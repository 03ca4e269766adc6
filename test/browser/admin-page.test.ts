/**
 * The admin page in Chromium, at a phone's width: an admin finds one user among 2,000, stops a
 * running server, adds users in bulk, edits a group; a group's admin sees and manages only that
 * group's users; a user without admin-ui is refused the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

async function logIn(page: Page, hubUrl: string, name: string, next: string): Promise<void> {
  await page.goto(`${hubUrl}hub/login?next=${encodeURIComponent(next)}`);
  await page.fill('#username_input', name);
  await Promise.all([page.waitForURL((u) => u.pathname === next), page.click('#login_submit')]);
}

test('the admin page at 2,000 users, and a group admin who sees only the group', { timeout: 180_000 }, async (t) => {
  const admin = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...admin,
      authenticator: { class: 'dummy', admin_users: ['boss'] },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      load_groups: { physics: { users: ['phys1', 'phys2'] } },
      load_roles: [
        ...(admin.load_roles as unknown[]),
        {
          name: 'physics-admin',
          scopes: ['admin-ui', 'list:users!group=physics', 'read:users!group=physics', 'admin:users!group=physics', 'admin:servers!group=physics', 'list:groups!group=physics', 'read:groups!group=physics', 'admin:groups!group=physics'],
          users: ['prof'],
        },
      ],
    },
  });
  t.after(() => hub.stop());
  const api = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });

  const names = Array.from({ length: 2000 }, (_, i) => `student${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 500) assert.equal((await api('/users', 'POST', { usernames: names.slice(i, i + 500) })).status, 201);
  assert.ok([201, 202].includes((await api('/users/student1234/server', 'POST')).status));
  await waitFor(async () => (await api('/users/student1234')).json.servers?.['']?.ready === true, 30_000, "student1234's server");

  const browser = await launchBrowser();
  t.after(() => browser.close());

  await t.test('an admin searches, stops a server, adds users and edits a group', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    page.on('dialog', (d) => void d.accept());
    await logIn(page, hub.url, 'boss', '/hub/admin');
    await page.locator('#users-summary', { hasText: /of 2,00[3-5] users/ }).waitFor();
    assert.equal(await page.locator('#users-table tbody tr').count(), 50, 'the first page of 50');
    assert.equal(await page.locator('nav a', { hasText: 'Admin' }).count(), 1, 'the nav bar links the admin page');

    await page.fill('#user-search', '1234');
    await page.locator('#users-summary', { hasText: 'of 1 users' }).waitFor();
    const row = page.locator('tr[data-user="student1234"]');
    assert.match(await row.innerText(), /running/);
    await row.locator('li[data-server=""] button', { hasText: 'Stop' }).click();
    await page.locator('#users-result', { hasText: 'Stopped 1 server' }).waitFor();
    await waitFor(async () => (await api('/users/student1234')).json.servers?.[''] === undefined, 30_000, 'the server to stop');
    await row.locator('.badge', { hasText: 'stopped' }).waitFor();

    await page.click('#show-add-users');
    await page.fill('#add-users-names', 'newcomer1, newcomer2\nnewcomer3');
    await page.click('#add-users button[type=submit]');
    await page.locator('#users-result', { hasText: 'Added 3 users: newcomer1, newcomer2, newcomer3' }).waitFor();
    assert.equal((await api('/users/newcomer2')).status, 200);

    await page.fill('#new-group-name', 'chemistry');
    await page.click('#create-group button[type=submit]');
    await page.locator('#groups-result', { hasText: 'Created group chemistry' }).waitFor();
    await page.locator('tr[data-group="chemistry"] button', { hasText: 'Edit' }).click();
    await page.fill('#group-members', 'newcomer1 newcomer3');
    await page.fill('#group-properties', '{"room": "A1"');
    await page.click('#edit-group button[type=submit]');
    await page.locator('#groups-error', { hasText: 'not valid JSON' }).waitFor();
    assert.deepEqual((await api('/groups/chemistry')).json.users, [], 'nothing changed while the properties were invalid');
    await page.fill('#group-properties', '{"room": "A1"}');
    await page.click('#edit-group button[type=submit]');
    await page.locator('#groups-result', { hasText: 'chemistry: added newcomer1, newcomer3; saved properties' }).waitFor();
    const group = (await api('/groups/chemistry')).json;
    assert.deepEqual(group.users.sort(), ['newcomer1', 'newcomer3']);
    assert.deepEqual(group.properties, { room: 'A1' });

    // Bulk: select two users of the new group and start their servers.
    await page.fill('#user-search', '');
    await page.selectOption('#user-group', 'chemistry');
    await page.locator('#users-summary', { hasText: 'of 2 users' }).waitFor();
    await page.check('#select-all');
    await page.click('#bulk-actions button[data-bulk="start"]');
    await page.locator('#users-result', { hasText: 'Started 2 servers' }).waitFor();
    for (const n of ['newcomer1', 'newcomer3']) await waitFor(async () => (await api(`/users/${n}`)).json.servers?.['']?.ready === true, 30_000, `${n}'s server`);
  });

  await t.test("a group's admin sees only the group, and may not make admins", async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    page.on('dialog', (d) => void d.accept());
    await logIn(page, hub.url, 'prof', '/hub/admin');
    await page.locator('#users-summary', { hasText: 'of 2 users' }).waitFor();
    const shown = await page.locator('#users-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user')));
    assert.deepEqual(shown.sort(), ['phys1', 'phys2']);
    assert.equal(await page.locator('#show-add-users').count(), 0, 'adding users needs admin:users on everyone');
    assert.equal(await page.locator('#edit-user-admin').count(), 0, 'no admin checkbox for a non-admin');
    const groupsShown = await page.locator('#groups-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group')));
    assert.deepEqual(groupsShown, ['physics']);

    // The API holds the same line whatever the page shows.
    const cookieApi = await page.evaluate(async () => {
      const G = (window as unknown as { Ganymede: { api(m: string, s: string[], b?: unknown): Promise<unknown> } }).Ganymede;
      const out: string[] = [];
      for (const [m, s, b] of [
        ['PATCH', ['users', 'phys1'], { admin: true }],
        ['DELETE', ['users', 'student0001']],
      ] as const) {
        try {
          await G.api(m, [...s], b);
          out.push('allowed');
        } catch (err) {
          out.push(`${(err as { status: number }).status} ${(err as Error).message}`);
        }
      }
      return out;
    });
    assert.equal(cookieApi[0], '403 Only admins can grant admin permissions');
    assert.match(cookieApi[1]!, /^(403|404) /);
    assert.equal((await api('/users/phys1')).json.admin, false);
    assert.equal((await api('/users/student0001')).status, 200);

    // Starting a member's server from the page works.
    await page.locator('tr[data-user="phys1"] li[data-server=""] button', { hasText: 'Start' }).click();
    await page.locator('#users-result', { hasText: 'Started 1 server' }).waitFor();
  });

  await t.test('a user without admin-ui is refused the page', async () => {
    const page = await (await browser.newContext()).newPage();
    await logIn(page, hub.url, 'student0002', '/hub/home');
    const res = await page.goto(`${hub.url}hub/admin`);
    assert.equal(res?.status(), 403);
    assert.equal(await page.locator('nav a', { hasText: 'Admin' }).count(), 0);
  });
});
