import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';

describe('assistant diagnosis', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('asked why the demo pod crashes, it answers with the cause and its evidence', async () => {
    const page = await openSignedIn(browser, '/');
    const box = page
      .getByRole('textbox', { name: 'Kubernetes assistant' })
      .first();
    await box.waitFor({ timeout: 60_000 });

    await box.fill('why is checkout-web crashing');
    await page
      .getByRole('button', { name: 'Ask', exact: true })
      .first()
      .click();
    // A diagnosis only reads: it is safe, and says what it reaches.
    await page.getByTestId('safety-safe').first().waitFor({ timeout: 30_000 });
    assert.match(
      await page.getByTestId('assistant-scope').first().innerText(),
      /deployments\/checkout-web in namespace shop/,
    );
    await page
      .getByRole('button', { name: 'Run', exact: true })
      .first()
      .click();
    const answer = page.getByTestId('assistant-diagnosis').first();
    await answer.waitFor({ timeout: 30_000 });
    const sentence = await answer.innerText();
    assert.match(
      sentence,
      /^deployment\/checkout-web is not healthy \(0\/1 pods Ready\): container \S+ in pod checkout-web-\S+ is crash-looping: it has restarted \d+ times? and last exited with code 1/,
    );
    assert.ok(
      await page
        .getByText(/Read-only steps: read deployment\/checkout-web/)
        .first()
        .isVisible(),
    );
    await screenshot(page, 'assistant-diagnosis');
  });
});
