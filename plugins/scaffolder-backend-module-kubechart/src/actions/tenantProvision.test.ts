import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };

/** A checkpoint store that survives "retries" of the same step, as the scaffolder's does. */
function checkpointStore() {
  const saved = new Map<string, unknown>();
  return async ({ key, fn }: { key: string; fn: () => Promise<any> }) => {
    if (!saved.has(key)) saved.set(key, await fn());
    return saved.get(key) as any;
  };
}

describe('kubechart:tenant:provision', () => {
  const input = {
    cluster: 'kube-sim',
    tenant: 'acme',
    entityRef: 'system:default/acme',
    quotaPreset: 'small' as const,
    credentials: ['databasePassword'],
    releases: [
      { name: 'db', chart: 'kubechart-postgres' },
      {
        name: 'web',
        chart: 'kubechart-service',
        values: 'image:\n  tag: 1.2.3\n',
      },
    ],
  };

  it('starts a tenant run for the user, streams its log and outputs where it landed', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = {
      status: 'succeeded',
      events: [
        {
          type: 'step',
          level: 'info',
          step: 'namespace',
          stepStatus: 'succeeded',
          message: 'created tenant-acme',
        },
        {
          type: 'log',
          level: 'info',
          message: '[web] Release "web" has been upgraded.',
        },
      ],
    };
    const action = createTenantProvisionAction({ runs, links });
    const ctx = createMockActionContext({ input });
    const info = jest.spyOn(ctx.logger, 'info');

    await action.handler(ctx);

    expect(runs.created).toHaveLength(1);
    expect(runs.created[0]).toMatchObject({
      kind: 'tenant',
      cluster: 'kube-sim',
      tenant: 'acme',
      entityRef: 'system:default/acme',
      credentials: ['databasePassword'],
      quota: { hard: expect.objectContaining({ pods: '20' }) },
      releases: [
        { name: 'db', chart: 'kubechart-postgres' },
        {
          name: 'web',
          chart: 'kubechart-service',
          values: { image: { tag: '1.2.3' } },
        },
      ],
    });
    expect(info).toHaveBeenCalledWith(
      'namespace: succeeded — created tenant-acme',
    );
    expect(info).toHaveBeenCalledWith('[web] Release "web" has been upgraded.');
    expect(ctx.output).toHaveBeenCalledWith('runId', 'run-1');
    expect(ctx.output).toHaveBeenCalledWith('namespace', 'tenant-acme');
    // The last historyUrl the task shows opens the tab on this run, in the same tab (relative).
    const historyLinks = (ctx.output as jest.Mock).mock.calls.filter(
      ([name]) => name === 'historyUrl',
    );
    expect(historyLinks[historyLinks.length - 1][1]).toBe(
      '/catalog/default/system/acme/deployment-history?run=run-1',
    );
  });

  it('asks to uninstall dropped releases only when the input says pruneReleases', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = { status: 'succeeded', events: [] };
    const action = createTenantProvisionAction({ runs, links });
    await action.handler(createMockActionContext({ input }));
    await action.handler(
      createMockActionContext({ input: { ...input, pruneReleases: true } }),
    );
    expect(runs.created.map(r => (r as any).pruneReleases)).toEqual([
      undefined,
      true,
    ]);
  });

  it('follows the run it already started when the step is retried', async () => {
    const runs = new FakeKubechartRuns();
    const action = createTenantProvisionAction({ runs, links });
    const checkpoint = checkpointStore();
    await action.handler({ ...createMockActionContext({ input }), checkpoint });
    await action.handler({ ...createMockActionContext({ input }), checkpoint });
    expect(runs.created).toHaveLength(1);
  });

  it('fails the step with the run’s reason', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = {
      status: 'failed',
      failureReason:
        'release web: pod web-1 is CrashLoopBackOff (back-off restarting failed container)',
    };
    const action = createTenantProvisionAction({ runs, links });
    await expect(
      action.handler(createMockActionContext({ input })),
    ).rejects.toThrow(
      /run-1 failed: release web: pod web-1 is CrashLoopBackOff/,
    );
  });

  it('fails a policy-refused run with the failing rule first and no stack trace in the task log', async () => {
    const runs = new FakeKubechartRuns();
    runs.outcome = {
      status: 'failed',
      failureReason:
        'Chart policy (enforce) blocked release web; nothing was installed:\n' +
        '- error [image-tag] Deployment/web: image nginx:latest is not pinned',
    };
    const action = createTenantProvisionAction({ runs, links });
    const error = await action
      .handler(createMockActionContext({ input }))
      .catch(e => e);
    // The scaffolder prints `err.stack` of a failed step: here the reason alone.
    expect(error.stack).toBe(`Error: ${error.message}`);
    expect(error.message).toMatch(
      /^kubechart run run-1 failed: Chart policy \(enforce\) blocked release web/,
    );
    expect(error.message).toContain('[image-tag] Deployment/web');
  });

  it('only previews on a dry run', async () => {
    const runs = new FakeKubechartRuns();
    const action = createTenantProvisionAction({ runs, links });
    const ctx = { ...createMockActionContext({ input }), isDryRun: true };
    await action.handler(ctx);
    expect(runs.created).toHaveLength(0);
    expect(runs.previewed).toHaveLength(1);
    expect(ctx.output).toHaveBeenCalledWith('runId', 'dry-run');
  });

  it('refuses values that are not a mapping before anything starts', async () => {
    const runs = new FakeKubechartRuns();
    const action = createTenantProvisionAction({ runs, links });
    const ctx = createMockActionContext({
      input: {
        ...input,
        releases: [{ name: 'web', chart: 'x', values: '- a\n- b\n' }],
      },
    });
    await expect(action.handler(ctx)).rejects.toThrow(
      /values of release web must be a mapping/,
    );
    expect(runs.created).toHaveLength(0);
  });
});

describe('kubechart:tenant:provision on a protected target', () => {
  const input = {
    cluster: 'kube-sim',
    tenant: 'prod-acme',
    entityRef: 'system:default/acme',
    quotaPreset: 'small' as const,
    releases: [
      { name: 'web', chart: 'kubechart-service', values: 'password: s3cret\n' },
    ],
  };

  function logged(ctx: ReturnType<typeof createMockActionContext>) {
    return (ctx.logger.info as jest.Mock).mock.calls.map(c => String(c[0]));
  }

  it('streams that it waits for approval and by whom, then each decision, and submits the input again once approved', async () => {
    const runs = new FakeKubechartRuns();
    runs.approval = {
      polls: 2,
      resubmit: true,
      decisions: [
        { by: 'user:default/bob', decision: 'approve', comment: 'CHG-7' },
      ],
    };
    const action = createTenantProvisionAction({
      runs,
      links,
      pollIntervalMs: 1,
      approvalPollIntervalMs: 1,
    });
    const ctx = createMockActionContext({
      input,
      checkpoint: checkpointStore() as any,
    });
    jest.spyOn(ctx.logger, 'info');
    await action.handler(ctx);
    const lines = logged(ctx);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^kubechart run run-1 is waiting for approval by group:default\/platform-team \(rule production; 0 of 1 approvals; expires .*\)\. Nothing is applied until then\.$/,
      ),
    );
    expect(lines).toContain('Approved by user:default/bob: CHG-7');
    // The same request (its secret values included) goes to the backend a second time, once.
    expect(runs.executed).toEqual([{ id: 'run-1', request: runs.created[0] }]);
    expect(ctx.output).toHaveBeenCalledWith('status', 'succeeded');
  });

  it('fails the task with the rejection and its comment; nothing is submitted again', async () => {
    const runs = new FakeKubechartRuns();
    runs.approval = {
      polls: 1,
      resubmit: true,
      decisions: [
        {
          by: 'user:default/bob',
          decision: 'reject',
          comment: 'freeze until Monday',
        },
      ],
    };
    const action = createTenantProvisionAction({
      runs,
      links,
      pollIntervalMs: 1,
      approvalPollIntervalMs: 1,
    });
    const ctx = createMockActionContext({
      input,
      checkpoint: checkpointStore() as any,
    });
    jest.spyOn(ctx.logger, 'info');
    await expect(action.handler(ctx)).rejects.toThrow(
      'kubechart run run-1 failed: Rejected by user:default/bob: freeze until Monday',
    );
    expect(logged(ctx)).toContain(
      'Rejected by user:default/bob: freeze until Monday',
    );
    expect(runs.executed).toEqual([]);
  });
});
