import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { TenantRunInput } from '@kubechart/plugin-kubechart-common';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider, RunEngine } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';
import { KubechartMetrics } from './metrics';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', PAYMENTS],
  mayApprove: true,
};
const paymentsMember: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

const tenantRun = (
  tenant: string,
  values?: Record<string, unknown>,
): TenantRunInput => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner: PAYMENTS,
  releases: values
    ? [{ name: 'web', chart: 'webapp', values: { replicas: 1, ...values } }]
    : [],
});

/** Sleeps until `ms` after an ISO time. */
const pastBy = (iso: string, ms: number) =>
  new Promise(res =>
    setTimeout(res, Math.max(0, Date.parse(iso) - Date.now()) + ms),
  );

/**
 * The engine's metrics through a metrics service that records what `kubechart.run.count` was told:
 * one `runId:kind:status` per count (the run told of by `runFinished`, as an exporter never sees it).
 */
function countedRuns(engine: RunEngine): string[] {
  const counted: string[] = [];
  let current: { id: string } | undefined;
  const service = {
    createCounter: (name: string) => ({
      add: (n: number, attributes: { kind: string; status: string }) => {
        if (name !== 'kubechart.run.count') return;
        for (let i = 0; i < n; i++)
          counted.push(
            `${current?.id}:${attributes.kind}:${attributes.status}`,
          );
      },
    }),
    createHistogram: () => ({ record: () => {} }),
    createObservableGauge: () => ({ addCallback: () => {} }),
  } as unknown as MetricsService;
  const metrics = new KubechartMetrics(service);
  const runFinished = metrics.runFinished.bind(metrics);
  metrics.runFinished = run => {
    current = run;
    runFinished(run);
    current = undefined;
  };
  // The backend gives the engine its metrics as it creates it (plugin.ts); the test engine has none.
  (engine as any).options.metrics = metrics;
  return counted;
}

describe('kubechart.run.count', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('counts, once each, runs whose approval was rejected, withdrawn or found changed, as the database summary does', async () => {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      config: testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['owner'],
            },
          ],
        },
      }),
    });
    const counted = countedRuns(t.engine);
    const submit = (input: TenantRunInput) =>
      t.engine.submit(input, ALICE, paymentsMember);

    const rejected = await submit(tenantRun('prod-one'));
    expect(rejected.status).toBe('awaiting-approval');
    await t.engine.decide(rejected.id, bob, 'reject', 'not today');

    const withdrawn = await submit(tenantRun('prod-two'));
    await t.engine.withdraw(withdrawn.id, ALICE, 'wrong');

    // Approved, then submitted again with another secret value: another plan, ended as changed.
    const secret = tenantRun('prod-three', {
      database: { password: 'approved-Pa55' },
    });
    const changed = await submit(secret);
    expect(
      (await t.engine.decide(changed.id, bob, 'approve', 'ok')).status,
    ).toBe('approved');
    await expect(
      t.engine.executeApproved(
        changed.id,
        tenantRun('prod-three', { database: { password: 'other-Pa55' } }),
        ALICE,
        paymentsMember,
      ),
    ).rejects.toThrow(ConflictError);

    // Approved and executed: counted where its end is recorded, and only there.
    const executed = await submit(tenantRun('prod-four'));
    await t.engine.decide(executed.id, bob, 'approve', 'ok');
    await t.engine.waitIdle();

    const summary = await t.store.summary();
    expect(summary.runsByStatus).toEqual({ failed: 3, succeeded: 1 });
    expect(counted.sort()).toEqual(
      [
        `${rejected.id}:tenant:failed`,
        `${withdrawn.id}:tenant:failed`,
        `${changed.id}:tenant:failed`,
        `${executed.id}:tenant:succeeded`,
      ].sort(),
    );
  });

  it('counts, once each, runs whose approval expired, ended by the scheduled task or by a late decision', async () => {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      config: testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['owner'],
              expiresAfter: { seconds: 1 },
            },
          ],
        },
      }),
    });
    const counted = countedRuns(t.engine);
    const byTask = await t.engine.submit(
      tenantRun('prod-late-one'),
      ALICE,
      paymentsMember,
    );
    const byDecision = await t.engine.submit(
      tenantRun('prod-late-two'),
      ALICE,
      paymentsMember,
    );
    await pastBy(
      (await t.store.getRun(byDecision.id))!.approval!.expiresAt,
      1500,
    );

    await expect(
      t.engine.decide(byDecision.id, bob, 'approve', 'ok'),
    ).rejects.toThrow(ConflictError);
    expect(await t.engine.tendApprovals()).toEqual({ expired: 1, started: 0 });
    // Nothing left to end: nothing counted twice.
    expect(await t.engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
    await t.engine.waitIdle();

    expect((await t.store.summary()).runsByStatus).toEqual({ failed: 2 });
    expect(counted.sort()).toEqual(
      [`${byTask.id}:tenant:failed`, `${byDecision.id}:tenant:failed`].sort(),
    );
  });
});
