// Shared harness for the browser tests: Debian's Chromium driven by playwright-core, headless.
import { chromium, type Browser, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const appUrl = process.env.KUBECHART_APP_URL ?? 'http://localhost:3000';
export const backendUrl =
  process.env.KUBECHART_BACKEND_URL ?? 'http://localhost:7007';
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
export async function openSignedIn(
  browser: Browser,
  path = '/',
): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: 1440, height: 900 },
  });
  await gotoSignedIn(page, path);
  return page;
}

/** Loads a path of the app, signing in as the guest user when the sign-in page asks for it. */
export async function gotoSignedIn(page: Page, path: string): Promise<void> {
  await page.goto(new URL(path, appUrl).toString());
  // Either the sign-in page (a fresh browser) or the app (signed in before) appears.
  const guest = page.getByRole('button', { name: /enter/i });
  const app = page.getByRole('link', { name: 'Home' });
  await guest.or(app).first().waitFor({ state: 'visible', timeout: 60_000 });
  if (await guest.isVisible()) {
    await guest.click();
    await app.first().waitFor({ state: 'visible', timeout: 30_000 });
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
