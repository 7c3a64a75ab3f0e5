import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };

const input = {
  cluster: 'kube-sim',
  tenant: 'prod-acme',
  entityRef: 'system:default/acme',
  quotaPreset: 'small' as const,
  releases: [{ name: 'web', chart: 'kubechart-service' }],
};

/**
 * A task cancelled while its step waits for approval takes its request back: otherwise a later
 * approval would apply the change the user stopped, in their name.
 */
describe('a kubechart step cancelled while its run awaits approval', () => {
  /** A step whose run waits for approval (never decided here), and the task's abort controller. */
  function waitingStep(runs: FakeKubechartRuns) {
    runs.approval = { polls: 1_000_000, resubmit: false, decisions: [] };
    const action = createTenantProvisionAction({
      runs,
      links,
      pollIntervalMs: 1,
      approvalPollIntervalMs: 1,
    });
    const cancel = new AbortController();
    const ctx = {
      ...createMockActionContext({ input }),
      signal: cancel.signal,
    };
    jest.spyOn(ctx.logger, 'info');
    jest.spyOn(ctx.logger, 'warn');
    // The user cancels the task once the step says it waits.
    (ctx.logger.info as jest.Mock).mockImplementation((line: string) => {
      if (String(line).includes('is waiting for approval')) cancel.abort();
    });
    return { run: () => action.handler(ctx as any), ctx };
  }

  it('withdraws the request before the step ends as cancelled', async () => {
    const runs = new FakeKubechartRuns();
    const { run, ctx } = waitingStep(runs);
    await expect(run()).rejects.toThrow(/abort/i);
    expect(runs.withdrawn).toEqual([
      {
        id: 'run-1',
        comment: 'the scaffolder task mock-task-id was cancelled',
      },
    ]);
    expect((await runs.getRun('run-1')).approval?.state).toBe('withdrawn');
    expect(
      (ctx.logger.info as jest.Mock).mock.calls.map(c => String(c[0])),
    ).toContain(
      'kubechart run run-1 was withdrawn as the task was cancelled; nothing was applied',
    );
  });

  it('withdraws an approved run waiting for its input again instead of submitting it', async () => {
    const runs = new FakeKubechartRuns();
    // Approved on the first read; its input (a secret value) is the step's to submit again.
    runs.approval = {
      polls: 0,
      resubmit: true,
      decisions: [
        { by: 'user:default/bob', decision: 'approve', comment: 'ok' },
      ],
    };
    const action = createTenantProvisionAction({
      runs,
      links,
      pollIntervalMs: 1,
      approvalPollIntervalMs: 1,
    });
    const cancel = new AbortController();
    const ctx = {
      ...createMockActionContext({ input }),
      signal: cancel.signal,
    };
    cancel.abort();
    await expect(action.handler(ctx as any)).rejects.toThrow(/abort/i);
    expect(runs.executed).toEqual([]);
    expect(runs.withdrawn.map(w => w.id)).toEqual(['run-1']);
  });

  it('says so when the request could not be withdrawn (decided meanwhile), and still ends as cancelled', async () => {
    const runs = new FakeKubechartRuns();
    runs.withdrawRefusal = new Error(
      'Run run-1 is not open for approval (its approval is executed); nothing was withdrawn',
    );
    const { run, ctx } = waitingStep(runs);
    await expect(run()).rejects.toThrow(/abort/i);
    expect(
      (ctx.logger.warn as jest.Mock).mock.calls.map(c => String(c[0])),
    ).toContain(
      'kubechart run run-1 could not be withdrawn: Run run-1 is not open for approval (its approval is executed); nothing was withdrawn',
    );
  });
});
