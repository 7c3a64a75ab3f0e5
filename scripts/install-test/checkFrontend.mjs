#!/usr/bin/env node
// The installed app in a browser: the new app's production build, as its backend serves it, loaded in
// headless Chromium (playwright-core from this repository). Signs in as the guest, then checks that each
// KubeChart family draws its screens from the installed tarballs: the home page widgets, the entity's
// Deployment history tab with the run checkRunningApp.js started, the tenants page, the audit log with
// that run's events, the assistant page. A page error, or a console error naming our packages, fails it.
// Usage: checkFrontend.mjs <app base URL> <repository root (for playwright-core)>
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [base, root] = process.argv.slice(2);
const { chromium } = createRequire(join(root, 'package.json'))(
  'playwright-core',
);

const ENTITY = 'component:default/example-website';
const problems = [];

async function guestToken() {
  const res = await fetch(`${base}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!res.ok) throw new Error(`guest sign-in answered ${res.status}`);
  return (await res.json()).backstageIdentity.token;
}

/** Waits for `locator`, naming the page and what was awaited when it does not come. */
async function expectVisible(page, locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 60_000 });
  } catch {
    const text = (await page.locator('body').innerText()).slice(0, 1500);
    throw new Error(
      `${
        new URL(page.url()).pathname
      }: ${what} did not appear within 60 s; the page shows:\n${text}`,
    );
  }
  console.log(`  ${new URL(page.url()).pathname}: ${what}`);
}

async function main() {
  const token = await guestToken();
  const runs = await (
    await fetch(
      `${base}/api/kubechart/runs?entityRef=${encodeURIComponent(ENTITY)}`,
      { headers: { Authorization: `Bearer ${token}` } },
    )
  ).json();
  const run = runs.items?.find(r => r.kind === 'chart');
  if (!run) throw new Error(`no chart run of ${ENTITY} to look for`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({
      viewport: { width: 1440, height: 1000 },
    });
    // create-app's own home widgets fetch from the internet, which the install test may not reach:
    // their "Failed to fetch" is not ours when such a request failed.
    let offlineFailures = 0;
    page.on('requestfailed', r => {
      if (new URL(r.url()).origin !== new URL(base).origin) offlineFailures++;
    });
    page.on('pageerror', e => {
      if (e.message === 'Failed to fetch' && offlineFailures > 0) {
        offlineFailures--;
        return;
      }
      problems.push(`${page.url()}: page error: ${e.message}`);
    });
    // Our backends answer every request the screens make (an error status is an error shown).
    page.on('response', r => {
      if (
        r.status() >= 500 &&
        /\/api\/(kubechart|audit-log|kube-assistant)\//.test(r.url())
      )
        problems.push(`${page.url()}: ${r.status()} from ${r.url()}`);
    });
    page.on('requestfailed', r => {
      if (/\/api\/(kubechart|audit-log|kube-assistant)\//.test(r.url()))
        problems.push(
          `${page.url()}: request failed: ${r.url()} (${
            r.failure()?.errorText
          })`,
        );
    });
    page.on('console', m => {
      if (
        m.type() === 'error' &&
        /@kubechart\/|plugin-(kubechart|audit-log|assistant)/.test(m.text())
      )
        problems.push(`${page.url()}: console error: ${m.text()}`);
    });

    await page.goto(`${base}/`);
    const enter = page.getByRole('button', { name: /enter/i });
    await expectVisible(page, enter, 'the guest sign-in');
    await enter.click();
    await expectVisible(
      page,
      page.getByRole('link', { name: 'Tenants' }),
      'our pages in the sidebar',
    );
    // create-app serves the catalog at `/` and the home page at its own path.
    await page.goto(`${base}/home`);
    await expectVisible(
      page,
      page.getByText('Cluster health'),
      'the cluster health widget (home page)',
    );
    await expectVisible(
      page,
      page.getByRole('button', { name: 'Ask', exact: true }),
      'the assistant widget (home page)',
    );
    await expectVisible(
      page,
      page.getByText('No open approval requests', { exact: false }),
      'the approvals widget (home page)',
    );

    await page.goto(
      `${base}/catalog/default/component/example-website/deployment-history`,
    );
    await expectVisible(
      page,
      page.getByText('Deployment history', { exact: true }),
      'the Deployment history tab',
    );
    await expectVisible(
      page,
      page
        .getByRole('row')
        .filter({ hasText: 'kube-sim / shop / web' })
        .filter({ hasText: run.status }),
      `the ${run.status} run kube-sim / shop / web in the history table`,
    );

    await page.goto(`${base}/kubechart/tenants`);
    await expectVisible(
      page,
      page.getByRole('heading', { name: 'Tenants' }),
      'the tenants page',
    );

    await page.goto(`${base}/audit-log`);
    await expectVisible(
      page,
      page.getByRole('row').filter({ hasText: 'scaffolder' }),
      'the scaffolder task in the audit log',
    );

    await page.goto(`${base}/kube-assistant`);
    await expectVisible(
      page,
      page.getByRole('heading', { name: 'Kubernetes assistant' }),
      'the assistant page',
    );
  } finally {
    await browser.close();
  }
  if (problems.length) {
    throw new Error(
      `the installed plugins' screens reported errors:\n${problems.join('\n')}`,
    );
  }
}

main().catch(e => {
  console.error(e.message ?? e);
  process.exit(1);
});
