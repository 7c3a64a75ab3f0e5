import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';

describe('assistant', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the home assistant finds the crash-looping pod, then refuses to delete it', async () => {
    const page = await openSignedIn(browser, '/');
    const box = page
      .getByRole('textbox', { name: 'Kubernetes assistant' })
      .first();
    await box.waitFor({ timeout: 60_000 });

    // The demo pod crash-loops: between its back-offs it runs for a moment (kubectl then shows
    // Running or Error, not CrashLoopBackOff), so a user who finds none asks again, as this does.
    const cell = page.getByRole('cell', { name: /^checkout-web-/ }).first();
    for (let attempt = 1; ; attempt++) {
      await box.fill('which pods are crash looping?');
      await page
        .getByRole('button', { name: 'Ask', exact: true })
        .first()
        .click();
      // the newest answer is the last one
      const turns = page.getByTestId('safety-safe');
      await turns.nth(attempt - 1).waitFor({ timeout: 30_000 });
      await page
        .getByRole('button', { name: 'Run', exact: true })
        .last()
        .click();
      try {
        await cell.waitFor({ timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt >= 6) throw e;
        await page.waitForTimeout(5_000);
      }
    }
    const pod = (await cell.innerText()).trim();
    assert.match(pod, /^checkout-web-[a-z0-9]+-[a-z0-9]+$/);
    await screenshot(page, 'assistant-crashloop');

    await box.fill(`delete pod ${pod} in shop`);
    await page
      .getByRole('button', { name: 'Ask', exact: true })
      .first()
      .click();
    await page
      .getByTestId('safety-dangerous')
      .first()
      .waitFor({ timeout: 30_000 });
    assert.ok(
      await page
        .getByText(/Dangerous commands are turned off/)
        .first()
        .isVisible(),
    );
    assert.ok(
      await page
        .getByRole('button', { name: 'Run', exact: true })
        .last()
        .isDisabled(),
    );
    await screenshot(page, 'assistant-refusal');
  });
});
