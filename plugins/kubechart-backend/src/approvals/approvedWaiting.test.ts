import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { TenantRunInput } from '@kubechart/plugin-kubechart-common';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';
import { RunStore } from '../database/RunStore';
import { actorSlotKeys, namespaceLockKey } from '../database/lockKeys';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const BUSY = 'user:default/busy';
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

const tenantRun = (tenant: string): TenantRunInput => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner: PAYMENTS,
  releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
});

/** A run of `actor` that holds one of its slots (and a namespace nobody else uses) until finished. */
const holdSlot = (store: RunStore, id: string, actor: string) =>
  store.createRun(
    {
      id,
      kind: 'manifests',
      status: 'pending',
      actor,
      target: { cluster: 'dev', namespace: `held-${id}` },
      input: {},
    },
    [namespaceLockKey('dev', `held-${id}`)],
    { actorSlots: { actor, keys: actorSlotKeys(actor, 1) } },
  );

// The scheduled approval task starts approved runs whose requester had no free slot (or whose
// target was locked) when they were approved: it renders a run's plan again only when it may
// start now, and reaches every waiting run, the oldest first.
describe.each(databases.eachSupportedId())(
  'approved runs waiting to start on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());
    afterEach(() => jest.restoreAllMocks());

    async function setup() {
      return createTestEngine({
        databases,
        databaseId,
        sim,
        // The catalog has alice in payments, as her sign-in token says.
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
          limits: {
            runsPerUserPerMinute: 100,
            runsPerUserAtOnce: 1,
            maxTenants: 20,
          },
        }),
      });
    }

    it('renders nothing for an approved run while its requester has no free slot, and starts it on the first round after one frees', async () => {
      const { engine, store } = await setup();
      await holdSlot(store, 'alice-busy', ALICE);
      const run = await engine.submit(
        tenantRun('prod-wait'),
        ALICE,
        paymentsMember,
      );
      const decided = await engine.decide(run.id, bob, 'approve', 'ok');
      expect(decided.status).toBe('approved');

      const renders = jest.spyOn(HelmCli.prototype, 'template');
      for (let round = 0; round < 3; round++)
        expect(await engine.tendApprovals()).toEqual({
          expired: 0,
          started: 0,
        });
      expect(renders).not.toHaveBeenCalled();
      expect((await store.getRun(run.id))!.approval!.state).toBe('approved');

      await store.finishRun('alice-busy', 'succeeded');
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 1 });
      expect(renders).toHaveBeenCalled();
      await engine.waitFor(run.id);
      expect((await store.getRun(run.id))!.status).toBe('succeeded');
    });

    it('renders nothing for an approved run while its namespace is locked by another run', async () => {
      const { engine, store } = await setup();
      const run = await engine.submit(
        tenantRun('prod-locked'),
        ALICE,
        paymentsMember,
      );
      await store.createRun(
        {
          id: 'ns-holder',
          kind: 'manifests',
          status: 'pending',
          actor: 'user:default/mallory',
          target: { cluster: 'dev', namespace: 'tenant-prod-locked' },
          input: {},
        },
        [namespaceLockKey('dev', 'tenant-prod-locked')],
      );
      expect((await engine.decide(run.id, bob, 'approve', 'ok')).status).toBe(
        'approved',
      );
      const renders = jest.spyOn(HelmCli.prototype, 'template');
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
      expect(renders).not.toHaveBeenCalled();
      await store.finishRun('ns-holder', 'succeeded');
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 1 });
      await engine.waitFor(run.id);
      expect((await store.getRun(run.id))!.status).toBe('succeeded');
    });

    it('starts the oldest approved run although more newer ones than a page wait for their requesters’ slots', async () => {
      const { engine, store } = await setup();
      await holdSlot(store, 'alice-busy', ALICE);
      const oldest = await engine.submit(
        tenantRun('prod-old'),
        ALICE,
        paymentsMember,
      );
      await engine.decide(oldest.id, bob, 'approve', 'ok');
      expect((await store.getRun(oldest.id))!.status).toBe('approved');
      await new Promise(r => setTimeout(r, 5));

      // 120 newer approved runs of another requester, whose only slot is held.
      await holdSlot(store, 'busy-holder', BUSY);
      for (let i = 0; i < 120; i++) {
        const newer = await store.createAwaitingRun(
          {
            id: `newer-${String(i).padStart(3, '0')}`,
            kind: 'tenant',
            status: 'awaiting-approval',
            actor: BUSY,
            target: { cluster: 'dev', namespace: `tenant-prod-n${i}` },
            tenant: `prod-n${i}`,
            input: {},
          },
          {
            rule: 'production',
            required: 1,
            approvers: [PAYMENTS],
            planHash: 'sha256:unused',
            planSalt: 'salt',
            expiresAt: new Date(Date.now() + 3_600_000),
            request: tenantRun(`prod-n${i}`),
            exec: {},
          },
          {},
        );
        await store.decideApproval(newer.id, {
          by: bob.userEntityRef,
          decision: 'approve',
          comment: 'ok',
        });
      }

      await store.finishRun('alice-busy', 'succeeded');
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 1 });
      await engine.waitFor(oldest.id);
      expect((await store.getRun(oldest.id))!.status).toBe('succeeded');
      // The newer ones still wait for their requester's slot.
      expect((await store.getRun('newer-119'))!.approval!.state).toBe(
        'approved',
      );
    });
  },
);
