import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { TenantRunInput } from '@kubechart/plugin-kubechart-common';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { ApprovalDecider } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

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
  values: Record<string, unknown> = {},
): TenantRunInput => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner: PAYMENTS,
  releases: [
    { name: 'web', chart: 'webapp', values: { replicas: 1, ...values } },
  ],
});

/** Sleeps until `ms` after an ISO time. */
const pastBy = (iso: string, ms: number) =>
  new Promise(res =>
    setTimeout(res, Math.max(0, Date.parse(iso) - Date.now()) + ms),
  );

// Expiry is enforced where a decision is taken and where an approved run starts, not only by the
// scheduled task (`approvals.checkSeconds`, default 60 s), which these tests never run before acting.
describe.each(databases.eachSupportedId())(
  'approvals past their expiry on %p',
  databaseId => {
    let sim: KubeSim;
    let core: CoreV1Api;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    async function setup(expiresAfter: { seconds: number }) {
      const t = await createTestEngine({
        databases,
        databaseId,
        sim,
        config: testConfig(sim, {
          approvals: {
            rules: [
              {
                name: 'production',
                namespaces: ['tenant-prod-*'],
                approvers: ['owner'],
                expiresAfter,
              },
            ],
          },
        }),
      });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      return t;
    }
    const namespaceExists = (name: string) =>
      core.readNamespace({ name }).then(
        () => true,
        () => false,
      );

    it('refuses to approve a request after it expired, ends it as expired and applies nothing', async () => {
      const { engine, store } = await setup({ seconds: 1 });
      const run = await engine.submit(
        tenantRun('prod-late'),
        ALICE,
        paymentsMember,
      );
      const { expiresAt } = (await store.getRun(run.id))!.approval!;
      await pastBy(expiresAt, 1500);

      // The approvals page shows it cannot be decided, and why.
      const waiting = (await store.getRun(run.id))!;
      expect(await engine.mayDecide(waiting, bob)).toEqual({
        mayDecide: false,
        reason: `the approval expired at ${expiresAt}`,
      });
      // Someone who is not its approver learns nothing of it and changes nothing (the scheduled
      // task, or an approver, ends it).
      const mallory: ApprovalDecider = {
        userEntityRef: 'user:default/mallory',
        ownershipRefs: ['user:default/mallory'],
        mayApprove: true,
      };
      await expect(
        engine.decide(run.id, mallory, 'approve', 'ok'),
      ).rejects.toThrow(
        `You may not decide on run ${run.id}: only ${PAYMENTS} may approve this run`,
      );
      expect((await store.getRun(run.id))!.approval!.state).toBe('awaiting');
      const decided = engine.decide(run.id, bob, 'approve', 'ok');
      await expect(decided).rejects.toThrow(ConflictError);
      await expect(decided).rejects.toThrow(`expired at ${expiresAt}`);
      await engine.waitIdle();
      const ended = (await store.getRun(run.id))!;
      expect({
        status: ended.status,
        state: ended.approval!.state,
        decisions: ended.approval!.decisions,
        reason: ended.failureReason,
      }).toEqual({
        status: 'failed',
        state: 'expired',
        decisions: [],
        reason: `The approval request expired at ${expiresAt} with 0 of 1 approvals; nothing was applied`,
      });
      expect(await namespaceExists('tenant-prod-late')).toBe(false);
      // Nothing is left for the scheduled task to end.
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
    });

    it('refuses to start an approved run whose input is submitted after the approval expired', async () => {
      const { engine, store } = await setup({ seconds: 2 });
      const secretRun = tenantRun('prod-slow', {
        database: { password: 'expiring-Pa55' },
      });
      const run = await engine.submit(secretRun, ALICE, paymentsMember);
      const approved = await engine.decide(run.id, bob, 'approve', 'ok');
      expect(approved.status).toBe('approved');
      const { expiresAt } = approved.approval!;
      await pastBy(expiresAt, 1500);

      const executed = engine.executeApproved(
        run.id,
        secretRun,
        ALICE,
        paymentsMember,
      );
      await expect(executed).rejects.toThrow(ConflictError);
      await expect(executed).rejects.toThrow(`expired at ${expiresAt}`);
      await engine.waitIdle();
      const ended = (await store.getRun(run.id))!;
      expect({
        status: ended.status,
        state: ended.approval!.state,
        reason: ended.failureReason,
      }).toEqual({
        status: 'failed',
        state: 'expired',
        reason: expect.stringMatching(
          new RegExp(
            `^The approval expired at ${expiresAt.replace(
              /\./g,
              '\\.',
            )} .*; nothing was applied$`,
          ),
        ),
      });
      expect(await namespaceExists('tenant-prod-slow')).toBe(false);
    });
  },
);
