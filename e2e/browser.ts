// Shared harness for the browser tests: Debian's Chromium driven by playwright-core, headless.
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const appUrl = process.env.KUBECHART_APP_URL ?? 'http://localhost:3000';
export const backendUrl = process.env.KUBECHART_BACKEND_URL ?? 'http://localhost:7007';
export const screenshotDir = join(import.meta.dirname, '..', 'e2e-screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the app and signs in as the guest user when the sign-in page asks for it. */
export async function openSignedIn(browser: Browser, path = '/'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(new URL(path, appUrl).toString());
  const guest = page.getByRole('button', { name: /enter/i });
  const signInVisible = await guest
    .waitFor({ state: 'visible', timeout: 15_000 })
    .then(() => true)
    .catch(() => false);
  if (signInVisible) {
    await guest.click();
  }
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
