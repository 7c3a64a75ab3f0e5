import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser } from 'playwright-core';
import {
  launchBrowser,
  openSignedIn,
  openSignedInAs,
  screenshot,
} from './browser.ts';
import { connectAsGuest, getRun, output, runToEnd } from './mcp.ts';

const REVIEWER = 'user:default/reviewer';

// The example app protects tenant namespaces `tenant-prod-*` (app-config.yaml, kubechart.approvals).
// The guest requests a change there; the reviewer, another platform-team member, approves it from
// their own browser session; the run then applies and its history names requester, approver and comment.
describe('Approvals for protected targets', () => {
  let browser: Browser;
  let client: Client;

  before(async () => {
    client = await connectAsGuest('kubechart-e2e-approvals');
    browser = await launchBrowser();
  });
  after(async () => {
    await client?.close();
    await browser?.close();
  });

  test('a run on a protected tenant waits; another user approves it in their session; it applies and the history shows who and why', async () => {
    const tenant = `prod-${Date.now().toString(36)}`;
    const started = output(
      await client.callTool({
        name: 'kubechart.provision-tenant',
        arguments: {
          cluster: 'kube-sim',
          tenant,
          owner: 'group:default/guests',
          releases: [
            {
              name: 'web',
              chart: 'kubechart-service',
              values: { replicas: 1 },
            },
          ],
        },
      }),
    );
    assert.equal(started.status, 'awaiting-approval');
    // The agent sees why: the gate, who may approve, and that nothing is applied until then.
    const waiting = await getRun(client, started.runId);
    assert.equal(waiting.approval.state, 'awaiting');
    assert.ok(
      waiting.approval.approvers.includes('group:default/platform-team'),
      JSON.stringify(waiting.approval),
    );
    assert.ok(!waiting.approval.approvers.includes('user:default/guest'));
    // The run's own page: the tenant's catalog entity exists only once its run applied.
    const runPath = `/kubechart/runs?run=${started.runId}`;

    // The requester sees the plan and who may approve, but may not approve it.
    const requester = await openSignedIn(browser, runPath);
    await requester
      .getByText('awaiting approval')
      .first()
      .waitFor({ timeout: 60_000 });
    await requester
      .getByTestId('kubechart-approval-cannot-decide')
      .getByText(/you requested this run/i)
      .first()
      .waitFor({ timeout: 30_000 });
    assert.equal(
      await requester
        .getByRole('button', { name: 'Approve', exact: true })
        .isDisabled(),
      true,
    );
    await screenshot(requester, 'approval-requested');
    // Nothing was applied while it waits.
    await new Promise(r => setTimeout(r, 3000));
    assert.equal(
      (await getRun(client, started.runId)).status,
      'awaiting-approval',
    );

    // The reviewer's own session: approve with a comment.
    const reviewer = await openSignedInAs(browser, REVIEWER, runPath);
    const approve = reviewer.getByRole('button', {
      name: 'Approve',
      exact: true,
    });
    await approve.first().waitFor({ timeout: 60_000 });
    await approve.first().click();
    const dialog = reviewer.getByRole('dialog');
    await dialog
      .getByRole('textbox', { name: 'Comment' })
      .fill('CHG-2026 reviewed in the browser test');
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 30_000 });

    const run = await runToEnd(client, started.runId);
    assert.equal(
      run.status,
      'succeeded',
      `run ended ${run.status}: ${run.failureReason ?? ''}`,
    );
    assert.equal(run.actor, 'user:default/guest');

    // The history shows requester, approver and comment.
    await reviewer.reload();
    const decisions = reviewer.getByTestId('kubechart-approval-decisions');
    await decisions
      .getByText('CHG-2026 reviewed in the browser test')
      .first()
      .waitFor({ timeout: 60_000 });
    // Users are shown by name: the approver in the decisions, the requester in the approval panel.
    await decisions.getByText('reviewer', { exact: true }).first().waitFor();
    await reviewer
      .getByTestId('kubechart-run-approval')
      .getByText('guest', { exact: true })
      .first()
      .waitFor();
    await screenshot(reviewer, 'approval-approved');
    await reviewer.context().close();
    await requester.close();
  });
});
