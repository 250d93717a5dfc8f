// Debian's chromium driven by playwright-core, as the browser tests use it: headless, no sandbox
// (tests run as root), and none of the background traffic this machine's closed network refuses.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium is missing (${CHROMIUM}): the Web UI tests need Debian's chromium. scripts/bootstrap.mjs installs it when run as root (apt-get install chromium)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'cm-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the dev server's Web UI answers (it may come up a moment after the frontend). */
export async function waitForUi(url: string, waitUntil: (what: string, check: () => Promise<boolean>, ms: number) => Promise<void>): Promise<void> {
  await waitUntil('the Temporal Web UI to answer', async () => (await fetch(`${url}/api/v1/settings`).catch(() => undefined))?.ok === true, 30_000);
}

/** Waits for a text in the page; on timeout, fails with what the page showed instead. */
export async function waitForText(page: Page, scope: Locator, text: string | RegExp, what: string, timeout = 30_000): Promise<void> {
  try {
    await scope.getByText(text).first().waitFor({ timeout });
  } catch {
    const shown = await page.locator('body').innerText().catch(() => '(page gone)');
    throw new Error(`the UI did not show ${what} within ${timeout / 1000} s; it showed:\n${shown.slice(0, 3000)}`);
  }
}

/**
 * `it` for a browser test's step, plus a full-page screenshot when the step fails
 * (`<artifacts>/failed-<step>.png`): what the page showed is kept with the failure.
 */
export function browserStep(artifacts: string, page: () => Page | undefined): (name: string, fn: () => Promise<void>) => void {
  return (name, fn) => {
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        await page()?.screenshot({ path: join(artifacts, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`), fullPage: true }).catch(() => undefined);
        throw err;
      }
    });
  };
}
