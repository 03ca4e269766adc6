/**
 * The admin-search figure: a hub with many users and many running servers, searched as an admin
 * does: `GET /users?name_filter=…&limit=50` with the pagination media type (the total count too),
 * one request after the other; and, for Ganymede, the admin page in Chromium, from typing a name
 * until the table shows that user.
 */
import { randomUUID } from 'node:crypto';
import SQLite from 'better-sqlite3';
import { chromium } from 'playwright-core';
import type { RunningHub } from './hubs.js';
import { percentile } from './stats.js';

/**
 * Gives JupyterHub `names` as its own POST /users writes them (a users row, the `user` role, an
 * empty default spawner), straight into its stopped database: its API would take about nine minutes
 * for 50,000 users here (one commit per user).
 */
export function seedJupyterHubUsers(dbFile: string, names: string[]): void {
  const db = new SQLite(dbFile);
  try {
    const userRole = (db.prepare("SELECT id FROM roles WHERE name = 'user'").get() as { id: number } | undefined)?.id;
    if (userRole === undefined) throw new Error(`${dbFile}: no 'user' role (start JupyterHub once first)`);
    const created = new Date().toISOString().replace('T', ' ').replace('Z', '000');
    const addUser = db.prepare('INSERT INTO users (name, admin, created, last_activity, cookie_id, state, encrypted_auth_state) VALUES (?, 0, ?, NULL, ?, NULL, NULL)');
    const addRole = db.prepare('INSERT INTO user_role_map (user_id, role_id) VALUES (?, ?)');
    const addSpawner = db.prepare("INSERT INTO spawners (user_id, server_id, state, name, started, last_activity, user_options, oauth_client_id) VALUES (?, NULL, NULL, '', NULL, NULL, NULL, NULL)");
    db.transaction(() => {
      for (const name of names) {
        const id = Number(addUser.run(name, created, randomUUID().replace(/-/g, '')).lastInsertRowid);
        addRole.run(id, userRole);
        addSpawner.run(id);
      }
    })();
  } finally {
    db.close();
  }
}

/** Sequential searches for `filters` (cycled `count` times); latency percentiles in ms. */
export async function searchLatency(hub: RunningHub, filters: string[], count: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const filter = filters[i % filters.length]!;
    const t0 = performance.now();
    const res = await fetch(`${hub.url}hub/api/users?name_filter=${encodeURIComponent(filter)}&limit=50`, {
      headers: { Authorization: `token ${hub.apiToken}`, Accept: 'application/jupyterhub-pagination+json' },
    });
    const body = (await res.json()) as { items?: unknown[] };
    times.push(performance.now() - t0);
    if (res.status !== 200 || !Array.isArray(body.items)) throw new Error(`${hub.name}: search for ${filter} answered ${res.status}`);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * Ganymede's admin page in Chromium: log in as `admin` (a dummy login), open /hub/admin, then for
 * each name type it into the search field and time until the table shows exactly that user. Median ms.
 */
export async function adminPageSearch(hub: RunningHub, admin: string, names: string[]): Promise<number> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${hub.url}hub/login?next=${encodeURIComponent('/hub/admin')}`);
    await page.fill('#username_input', admin);
    await Promise.all([page.waitForURL(/\/hub\/admin$/), page.click('#login_submit')]);
    await page.locator('#users-summary', { hasText: 'Showing' }).waitFor();
    const times: number[] = [];
    for (const name of names) {
      const t0 = performance.now();
      await page.fill('#user-search', name);
      await page.locator(`#users-table tbody tr[data-user="${name}"]`).waitFor();
      await page.locator('#users-summary', { hasText: ' of 1 users' }).waitFor();
      times.push(performance.now() - t0);
    }
    return percentile(times, 50);
  } finally {
    await browser.close();
  }
}
