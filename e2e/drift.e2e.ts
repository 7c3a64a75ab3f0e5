import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import {
  backendUrl,
  guestToken,
  launchBrowser,
  openSignedIn,
  screenshot,
} from './browser.ts';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..');

/** Real kubectl against the kube-sim that `make start` runs: a person changing the cluster by hand. */
function kubectl(...args: string[]) {
  return exec(join(root, '.tools/bin/kubectl'), args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      KUBECONFIG: join(root, '.kube-sim/kubeconfig'),
    },
    timeout: 30_000,
  });
}

let token: string;

async function kubechart(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${backendUrl}/api/kubechart${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
    },
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Polls until `read` gives a value (at most `seconds`). */
async function eventually<T>(
  what: string,
  seconds: number,
  read: () => Promise<T | undefined>,
): Promise<T> {
  for (let i = 0; i < seconds; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise(r => setTimeout(r, 1000));
  }
  throw new Error(`${what} did not happen within ${seconds}s`);
}

// Drift: a chart run from the portal, a manual `kubectl scale`, the badge and the field diff on the
// deployment-history tab, then "Re-apply last run".
describe('Drift between history and the cluster', () => {
  let browser: Browser;

  before(async () => {
    token = await guestToken();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the drift badge appears after a manual change, names kubectl, and re-applying clears it', async () => {
    const release = `drift-${Date.now().toString(36)}`;
    const created = await kubechart('/runs', {
      method: 'POST',
      body: JSON.stringify({
        kind: 'chart',
        cluster: 'kube-sim',
        namespace: 'payments',
        entityRef: 'component:default/payments-api',
        release: {
          name: release,
          chart: 'kubechart-service',
          values: { replicas: 1 },
        },
      }),
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const run = await eventually('the chart run', 180, async () => {
      const r = (await kubechart(`/runs/${created.body.id}`)).body;
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    });
    assert.equal(run.status, 'succeeded', run.failureReason);
    // The drift job runs right after an applying run succeeds.
    const first = await eventually('the first drift check', 60, async () => {
      const d = await kubechart(`/runs/${run.id}/drift`);
      return d.status === 200 ? d.body : undefined;
    });
    assert.equal(first.status, 'in-sync', JSON.stringify(first.objects));

    const page = await openSignedIn(
      browser,
      `/catalog/default/component/payments-api/deployment-history`,
    );
    // This run's entry on the drift card (the entity has other releases).
    const entry = page.getByTestId(`drift-${run.id}`);
    await entry
      .getByText(`kube-sim / payments / ${release}`, { exact: true })
      .waitFor({ timeout: 60_000 });
    await entry.getByText('In sync').waitFor();

    await kubectl(
      '-n',
      'payments',
      'scale',
      `deployment/${release}`,
      '--replicas=3',
    );
    // The next pass of the drift job (kubechart.drift.frequencySeconds of the example: 15) signals the page.
    await entry
      .getByText(/^Drifted \(1 object\) since /)
      .waitFor({ timeout: 90_000 });
    const row = entry.getByRole('row').filter({ hasText: 'spec.replicas' });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.getByRole('cell').allTextContents();
    assert.deepEqual(cells.slice(0, 4), [
      `Deployment payments/${release}`,
      'spec.replicas',
      '1',
      '3',
    ]);
    assert.match(cells[4], /^kubectl \(/);
    await screenshot(page, 'drift-badge-and-diff');

    await entry.getByRole('button', { name: 'Re-apply last run' }).click();
    const dialog = page.getByRole('dialog');
    await dialog
      .getByText(
        `Helm release ${release} in namespace payments on cluster kube-sim will be rolled back`,
        { exact: false },
      )
      .waitFor();
    await dialog.getByRole('button', { name: 'Re-apply' }).click();
    const reapplied = await eventually('the re-apply run', 180, async () => {
      const { items } = (
        await kubechart(
          `/runs?entityRef=component:default/payments-api&kind=rollback&limit=5`,
        )
      ).body;
      const r = items.find(
        (i: any) =>
          i.target.release === release &&
          (i.status === 'succeeded' || i.status === 'failed'),
      );
      return r;
    });
    assert.equal(reapplied.status, 'succeeded', reapplied.failureReason);
    const after = await eventually('drift after the re-apply', 90, async () => {
      const d = await kubechart(`/runs/${reapplied.id}/drift`);
      return d.status === 200 ? d.body : undefined;
    });
    assert.equal(after.status, 'in-sync', JSON.stringify(after.objects));
    // The chart run is no longer the latest on its release: the re-apply run's entry replaces it.
    await page
      .getByTestId(`drift-${reapplied.id}`)
      .getByText('In sync')
      .waitFor({ timeout: 60_000 });
    await entry.waitFor({ state: 'detached', timeout: 60_000 });
    await screenshot(page, 'drift-in-sync-after-reapply');
    await page.close();
  });
});
