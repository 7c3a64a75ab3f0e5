// What a service owner sees on each KubeChart screen, and a screenshot of each (e2e-screenshots/screens-*).
// Runs last (see suite.test.ts): it reads the tenant and the runs tenant.e2e.ts left, and ends by
// failing on console errors and warnings our plugins caused anywhere in the suite.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
// The default Backstage light theme's palette, as the app uses it.
import { palettes } from '@backstage/theme/dist/base/palettes.esm.js';
import {
  appUrl,
  consoleProblems,
  gotoSignedIn,
  launchBrowser,
  openSignedIn,
  ourConsoleProblems,
  screenshot,
  screenshotDir,
} from './browser.ts';

const kubeSimUrl = process.env.KUBE_SIM_URL ?? 'https://127.0.0.1:7443';
const kubeSimToken = process.env.KUBE_SIM_TOKEN ?? 'kube-sim-dev-token';
const status: Record<string, string> = palettes.light.status;

/** A request to kube-sim (the test cluster) with the development token. */
function kube(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, kubeSimUrl),
      {
        method,
        rejectUnauthorized: false,
        headers: {
          Authorization: `Bearer ${kubeSimToken}`,
          Accept: 'application/json',
          ...(body ? { 'Content-Type': contentType } : {}),
        },
      },
      res => {
        let text = '';
        res.on('data', chunk => (text += chunk));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) {
            reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          } else {
            resolve(JSON.parse(text));
          }
        });
      },
    );
    req.on('error', reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

/** The stroke colour of a Backstage LinearGauge (an rc-progress line) inside a usage bar. */
async function gaugeColour(bar: Locator): Promise<string> {
  const strokes = await bar
    .locator('svg path')
    .evaluateAll(paths => paths.map(p => p.getAttribute('stroke') ?? ''));
  // The first path is the trail (grey); the second the bar itself.
  return strokes[strokes.length - 1].toUpperCase();
}

/** True when no other element is drawn over the right edge of the element (e.g. a floating button). */
async function rightEdgeUncovered(page: Page, target: Locator) {
  const box = await target.boundingBox();
  assert.ok(box, 'the element is on screen');
  const viewport = page.viewportSize()!;
  const x = Math.min(box.x + box.width - 3, viewport.width - 1);
  const ys = [0.2, 0.5, 0.8]
    .map(f => box.y + box.height * f)
    .filter(y => y > 0 && y < viewport.height);
  for (const y of ys) {
    const inside = await target.evaluate(
      (el, point) => {
        const hit = document.elementFromPoint(point.x, point.y);
        return Boolean(hit && el.contains(hit));
      },
      { x, y },
    );
    assert.ok(inside, `nothing covers the right edge at ${x},${Math.round(y)}`);
  }
}

describe('KubeChart screens', () => {
  let browser: Browser;
  let page: Page;
  let tenant: string | undefined;

  before(async () => {
    browser = await launchBrowser();
    // The newest tenant namespace: the one tenant.e2e.ts provisioned.
    const namespaces = await kube(
      'GET',
      '/api/v1/namespaces?labelSelector=kubechart.io%2Ftenant',
    );
    const newest = [...namespaces.items].sort((a: any, b: any) =>
      String(b.metadata.creationTimestamp).localeCompare(
        String(a.metadata.creationTimestamp),
      ),
    )[0];
    tenant = newest?.metadata.labels['kubechart.io/tenant'];
  });
  after(async () => {
    await browser?.close();
  });

  test('the sign-in page shows no assistant launcher', async () => {
    const fresh = await browser.newPage({
      viewport: { width: 1440, height: 1000 },
    });
    await fresh.goto(appUrl);
    await fresh
      .getByRole('button', { name: /enter/i })
      .waitFor({ timeout: 60_000 });
    await fresh.waitForTimeout(1_000);
    assert.equal(
      await fresh.getByLabel(/Ask the Kubernetes assistant/).count(),
      0,
      'no launcher before sign-in',
    );
    await screenshot(fresh, 'screens-00-sign-in');
    await fresh.close();
    page = await openSignedIn(browser, '/');
  });

  test('the home page has the Cluster health widget, idle use drawn in the ok colour', async () => {
    await gotoSignedIn(page, '/');
    const cluster = page.getByTestId('kubechart-cluster-kube-sim');
    await cluster.waitFor({ timeout: 60_000 });
    assert.ok(
      await page
        .getByText('Cluster health', { exact: true })
        .first()
        .isVisible(),
      'the widget has its title',
    );
    assert.match(await cluster.innerText(), /Nodes ready: \d+\/\d+/);
    const cpu = cluster.getByLabel(/^CPU \d+%$/);
    const percent = Number(
      /(\d+)%/.exec((await cpu.getAttribute('aria-label')) ?? '')![1],
    );
    const expected =
      percent >= 90 ? status.error : percent >= 70 ? status.warning : status.ok;
    assert.equal(
      await gaugeColour(cpu),
      expected.toUpperCase(),
      `CPU at ${percent}% is drawn in the theme's colour for that use`,
    );
    await page.waitForTimeout(1_000);
    await screenshot(page, 'screens-01-home');
  });

  test('the home page widgets sit in their grid rows at 1440x1000: side by side, none overlapping', async () => {
    await gotoSignedIn(page, '/');
    await page
      .getByTestId('kubechart-cluster-kube-sim')
      .waitFor({ timeout: 60_000 });
    const items = page.locator('.react-grid-item');
    await page.waitForTimeout(1_000);
    const boxes = await items.evaluateAll(els =>
      els.map(el => {
        const r = el.getBoundingClientRect();
        // A widget's text begins with its card title.
        const title = (el.textContent ?? '').trim().slice(0, 40);
        return { title, x: r.x, y: r.y, width: r.width, height: r.height };
      }),
    );
    assert.ok(boxes.length >= 5, `the widgets: ${JSON.stringify(boxes)}`);
    const overlap = (a: (typeof boxes)[number], b: (typeof boxes)[number]) =>
      a.x < b.x + b.width - 1 &&
      b.x < a.x + a.width - 1 &&
      a.y < b.y + b.height - 1 &&
      b.y < a.y + a.height - 1;
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        assert.ok(!overlap(a, b), `${a.title} and ${b.title} overlap`);
      }
    }
    // The default config puts Cluster health and the assistant on one row, half the width each.
    const byTitle = (re: RegExp) => {
      const box = boxes.find(b => re.test(b.title));
      assert.ok(box, `${re} is on the home page: ${JSON.stringify(boxes)}`);
      return box;
    };
    const health = byTitle(/^Cluster health/);
    const assistant = byTitle(/^Kubernetes assistant/);
    const search = boxes.reduce((a, b) => (a.width > b.width ? a : b));
    assert.ok(
      Math.abs(health.y - assistant.y) <= 1,
      `Cluster health (top ${health.y}) and the assistant (top ${assistant.y}) share a row`,
    );
    assert.ok(assistant.x > health.x + health.width - 1, 'side by side');
    assert.ok(
      Math.abs(health.width - assistant.width) <= 1 &&
        health.width + assistant.width >= search.width * 0.95,
      'each half of the row',
    );
    const started = byTitle(/^Getting Started/);
    const starred = byTitle(/^Your Starred Entities/);
    assert.ok(
      Math.abs(started.y - starred.y) <= 1,
      `Getting Started (top ${started.y}) and Starred Entities (top ${starred.y}) share a row`,
    );
    await screenshot(page, 'screens-01b-home-grid');
  });

  test('a nearly full tenant quota is drawn in the theme error colour', async () => {
    assert.ok(tenant, 'tenant.e2e.ts provisioned a tenant');
    const namespace = `tenant-${tenant}`;
    const quota = await kube(
      'GET',
      `/api/v1/namespaces/${namespace}/resourcequotas/kubechart-quota`,
    );
    const usedPods = Number(quota.status?.used?.pods ?? 0);
    assert.ok(usedPods > 0, 'the tenant runs pods');
    // The quota is exactly used up: 100 % of its pods.
    await kube(
      'PATCH',
      `/api/v1/namespaces/${namespace}/resourcequotas/kubechart-quota`,
      { spec: { hard: { ...quota.spec.hard, pods: String(usedPods) } } },
      'application/merge-patch+json',
    );
    await gotoSignedIn(page, `/catalog/default/system/${tenant}`);
    const pods = page.getByLabel('pods 100%');
    for (let i = 0; i < 6 && !(await pods.isVisible()); i++) {
      await page.waitForTimeout(5_000);
      await page.reload();
    }
    await pods.waitFor({ timeout: 30_000 });
    assert.equal(
      await gaugeColour(pods),
      status.error.toUpperCase(),
      'a used-up quota is the error colour',
    );
    await screenshot(page, 'screens-02-tenant-overview');
  });

  test('"Kubernetes" and "Deployment history" are top-level entity tabs', async () => {
    assert.ok(tenant);
    await gotoSignedIn(page, `/catalog/default/system/${tenant}`);
    // The entity page's tab bar: both tabs are shown by name, no "Deployment" menu groups them.
    for (const name of ['Kubernetes', 'Deployment history']) {
      const tab = page.getByText(name, { exact: true });
      await tab.first().waitFor({ timeout: 30_000 });
      assert.ok(await tab.first().isVisible(), `${name} is a visible tab`);
    }
    assert.equal(
      await page.getByText('Deployment', { exact: true }).count(),
      0,
      'no "Deployment" tab group',
    );
    await page.getByText('Kubernetes', { exact: true }).first().click();
    await page.waitForURL(/\/kubernetes$/, { timeout: 30_000 });
  });

  test('a refused run shows the failing rule first, without a stack trace, and offers no Retry', async () => {
    assert.ok(tenant);
    await gotoSignedIn(
      page,
      `/catalog/default/system/${tenant}/deployment-history`,
    );
    const refused = page.getByRole('row').filter({ hasText: 'risky' });
    await refused.first().waitFor({ timeout: 30_000 });
    await refused.first().click();
    const failure = page.getByTestId('kubechart-run-failure');
    await failure.waitFor({ timeout: 30_000 });
    const text = await failure.innerText();
    assert.match(text, /Refused by the chart policy/);
    assert.match(text, /\[image-tag\]/, 'the failing rule is named');
    assert.doesNotMatch(text, /\n\s+at \S+|\.(c|m)?js:\d+/, 'no stack trace');
    assert.ok(await failure.isVisible(), 'the failing rule is on screen');
    const header = page.getByTestId('kubechart-run-header');
    await header.scrollIntoViewIfNeeded();
    assert.equal(
      await header.getByRole('button', { name: 'Retry' }).count(),
      0,
      'no Retry on a policy-refused run',
    );
    await screenshot(page, 'screens-03-history-refused-run');
    await page.getByRole('tab', { name: 'Policy' }).click();
    await page.getByText('Policy report').first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'screens-04-history-refused-policy');
    // What was refused is kept: the values the run was given and the manifest it was judged on.
    const detail = page.getByTestId('kubechart-run-detail');
    await page.getByRole('tab', { name: 'Values' }).click();
    const values = page.getByLabel('Values (secrets redacted)');
    await values.waitFor({ timeout: 10_000 });
    // the code block fills in after its heading
    await values
      .getByText('"tag": "latest"', { exact: false })
      .first()
      .waitFor({ timeout: 10_000 });
    assert.match(await values.innerText(), /"tag": "latest"/);
    assert.doesNotMatch(await detail.innerText(), /recorded no values/);
    await screenshot(page, 'screens-04b-history-refused-values');
    await page.getByRole('tab', { name: 'Manifest' }).click();
    await page
      .getByText(/Manifest the run rendered \(not applied/)
      .first()
      .waitFor({ timeout: 10_000 });
    assert.match(
      await page.getByLabel('Manifest', { exact: true }).innerText(),
      /kind: Deployment[\s\S]*image: "?nginx:latest/,
    );
    assert.doesNotMatch(await detail.innerText(), /recorded no manifest/);
    await screenshot(page, 'screens-04c-history-refused-manifest');

    // The run that provisioned the tenant, open on its steps: one row per step.
    const provisioned = page
      .getByRole('row')
      .filter({ hasText: 'succeeded' })
      .filter({ hasText: 'tenant' });
    await provisioned.first().click();
    const steps = page.getByTestId('kubechart-run-steps');
    await steps.waitFor({ timeout: 30_000 });
    const rows = await steps.getByRole('row').allInnerTexts();
    const names = rows.map(r => r.split(/\s+/)[1]);
    assert.equal(new Set(names).size, names.length, 'each step once');
    assert.ok(
      rows.every(r => !/^(pending|running)/.test(r)),
      'every step of a finished run shows its final state',
    );
    await screenshot(page, 'screens-05-history-run');
  });

  test('the audit log: wide Target column, wrapping drawer, standard heading', async () => {
    await gotoSignedIn(page, '/audit-log');
    await page
      .getByRole('button', { name: /verify integrity/i })
      .waitFor({ timeout: 60_000 });
    await page.locator('tbody tr').first().waitFor({ timeout: 30_000 });
    const targetHeader = page.getByRole('columnheader', { name: 'Target' });
    const width = (await targetHeader.boundingBox())?.width ?? 0;
    assert.ok(width >= 200, `the Target column is ${width}px wide`);
    const plugin = page.getByLabel('Plugin', { exact: true });
    assert.ok(
      ((await plugin.boundingBox())?.width ?? 0) >= 120,
      'the plugin filter shows its value',
    );
    assert.ok(
      await page
        .getByRole('heading', { name: 'Audit log' })
        .first()
        .isVisible(),
    );
    await screenshot(page, 'screens-06-audit-log');
    await page.locator('tbody tr').first().click();
    const drawer = page.getByRole('dialog').filter({ hasText: /Event \d+/ });
    await drawer.waitFor({ timeout: 15_000 });
    const clipped = await drawer
      .locator('pre')
      .evaluateAll(
        pres => pres.filter(p => p.scrollWidth > p.clientWidth + 1).length,
      );
    assert.equal(clipped, 0, 'long lines wrap in the drawer');
    await screenshot(page, 'screens-07-audit-event');
    await page.keyboard.press('Escape');
  });

  test('nothing floats over tables; the assistant opens from the sidebar and has the standard header', async () => {
    await gotoSignedIn(
      page,
      '/catalog?filters[kind]=component&filters[user]=all',
    );
    const table = page.locator('table').first();
    await page
      .getByRole('row')
      .filter({ hasText: 'checkout-web' })
      .first()
      .waitFor({ timeout: 60_000 });
    await rightEdgeUncovered(page, table);
    await screenshot(page, 'screens-08-catalog');

    await gotoSignedIn(
      page,
      '/catalog/default/component/checkout-web/kubernetes',
    );
    await page
      .getByText(/restarting failed container/)
      .first()
      .waitFor({ timeout: 90_000 });
    await rightEdgeUncovered(page, page.locator('table').first());

    await page.getByRole('button', { name: /Ask the assistant/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ timeout: 15_000 });
    assert.ok(
      await dialog
        .getByRole('textbox', { name: 'Kubernetes assistant' })
        .isVisible(),
    );
    await screenshot(page, 'screens-09-assistant-dialog');
    await page.keyboard.press('Escape');

    await gotoSignedIn(page, '/kube-assistant');
    await page
      .getByRole('textbox', { name: 'Kubernetes assistant' })
      .waitFor({ timeout: 30_000 });
    assert.equal(
      await page.getByRole('heading', { name: 'Kubernetes assistant' }).count(),
      1,
      'one page header, the app’s own',
    );
    await screenshot(page, 'screens-10-assistant-page');

    await gotoSignedIn(page, '/kubechart/tenants');
    await page
      .getByText(tenant ?? 'Tenants')
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'screens-11-tenants');
  });

  test('our plugins wrote no errors or warnings to the browser console during the suite', () => {
    mkdirSync(screenshotDir, { recursive: true });
    writeFileSync(
      join(screenshotDir, 'console.txt'),
      consoleProblems.map(p => `[${p.type}] ${p.url}\n${p.text}\n`).join('\n'),
    );
    const ours = ourConsoleProblems();
    assert.deepEqual(
      ours.map(p => `${p.url}: ${p.text.split('\n')[0]}`),
      [],
      'console problems from KubeChart plugins (all messages: e2e-screenshots/console.txt)',
    );
  });
});
