import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';

describe('Kubernetes tab', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  // The core Backstage Kubernetes plugin, unchanged, against kube-sim's demo cluster.
  test('the Kubernetes tab lists the entity’s pods and shows the crash-looping one', async () => {
    const page = await openSignedIn(
      browser,
      '/catalog/default/component/checkout-web/kubernetes',
    );

    const errorReport = page.getByText(/restarting failed container/).first();
    await errorReport.waitFor({ timeout: 90_000 });
    assert.ok(await page.getByText('1 pod with errors').isVisible());

    // Cluster → the checkout-web Deployment → its pods.
    await page.getByText('kube-sim (local)').last().click();
    await page
      .getByRole('button')
      .filter({ hasText: /checkout-web\s*Deployment/ })
      .first()
      .click();
    await page
      .getByText('CrashLoopBackOff')
      .first()
      .waitFor({ timeout: 30_000 });
    const crashing = page
      .getByRole('row')
      .filter({ hasText: /checkout-web-/ })
      .filter({ hasText: 'CrashLoopBackOff' });
    assert.equal(
      await crashing.count(),
      1,
      'the crash-looping pod is listed with its reason',
    );
    await screenshot(page, 'kubernetes-tab');
  });
});
