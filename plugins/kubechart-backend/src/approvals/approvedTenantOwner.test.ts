import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { CreateRunRequest, Run } from '@kubechart/plugin-kubechart-common';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider, RunEngine } from '../engine/RunEngine';
import { RunStore } from '../database/RunStore';
import { RunCaller } from '../engine/scope';
import { RequesterDirectory, catalogRequesters } from '../engine/caller';
import { Entity, RELATION_MEMBER_OF } from '@backstage/catalog-model';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ACME = 'group:default/acme-team';
const RIVAL = 'group:default/rival-team';
const PLATFORM = 'group:default/platform-team';

const alice: RunCaller = {
  ownershipRefs: [ALICE, ACME],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const bob: RunCaller = {
  ownershipRefs: [BOB, RIVAL],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const admin: RunCaller = {
  ownershipRefs: ['user:default/admin'],
  mayApplyClusterScoped: false,
  isTenantAdmin: true,
};
/** A platform-team approver: may approve any protected run. */
const carol: ApprovalDecider = {
  userEntityRef: 'user:default/carol',
  ownershipRefs: ['user:default/carol', PLATFORM],
  mayApprove: true,
};

const tenantRun = (
  tenant: string,
  owner: string,
  values: Record<string, unknown> = {},
): CreateRunRequest => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner,
  releases: [
    { name: 'web', chart: 'webapp', values: { replicas: 1, ...values } },
  ],
});
/**
 * A tenant run without releases: the approved plan of a run on the same tenant (its input, and the
 * revisions of its own releases) does not change when this one creates or moves the tenant.
 */
const bareTenantRun = (tenant: string, owner: string): CreateRunRequest => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner,
  releases: [],
});

describe.each(databases.eachSupportedId())(
  'an approved tenant run whose tenant changed hands while it waited, on %p',
  databaseId => {
    let sim: KubeSim;
    let core: CoreV1Api;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    /** The engine; `groups` are the users' groups in the catalog, which a test changes as one leaves. */
    async function setup(
      groups: Record<string, string[]> = { [ALICE]: [ACME], [BOB]: [RIVAL] },
      directory?: RequesterDirectory,
    ) {
      const requesters = testRequesters(groups);
      const t = await createTestEngine({
        databases,
        databaseId,
        sim,
        requesters: directory ?? requesters,
        config: testConfig(sim, {
          approvals: {
            rules: [
              {
                name: 'production',
                namespaces: ['tenant-prod-*'],
                approvers: ['owner', PLATFORM],
              },
            ],
          },
        }),
      });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      return { ...t, requesters };
    }

    const ended = async (store: RunStore, id: string): Promise<Run> => {
      for (let i = 0; i < 600; i++) {
        const run = (await store.getRun(id))!;
        if (run.status === 'succeeded' || run.status === 'failed') return run;
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not end`);
    };
    const namespaceOwner = async (name: string) =>
      (await core.readNamespace({ name })).metadata?.annotations?.[
        'kubechart.io/owner'
      ];
    const tenantOf = async (store: RunStore, code: string) =>
      (await store.getTenants(code)).find(t => t.cluster === 'dev');

    /** Approves a run and waits for it to end successfully. */
    const approvedAndDone = async (
      engine: RunEngine,
      store: RunStore,
      id: string,
    ) => {
      await engine.decide(id, carol, 'approve', 'ok');
      expect(await ended(store, id)).toMatchObject({ status: 'succeeded' });
      await engine.waitIdle();
    };
    /**
     * A tenants admin moves tenant `code` to `owner`, approved and done. Moving another owner's
     * tenant needs kubechart.tenants.admin, so the admin submits the approved run again.
     */
    const movedTo = async (
      engine: RunEngine,
      store: RunStore,
      code: string,
      owner: string,
    ) => {
      const request = bareTenantRun(code, owner);
      const { id } = await engine.submit(request, 'user:default/admin', admin);
      expect(await engine.decide(id, carol, 'approve', 'ok')).toMatchObject({
        status: 'approved',
        approval: expect.objectContaining({ resubmit: true }),
      });
      await engine.executeApproved(id, request, 'user:default/admin', admin);
      expect(await ended(store, id)).toMatchObject({ status: 'succeeded' });
      await engine.waitIdle();
    };

    it('ends the stale request as changed when another team created the tenant meanwhile, and their tenant stays theirs', async () => {
      const { engine, store } = await setup();
      const stale = await engine.submit(
        tenantRun('prod-x', ACME),
        ALICE,
        alice,
      );
      const theirs = await engine.submit(
        bareTenantRun('prod-x', RIVAL),
        BOB,
        bob,
      );
      expect([stale.status, theirs.status]).toEqual([
        'awaiting-approval',
        'awaiting-approval',
      ]);
      await approvedAndDone(engine, store, theirs.id);
      expect(await tenantOf(store, 'prod-x')).toMatchObject({
        owner: RIVAL,
        status: 'active',
      });

      const decided = await engine.decide(stale.id, carol, 'approve', 'ok');
      expect(decided).toMatchObject({
        status: 'failed',
        approval: expect.objectContaining({ state: 'changed' }),
      });
      await engine.waitIdle();
      const run = (await store.getRun(stale.id))!;
      expect(run.status).toBe('failed');
      expect(run.approval!.state).toBe('changed');
      // Rival-team's tenant is not alice's to learn of: its owner is not named to her.
      expect(run.failureReason).toBe(
        `Tenant prod-x on cluster dev changed after this run was requested: it did not exist then, and now exists, owned by another owner; nothing was applied. Submit the run again for a new approval.`,
      );
      expect(await tenantOf(store, 'prod-x')).toMatchObject({
        owner: RIVAL,
        status: 'active',
        lastRunId: theirs.id,
      });
      expect(await namespaceOwner('tenant-prod-x')).toBe(RIVAL);
      // The scheduled task does not start it either.
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
    });

    it('does not start a kept tenant run whose requester left the owning group while it waited: the approval ends as changed, nothing applied', async () => {
      const groups = { [ALICE]: [ACME] };
      const { engine, store } = await setup(groups);
      const first = await engine.submit(
        bareTenantRun('prod-left', ACME),
        ALICE,
        alice,
      );
      await approvedAndDone(engine, store, first.id);
      // A change of acme-team's tenant, and a new tenant for acme-team, both asked while alice was in it.
      const change = await engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'prod-left',
          owner: ACME,
          displayName: 'Left',
          releases: [],
        },
        ALICE,
        alice,
      );
      const create = await engine.submit(
        bareTenantRun('prod-gone', ACME),
        ALICE,
        alice,
      );
      expect([change.status, create.status]).toEqual([
        'awaiting-approval',
        'awaiting-approval',
      ]);
      // Alice leaves acme-team; her token of the request time still says she is in it.
      groups[ALICE] = [];
      const reasons = [];
      for (const id of [change.id, create.id]) {
        const decided = await engine.decide(id, carol, 'approve', 'ok');
        expect(decided).toMatchObject({
          status: 'failed',
          approval: expect.objectContaining({ state: 'changed' }),
        });
        reasons.push((await store.getRun(id))!.failureReason);
      }
      await engine.waitIdle();
      // What the requester may read now is not known when the approval starts the run: no owner is named.
      expect(reasons).toEqual([
        `${ALICE}, who requested this run, may no longer make it: tenant prod-left exists and is owned by someone you do not act for; nothing was applied. Submit the run again for a new approval.`,
        `${ALICE}, who requested this run, may no longer make it: You may not create tenant prod-gone owned by ${ACME}: a tenant's owner must be you or a group you belong to (${ALICE}); giving a tenant another owner needs the kubechart.tenants.admin permission; nothing was applied. Submit the run again for a new approval.`,
      ]);
      expect(await tenantOf(store, 'prod-left')).toMatchObject({
        owner: ACME,
        status: 'active',
        lastRunId: first.id,
      });
      expect(await tenantOf(store, 'prod-gone')).toBeUndefined();
      await expect(
        core.readNamespace({ name: 'tenant-prod-gone' }),
      ).rejects.toThrow();
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
    });

    it("does not start a kept chart run into a tenant's namespace once its requester left the tenant's owner", async () => {
      const groups = { [ALICE]: [ACME] };
      const { engine, store, clusters } = await setup(groups);
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-cl', ACME), ALICE, alice)
        ).id,
      );
      const install = await engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-prod-cl',
          release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
        },
        ALICE,
        alice,
      );
      expect(install.status).toBe('awaiting-approval');
      groups[ALICE] = [];
      expect(
        (await engine.decide(install.id, carol, 'approve', 'ok')).status,
      ).toBe('failed');
      await engine.waitIdle();
      const run = (await store.getRun(install.id))!;
      expect(run.approval!.state).toBe('changed');
      expect(run.failureReason).toBe(
        `${ALICE}, who requested this run, may no longer make it: Namespace tenant-prod-cl on cluster dev is not one you may deploy to; runs there need membership of its owner; nothing was applied. Submit the run again for a new approval.`,
      );
      const releases = await clusters
        .kubeConfig('dev')
        .makeApiClient(CoreV1Api)
        .listNamespacedSecret({
          namespace: 'tenant-prod-cl',
          labelSelector: 'owner=helm,name=web',
        });
      expect(releases.items).toEqual([]);
    });

    it('keeps an approved run waiting, unapplied, while what its requester owns cannot be read, and starts it once it can', async () => {
      const { engine, store, requesters } = await setup();
      const create = await engine.submit(
        bareTenantRun('prod-wait', ACME),
        ALICE,
        alice,
      );
      requesters.unreadable = true;
      const decided = await engine.decide(create.id, carol, 'approve', 'ok');
      expect(decided).toMatchObject({
        status: 'approved',
        approval: expect.objectContaining({ state: 'approved' }),
      });
      expect(await tenantOf(store, 'prod-wait')).toBeUndefined();
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
      requesters.unreadable = false;
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 1 });
      expect(await ended(store, create.id)).toMatchObject({
        status: 'succeeded',
      });
      await engine.waitIdle();
      expect(await tenantOf(store, 'prod-wait')).toMatchObject({ owner: ACME });
    });

    it('ends it as changed when the requester submits its approved input again (secret values)', async () => {
      const { engine, store } = await setup();
      const request = tenantRun('prod-y', ACME, {
        database: { password: 'stale-Secret-1' },
      });
      const stale = await engine.submit(request, ALICE, alice);
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-y', RIVAL), BOB, bob)
        ).id,
      );
      await engine.decide(stale.id, carol, 'approve', 'ok');
      expect((await store.getRun(stale.id))!.approval!.state).toBe('approved');
      await expect(
        engine.executeApproved(stale.id, request, ALICE, alice),
      ).rejects.toThrow(
        `Tenant prod-y on cluster dev changed after this run was requested: it did not exist then, and now exists, owned by another owner`,
      );
      const run = (await store.getRun(stale.id))!;
      expect(run.approval!.state).toBe('changed');
      expect(run.status).toBe('failed');
      expect(await tenantOf(store, 'prod-y')).toMatchObject({ owner: RIVAL });
      expect(await namespaceOwner('tenant-prod-y')).toBe(RIVAL);
    });

    it('ends a delete request as changed when the tenant moved to another owner meanwhile; the namespace stays', async () => {
      const { engine, store } = await setup();
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(tenantRun('prod-z', ACME), ALICE, alice)
        ).id,
      );
      const deletion = await engine.submit(
        { kind: 'tenant-delete', cluster: 'dev', tenant: 'prod-z' },
        ALICE,
        alice,
      );
      expect(deletion.status).toBe('awaiting-approval');
      // A tenants admin moves the tenant to rival-team.
      await movedTo(engine, store, 'prod-z', RIVAL);
      const decided = await engine.decide(deletion.id, carol, 'approve', 'ok');
      expect(decided.status).toBe('failed');
      const run = (await store.getRun(deletion.id))!;
      expect(run.approval!.state).toBe('changed');
      expect(run.failureReason).toBe(
        `Tenant prod-z on cluster dev changed after this run was requested: it was owned by ${ACME}, and is now owned by another owner; nothing was applied. Submit the run again for a new approval.`,
      );
      expect(await tenantOf(store, 'prod-z')).toMatchObject({
        owner: RIVAL,
        status: 'active',
      });
      expect(await namespaceOwner('tenant-prod-z')).toBe(RIVAL);
    });

    it("ends an approved chart run as changed when its tenant moved to another owner meanwhile; nothing is installed in the new owner's namespace", async () => {
      const { engine, store, clusters } = await setup();
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-c', ACME), ALICE, alice)
        ).id,
      );
      const install = await engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-prod-c',
          release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
        },
        ALICE,
        alice,
      );
      expect(install.status).toBe('awaiting-approval');
      // A tenants admin moves the tenant to rival-team while the install waits.
      await movedTo(engine, store, 'prod-c', RIVAL);
      const decided = await engine.decide(install.id, carol, 'approve', 'ok');
      expect(decided.status).toBe('failed');
      await engine.waitIdle();
      const run = (await store.getRun(install.id))!;
      expect(run.approval!.state).toBe('changed');
      expect(run.failureReason).toBe(
        `Tenant prod-c on cluster dev changed after this run was requested: it was owned by ${ACME}, and is now owned by another owner; nothing was applied. Submit the run again for a new approval.`,
      );
      expect(run.helmRevision).toBeUndefined();
      const releases = await clusters
        .kubeConfig('dev')
        .makeApiClient(CoreV1Api)
        .listNamespacedSecret({
          namespace: 'tenant-prod-c',
          labelSelector: 'owner=helm,name=web',
        });
      expect(releases.items).toEqual([]);
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
    });

    it('ends a resubmitted chart run (its values held secrets) as changed when its tenant moved to a group the requester is also in', async () => {
      const { engine, store } = await setup();
      // Alice is in both teams: a fresh request into the moved tenant would be hers to make, but
      // the approval was given by the old owner's approvers.
      const both: RunCaller = { ...alice, ownershipRefs: [ALICE, ACME, RIVAL] };
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-r', ACME), ALICE, alice)
        ).id,
      );
      const request: CreateRunRequest = {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-prod-r',
        release: {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, database: { password: 'Resubmit-Secret-1' } },
        },
      };
      const install = await engine.submit(request, ALICE, both);
      expect(install.status).toBe('awaiting-approval');
      await movedTo(engine, store, 'prod-r', RIVAL);
      await engine.decide(install.id, carol, 'approve', 'ok');
      expect((await store.getRun(install.id))!.approval).toMatchObject({
        state: 'approved',
        resubmit: true,
      });
      await expect(
        engine.executeApproved(install.id, request, ALICE, both),
      ).rejects.toThrow(
        `Tenant prod-r on cluster dev changed after this run was requested: it was owned by ${ACME}, and is now owned by ${RIVAL}`,
      );
      const run = (await store.getRun(install.id))!;
      expect([run.status, run.approval!.state, run.helmRevision]).toEqual([
        'failed',
        'changed',
        undefined,
      ]);
    });

    it("does not start a tenants admin's approved delete of another owner's tenant with the rights saved at request time: the requester submits it again and is checked then", async () => {
      const { engine, store } = await setup();
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-d', ACME), ALICE, alice)
        ).id,
      );
      const request: CreateRunRequest = {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'prod-d',
      };
      const deletion = await engine.submit(
        request,
        admin.ownershipRefs[0],
        admin,
      );
      expect(deletion.status).toBe('awaiting-approval');
      const decided = await engine.decide(deletion.id, carol, 'approve', 'ok');
      await engine.waitIdle();
      expect(decided).toMatchObject({
        status: 'approved',
        approval: expect.objectContaining({
          state: 'approved',
          resubmit: true,
        }),
      });
      // Nor does the scheduled task start it.
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
      expect(await tenantOf(store, 'prod-d')).toMatchObject({
        owner: ACME,
        status: 'active',
      });
      expect(await namespaceOwner('tenant-prod-d')).toBe(ACME);
      // The requester lost kubechart.tenants.admin meanwhile: refused, the tenant stays.
      await expect(
        engine.executeApproved(deletion.id, request, admin.ownershipRefs[0], {
          ...admin,
          isTenantAdmin: false,
        }),
      ).rejects.toThrow(
        'tenant prod-d exists and is owned by someone you do not act for',
      );
      expect(await tenantOf(store, 'prod-d')).toMatchObject({
        status: 'active',
      });
      expect((await store.getRun(deletion.id))!.approval!.state).toBe(
        'approved',
      );
      // Still a tenants admin when submitting it: it runs.
      await engine.executeApproved(
        deletion.id,
        request,
        admin.ownershipRefs[0],
        admin,
      );
      expect(await ended(store, deletion.id)).toMatchObject({
        status: 'succeeded',
      });
      await engine.waitIdle();
      expect((await tenantOf(store, 'prod-d'))?.status).toBe('deleted');
    });

    it('ends as changed, unapplied, an approval kept with kubechart.tenants.admin before such requests were no longer kept', async () => {
      const { engine, store, knex } = await setup();
      await approvedAndDone(
        engine,
        store,
        (
          await engine.submit(bareTenantRun('prod-l', ACME), ALICE, alice)
        ).id,
      );
      const request: CreateRunRequest = {
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'prod-l',
      };
      const deletion = await engine.submit(
        request,
        admin.ownershipRefs[0],
        admin,
      );
      // As a backend before this check kept it: the input, and the right saved with it.
      const row = await knex('kubechart_approvals')
        .where({ run_id: deletion.id })
        .first();
      const kept = JSON.parse(row.request);
      expect(kept.exec.tenantAdmin).toBe(true);
      await knex('kubechart_approvals')
        .where({ run_id: deletion.id })
        .update({ request: JSON.stringify({ ...kept, request }) });
      const decided = await engine.decide(deletion.id, carol, 'approve', 'ok');
      await engine.waitIdle();
      expect(decided.status).toBe('failed');
      const run = (await store.getRun(deletion.id))!;
      expect(run.approval!.state).toBe('changed');
      expect(run.failureReason).toBe(
        `Run ${deletion.id} was requested with kubechart.tenants.admin, which is checked again only when its requester submits it; nothing was applied. Submit the run again for a new approval.`,
      );
      expect(await tenantOf(store, 'prod-l')).toMatchObject({
        owner: ACME,
        status: 'active',
      });
      expect(await namespaceOwner('tenant-prod-l')).toBe(ACME);
    });

    it('ends kept runs as changed, unapplied, once their requester is no longer in the catalog', async () => {
      // The catalog as the plugin reads it: alice, member of acme-team, until she is removed.
      const users = new Map<string, Entity>([
        [
          ALICE,
          {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'User',
            metadata: { name: 'alice', namespace: 'default' },
            spec: {},
            relations: [{ type: RELATION_MEMBER_OF, targetRef: ACME }],
          },
        ],
      ]);
      const { engine, store } = await setup(
        undefined,
        catalogRequesters(
          { getEntityByRef: async ref => users.get(ref) },
          { getOwnServiceCredentials: async () => mockCredentials.service() },
        ),
      );
      for (const [code, owner] of [
        ['prod-own', ALICE],
        ['prod-grp', ACME],
      ]) {
        await approvedAndDone(
          engine,
          store,
          (
            await engine.submit(bareTenantRun(code, owner), ALICE, alice)
          ).id,
        );
      }
      const installs = [];
      for (const code of ['prod-own', 'prod-grp']) {
        const install = await engine.submit(
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: `tenant-${code}`,
            release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
          },
          ALICE,
          alice,
        );
        expect(install.status).toBe('awaiting-approval');
        installs.push(install);
      }
      users.delete(ALICE);
      for (const install of installs) {
        expect(
          (await engine.decide(install.id, carol, 'approve', 'ok')).status,
        ).toBe('failed');
        await engine.waitIdle();
        const run = (await store.getRun(install.id))!;
        expect({
          state: run.approval!.state,
          reason: run.failureReason,
        }).toEqual({
          state: 'changed',
          reason: `${ALICE}, who requested this run, may no longer make it: ${ALICE} has no User entity in the catalog (any more); nothing was applied. Submit the run again for a new approval.`,
        });
        const releases = await core.listNamespacedSecret({
          namespace: install.target.namespace!,
          labelSelector: 'owner=helm,name=web',
        });
        expect(releases.items).toEqual([]);
      }
    });

    it("starts a tenants admin's approved change of its own tenant on approval: it needed no right that could be lost", async () => {
      const { engine, store } = await setup();
      const own = await engine.submit(
        bareTenantRun('prod-own', admin.ownershipRefs[0]),
        admin.ownershipRefs[0],
        admin,
      );
      expect(own.status).toBe('awaiting-approval');
      await approvedAndDone(engine, store, own.id);
      expect((await store.getRun(own.id))!.approval).toMatchObject({
        state: 'executed',
        resubmit: false,
      });
    });
  },
);
