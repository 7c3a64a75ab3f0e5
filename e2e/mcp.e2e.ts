import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSignedIn, screenshot } from './browser.ts';
import { connectAsGuest, output, runToEnd } from './mcp.ts';

let client: Client;

/** Starts a chart run of kubechart-service for payments-api in kube-sim/payments; its result (runId, link). */
async function installChart(
  release: string,
  values: Record<string, unknown>,
): Promise<any> {
  return output(
    await client.callTool({
      name: 'kubechart.install-chart',
      arguments: {
        cluster: 'kube-sim',
        namespace: 'payments',
        entityRef: 'component:default/payments-api',
        release: { name: release, chart: 'kubechart-service', values },
      },
    }),
  );
}

// An AI agent's view: a real MCP client against the example backend's MCP actions endpoint, acting as
// the signed-in guest (a platform-team member), then the same run seen in the portal.
describe('KubeChart as MCP tools', () => {
  let browser: Browser;

  before(async () => {
    client = await connectAsGuest('kubechart-e2e');
    browser = await launchBrowser();
  });
  after(async () => {
    await client?.close();
    await browser?.close();
  });

  test('lists KubeChart, audit-log and assistant tools with their hints', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map(t => [t.name, t]));
    for (const name of [
      'kubechart.get-cluster-health',
      'kubechart.list-runs',
      'kubechart.check-policy',
      'kubechart.install-chart',
      'kubechart.rollback-release',
      'kubechart.provision-tenant',
      'audit-log.query-audit-events',
      'kube-assistant.plan-question',
    ]) {
      assert.ok(
        byName.has(name),
        `${name} is not among ${[...byName.keys()].join(', ')}`,
      );
    }
    assert.equal(
      byName.get('kubechart.get-cluster-health')!.annotations?.readOnlyHint,
      true,
    );
    assert.equal(
      byName.get('kubechart.install-chart')!.annotations?.destructiveHint,
      true,
    );
  });

  test('a read-only tool answers with the cluster’s health', async () => {
    const health = output(
      await client.callTool({
        name: 'kubechart.get-cluster-health',
        arguments: { cluster: 'kube-sim' },
      }),
    );
    assert.ok(
      health.clusters.some((c: { name: string }) => c.name === 'kube-sim'),
    );
    assert.notEqual(health.health.status, 'error');
    assert.ok(health.health.nodes.total > 0);
  });

  test('a chart run started by the agent is recorded for the user and shows in deployment history', async () => {
    const release = `mcp-${Date.now().toString(36)}`;
    const started = await installChart(release, { replicas: 1 });
    assert.match(
      started.link,
      /\/catalog\/default\/component\/payments-api\/deployment-history/,
    );
    const run = await runToEnd(client, started.runId);
    assert.equal(
      run.status,
      'succeeded',
      `run ended ${run.status}: ${run.failureReason ?? ''}`,
    );
    assert.equal(run.actor, 'user:default/guest');

    // Outside the user's scope the agent is refused as the portal would be.
    const refused = await client.callTool({
      name: 'kubechart.install-chart',
      arguments: {
        cluster: 'kube-sim',
        namespace: 'kube-system',
        release: { name: release, chart: 'kubechart-service' },
      },
    });
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /kube-system/);

    const page = await openSignedIn(
      browser,
      '/catalog/default/component/payments-api/deployment-history',
    );
    await page.getByText(release).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'mcp-run-in-history');
  });

  test('the history offers "Roll back to this revision" on an earlier revision, not on the one the release is at', async () => {
    const release = `mcp-rb-${Date.now().toString(36)}`;
    const runIds: string[] = [];
    for (const replicas of [1, 2]) {
      const started = await installChart(release, { replicas });
      const run = await runToEnd(client, started.runId);
      assert.equal(
        run.status,
        'succeeded',
        `run ended ${run.status}: ${run.failureReason ?? ''}`,
      );
      runIds.push(started.runId);
    }
    const history =
      '/catalog/default/component/payments-api/deployment-history';
    const rollback = (page: Awaited<ReturnType<typeof openSignedIn>>) =>
      page.getByRole('button', { name: 'Roll back to this revision' });

    const earlier = await openSignedIn(browser, `${history}?run=${runIds[0]}`);
    await earlier.getByText(runIds[0]).first().waitFor({ timeout: 60_000 });
    await rollback(earlier).waitFor({ timeout: 30_000 });
    await screenshot(earlier, 'mcp-rollback-offered-on-revision-1');

    const current = await openSignedIn(browser, `${history}?run=${runIds[1]}`);
    await current.getByText(runIds[1]).first().waitFor({ timeout: 60_000 });
    // The earlier revision showed its button within this time; the current one must not get one.
    await current.waitForTimeout(5_000);
    assert.equal(
      await rollback(current).count(),
      0,
      'no rollback offered on the revision the release is at',
    );
    await screenshot(current, 'mcp-no-rollback-on-current-revision');
  });
});
