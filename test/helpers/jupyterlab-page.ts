/** JupyterLab 4 in a Chromium page: whether the tests can run, how long to wait, and running one cell. */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { CHROMIUM_PATH } from './browser.js';
import { jupyterLabServerCommand, jupyterLabVenv } from '../../src/config/single-user-server.js';

/** Why a JupyterLab browser test cannot run here, or false. */
export const JUPYTERLAB_SKIP: string | false = !existsSync(CHROMIUM_PATH)
  ? `no Chromium at ${CHROMIUM_PATH} (scripts/install-system-deps.sh test)`
  : jupyterLabServerCommand() === null
    ? `JupyterLab is not installed in ${jupyterLabVenv()} (scripts/install-jupyterlab.sh)`
    : false;

/** Generous: JupyterLab's first start and first kernel are slow on a loaded machine. */
export const LAB_START_MS = 120_000;
export const KERNEL_MS = 90_000;

/**
 * Opens a new notebook from the launcher's Python 3 card, runs `code` in its first cell and returns
 * the cell's output text and its prompt. Waits for the status bar's "| Idle" first: a cell run while
 * the kernel is still initializing is not sent (JupyterLab only notifies), and the toolbar's
 * execution indicator says idle before there is any kernel.
 */
export async function runInNewNotebook(page: Page, code: string): Promise<{ output: string; prompt: string }> {
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click({ timeout: LAB_START_MS });
  const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await page.locator('#jp-main-statusbar').getByText(/\| Idle$/).waitFor({ timeout: KERNEL_MS });
  const cell = notebook.locator('.jp-CodeCell').first();
  await cell.locator('.cm-content').click();
  await page.keyboard.type(code);
  await page.keyboard.press('Shift+Enter');
  const output = cell.locator('.jp-OutputArea-output');
  await output.waitFor({ timeout: KERNEL_MS });
  return { output: (await output.innerText()).trim(), prompt: (await cell.locator('.jp-InputArea-prompt').innerText()).trim() };
}
