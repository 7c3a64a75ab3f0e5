import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';

describe('catalog', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the catalog lists the example entities', async () => {
    // The guest belongs to platform-team, so the catalog would open on "Owned"; ask for every component.
    const page = await openSignedIn(
      browser,
      '/catalog?filters%5Bkind%5D=component&filters%5Buser%5D=all',
    );
    // The catalog ingests examples/ shortly after start-up; keep reloading until they are there.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const found = await page
        .getByRole('link', { name: 'checkout-web' })
        .waitFor({ timeout: 10_000 })
        .then(() => true)
        .catch(() => false);
      if (found || Date.now() > deadline) break;
      await page.reload();
    }
    for (const name of ['checkout-web', 'inventory-service', 'payments-api']) {
      // The table re-renders once the owned/all filter settles; wait for each row rather than sampling once.
      const listed = await page
        .getByRole('link', { name, exact: true })
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 })
        .then(() => true)
        .catch(() => false);
      assert.ok(listed, `${name} should be listed in the catalog`);
    }
    await screenshot(page, 'catalog');
  });
});
