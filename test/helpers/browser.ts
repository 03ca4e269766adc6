/** Headless Chromium for browser tests: Debian's /usr/bin/chromium, driven by playwright-core. */
import { chromium, type Browser } from 'playwright-core';

/** Debian's package `chromium` (scripts/install-system-deps.sh test); Playwright downloads no browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * A new headless browser; close it in t.after(). --no-sandbox because tests run as root in CI; the
 * networking flags keep Chromium from calling Google's hosts, which a closed network refuses.
 */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
}
