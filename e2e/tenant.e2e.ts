import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  fillTenantFirstStep,
  gotoSignedIn,
  launchBrowser,
  openSignedIn,
  scaffolderTaskLog,
  screenshot,
  waitForTaskEnd,
} from './browser.ts';

describe('tenant and chart templates', () => {
  // One tenant per run, so the test can run against a long-lived `make start` too.
  const code = `e2e-${Date.now().toString(36)}`;
  let browser: Browser;
  let page: Page;

  before(async () => {
    browser = await launchBrowser();
    page = await openSignedIn(browser, '/create');
  });
  after(async () => {
    await browser?.close();
  });

  test('a tenant provisioned through the scaffolder shows up with its run and healthy releases', async () => {
    await fillTenantFirstStep(page, code, `E2E ${code}`);
    await screenshot(page, 'tenant-1-form');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Review' }).click();
    await screenshot(page, 'tenant-2-review');
    await page.getByRole('button', { name: 'Create' }).click();

    await waitForTaskEnd(page);
    await screenshot(page, 'tenant-3-task');
    assert.ok(
      await page
        .getByText(/wait: succeeded/)
        .first()
        .isVisible(),
      'the task log streams the run up to readiness',
    );
    assert.ok(await page.getByText(`tenant-${code}`).first().isVisible());

    // The catalog gets the tenant entity from the kubechart provider within seconds.
    await page.getByRole('link', { name: /Open the tenant/i }).click();
    const healthCard = page.getByText('Tenant health');
    for (let i = 0; i < 12 && !(await healthCard.isVisible()); i++) {
      await page.waitForTimeout(5_000);
      await page.reload();
    }
    await healthCard.waitFor({ timeout: 30_000 });
    await page
      .getByText('healthy', { exact: true })
      .first()
      .waitFor({ timeout: 60_000 });
    for (const release of ['db: 1/1', 'api: 2/2', 'web: 2/2']) {
      assert.ok(
        await page.getByText(release).isVisible(),
        `${release} is shown ready`,
      );
    }
    await screenshot(page, 'tenant-4-entity');

    await gotoSignedIn(
      page,
      `/catalog/default/system/${code}/deployment-history`,
    );
    const row = page.getByRole('row').filter({ hasText: `tenant-${code}` });
    await row.first().waitFor({ timeout: 30_000 });
    assert.match(await row.first().innerText(), /succeeded[\s\S]*tenant/);
    await screenshot(page, 'tenant-5-history');
  });

  test('a chart that breaks an enforced rule is refused, and the run says why', async () => {
    await gotoSignedIn(page, `/create/templates/default/kubechart-chart`);
    await page.locator('#root_chart').waitFor({ timeout: 60_000 });
    await page.locator('#root_chart').fill('kubechart-service');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.locator('#root_entity').click();
    await page.locator('#root_entity').fill(code);
    await page
      .getByRole('option', { name: new RegExp(code) })
      .first()
      .click();
    await page.locator('#root_namespace').fill(`tenant-${code}`);
    await page.locator('#root_release').fill('risky');
    await page.getByRole('button', { name: 'Next' }).click();

    // An unpinned image tag breaks the image-tag rule (severity error, mode enforce).
    await page
      .locator('#root_values')
      .fill('image:\n  repository: nginx\n  tag: latest\n');
    await page.getByLabel(/Policy check before install/).click();
    await page.getByRole('option', { name: /Report only/ }).click();
    await page.getByRole('button', { name: 'Review' }).click();
    // The review lists the YAML values as the mapping they are, key by key, not on one line.
    const values = page.getByRole('row').filter({ hasText: 'Values (YAML)' });
    await values.first().waitFor({ timeout: 10_000 });
    const reviewLines = (await values.first().innerText())
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean);
    for (const shown of ['repository', 'nginx', 'tag', 'latest']) {
      assert.ok(
        reviewLines.some(l => l.includes(shown)),
        `${shown} is in the review: ${reviewLines.join(' | ')}`,
      );
    }
    assert.ok(
      !reviewLines.some(l => /repository/.test(l) && /tag/.test(l)),
      `the values are not collapsed onto one line: ${reviewLines.join(' | ')}`,
    );
    await screenshot(page, 'chart-0-review-values');
    await page.getByRole('button', { name: 'Create' }).click();

    await waitForTaskEnd(page);
    const error = page.getByText(/^Error: kubechart run .* failed/).first();
    await error.waitFor({ timeout: 60_000 });
    const text = await error.innerText();
    assert.match(text, /polic/i);
    assert.ok(
      await page
        .getByText(/\[image-tag\]/)
        .first()
        .isVisible(),
      'the task log lists the broken rule',
    );
    // The error panel at the top of the task page names the failing rule, on screen.
    await page.evaluate(() => window.scrollTo(0, 0));
    const rule = page.getByText(/\[image-tag\]/).first();
    const ruleBox = await rule.boundingBox();
    assert.ok(
      ruleBox && ruleBox.y >= 0 && ruleBox.y + ruleBox.height <= 1000,
      `the failing rule is on screen without scrolling (at ${JSON.stringify(
        ruleBox,
      )})`,
    );
    // The scaffolder prints a failed step's error with its stack: a refusal has none.
    const log = await scaffolderTaskLog(page);
    assert.match(log, /kubechart run .* failed: .*polic/i);
    assert.doesNotMatch(
      log,
      /^\s+at \S.*(:\d+:\d+\)?|native\)?)$/m,
      'no Node stack trace in the task log',
    );
    assert.equal(
      await page.getByRole('button', { name: /retry/i }).count(),
      0,
      'no Retry on a policy-refused run',
    );
    await screenshot(page, 'chart-1-refused');

    await gotoSignedIn(
      page,
      `/catalog/default/system/${code}/deployment-history`,
    );
    const failed = page.getByRole('row').filter({ hasText: 'risky' });
    await failed.first().waitFor({ timeout: 30_000 });
    assert.match(await failed.first().innerText(), /failed/);
    await screenshot(page, 'chart-2-history');
  });
  test('the advanced template generates manifests, shows them, and applies them', async () => {
    await gotoSignedIn(page, `/create/templates/default/kubechart-manifests`);
    await page.locator('#root_name').waitFor({ timeout: 60_000 });
    await page.locator('#root_entity').click();
    await page.locator('#root_entity').fill(code);
    await page
      .getByRole('option', { name: new RegExp(code) })
      .first()
      .click();
    await page.locator('#root_name').fill('hello');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#root_namespace').fill(`tenant-${code}`);
    await page.locator('#root_domain').fill(`${code}.example.com`);
    await page.getByRole('button', { name: 'Next' }).click();
    // The form's last step shows the generated YAML after its dry run, before anything is applied.
    await page
      .getByTestId('kubechart-manifests-yaml')
      .getByText(/kind: HTTPRoute/)
      .first()
      .waitFor({ timeout: 60_000 });
    // The YAML shows before its dry run's policy check ends; the step accepts it only once the
    // check passed (before, Review stays on the step with a validation message).
    await page
      .getByText(/Policy check passed/)
      .first()
      .waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Review' }).click();
    await page.getByRole('button', { name: 'Create' }).click();

    await waitForTaskEnd(page);
    // The apply step applied each object. The log view only renders the lines in view, so filter
    // it with its search box.
    const search = page.getByPlaceholder('Search').last();
    for (const kind of [
      'Deployment',
      'Service',
      'NetworkPolicy',
      'HTTPRoute',
    ]) {
      await search.fill(`${kind}/hello: created`);
      await page
        .getByText(`${kind}/hello: created`)
        .first()
        .waitFor({ timeout: 10_000 });
    }
    await screenshot(page, 'manifests-1-applied');
  });
});
