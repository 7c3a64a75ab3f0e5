import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { TenantRunInput } from '@kubechart/plugin-kubechart-common';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider, ApprovalNotifier } from '../engine/RunEngine';
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

/** A tenant run on a protected tenant; a `password` value makes its input one to submit again. */
const tenantRun = (
  tenant: string,
  values?: Record<string, unknown>,
): TenantRunInput => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner: PAYMENTS,
  releases: values ? [{ name: 'web', chart: 'webapp', values }] : [],
});

/**
 * The requester of a run awaiting approval (or approved and not started) takes it back: nothing of
 * it is applied afterwards, whoever approves it, and it no longer counts as one of her open requests.
 */
describe.each(databases.eachSupportedId())(
  'withdrawing an approval request on %p',
  databaseId => {
    let sim: KubeSim;
    let core: CoreV1Api;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    const sent: string[] = [];
    const notifier: ApprovalNotifier = {
      approvalRequested: async run => {
        sent.push(`requested ${run.id}`);
      },
      decisionTaken: async (run, d) => {
        sent.push(`${d.decision} ${run.id}`);
      },
      approvalWithdrawn: async run => {
        sent.push(`withdrawn ${run.id}: ${run.failureReason}`);
      },
    };
    const namespace = (name: string) =>
      core.readNamespace({ name }).then(
        () => 'exists',
        (e: any) => (e.code === 404 ? 'absent' : String(e)),
      );

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({
        databases,
        databaseId,
        sim,
        notifier,
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
        config: testConfig(sim, {
          limits: { openApprovalsPerUser: 1 },
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
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    });
    afterAll(async () => {
      await t?.engine.waitIdle();
      await sim?.stop();
    });

    it('ends a request awaiting approval as withdrawn by its requester; a later approval applies nothing, and her open request is freed', async () => {
      const run = await t.engine.submit(
        tenantRun('prod-wrong'),
        ALICE,
        paymentsMember,
      );
      expect(run.status).toBe('awaiting-approval');
      // One open request per user here: a second waits for the first to end.
      await expect(
        t.engine.submit(tenantRun('prod-other'), ALICE, paymentsMember),
      ).rejects.toThrow(/open/);

      const withdrawn = await t.engine.withdraw(run.id, ALICE, 'wrong values');
      expect(withdrawn).toMatchObject({
        status: 'failed',
        failureReason: `Withdrawn by ${ALICE}: wrong values; nothing was applied`,
        approval: { state: 'withdrawn' },
      });
      // The approvers' notice of the request is replaced by the withdrawal.
      expect(sent).toContain(
        `withdrawn ${run.id}: Withdrawn by ${ALICE}: wrong values; nothing was applied`,
      );

      // Bob, who had the request open, approves it: too late, nothing starts.
      await expect(
        t.engine.decide(run.id, bob, 'approve', 'looks fine'),
      ).rejects.toThrow(ConflictError);
      await t.engine.waitIdle();
      expect((await t.store.getRun(run.id))!).toMatchObject({
        status: 'failed',
        approval: { state: 'withdrawn', decisions: [] },
      });
      expect(await namespace('tenant-prod-wrong')).toBe('absent');

      // Her slot for open requests is free again; without a comment the reason says who withdrew.
      const next = await t.engine.submit(
        tenantRun('prod-other'),
        ALICE,
        paymentsMember,
      );
      expect(next.status).toBe('awaiting-approval');
      expect((await t.engine.withdraw(next.id, ALICE)).failureReason).toBe(
        `Withdrawn by ${ALICE}; nothing was applied`,
      );
    });

    it('lets only the requester withdraw (403 for an approver), and the request stays open', async () => {
      const run = await t.engine.submit(
        tenantRun('prod-mine'),
        ALICE,
        paymentsMember,
      );
      await expect(
        t.engine.withdraw(run.id, bob.userEntityRef, 'not needed'),
      ).rejects.toThrow(NotAllowedError);
      await expect(
        t.engine.withdraw(run.id, bob.userEntityRef),
      ).rejects.toThrow(`only ${ALICE}, who requested it, may withdraw it`);
      expect((await t.store.getRun(run.id))!).toMatchObject({
        status: 'awaiting-approval',
        approval: { state: 'awaiting' },
      });
      await t.engine.withdraw(run.id, ALICE);
    });

    it('withdraws an approved run that has not started; submitting its input afterwards starts nothing', async () => {
      // A secret value is not kept: the approved run waits for its requester to submit it again.
      const request = tenantRun('prod-secret', { password: 'hunter2-Secret' });
      const run = await t.engine.submit(request, ALICE, paymentsMember);
      const approved = await t.engine.decide(run.id, bob, 'approve', 'ok');
      expect(approved.status).toBe('approved');

      const withdrawn = await t.engine.withdraw(run.id, ALICE, 'changed plans');
      expect(withdrawn).toMatchObject({
        status: 'failed',
        approval: { state: 'withdrawn' },
        failureReason: `Withdrawn by ${ALICE}: changed plans; nothing was applied`,
      });
      await expect(
        t.engine.executeApproved(run.id, request, ALICE, paymentsMember),
      ).rejects.toThrow(ConflictError);
      await t.engine.waitIdle();
      expect((await t.store.getRun(run.id))!.status).toBe('failed');
      expect(await namespace('tenant-prod-secret')).toBe('absent');
    });

    it('refuses (409) to withdraw a run that started or was rejected, and changes nothing of it', async () => {
      const started = await t.engine.submit(
        tenantRun('prod-ran'),
        ALICE,
        paymentsMember,
      );
      await t.engine.decide(started.id, bob, 'approve', 'ok');
      await expect(
        t.engine.withdraw(started.id, ALICE, 'too late'),
      ).rejects.toThrow(ConflictError);
      await t.engine.waitFor(started.id);
      expect((await t.store.getRun(started.id))!).toMatchObject({
        status: 'succeeded',
        approval: { state: 'executed' },
      });

      const rejected = await t.engine.submit(
        tenantRun('prod-no'),
        ALICE,
        paymentsMember,
      );
      await t.engine.decide(rejected.id, bob, 'reject', 'no');
      await expect(t.engine.withdraw(rejected.id, ALICE)).rejects.toThrow(
        /not open for approval \(its approval is rejected\)/,
      );
      expect((await t.store.getRun(rejected.id))!).toMatchObject({
        status: 'failed',
        approval: { state: 'rejected' },
        failureReason: `Rejected by ${bob.userEntityRef}: no`,
      });
    });
  },
);
