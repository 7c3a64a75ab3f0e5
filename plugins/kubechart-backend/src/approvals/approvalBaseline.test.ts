import { TestDatabases } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api } from '@kubernetes/client-node';
import {
  CreateRunRequest,
  KUBECHART_TENANT_ANNOTATION,
  Run,
} from '@kubechart/plugin-kubechart-common';
import { randomUUID } from 'node:crypto';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider, RunEngine } from '../engine/RunEngine';
import { RunStore } from '../database/RunStore';
import { RunCaller } from '../engine/scope';
import { runDiff } from '../service/runDiff';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const PAY_WEB = 'component:default/pay-web';
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', PAYMENTS],
  mayApprove: true,
};

/** The catalog entity of the web release of tenant prod-pay, owned by payments. */
const payWeb: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'pay-web',
    namespace: 'default',
    annotations: { [KUBECHART_TENANT_ANNOTATION]: 'prod-pay' },
  },
  spec: { owner: PAYMENTS, type: 'service', lifecycle: 'production' },
};

/** Alice as a member of payments, who own the tenants and pay-web. */
const alice: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
  readEntity: async ref => (ref === PAY_WEB ? payWeb : undefined),
};

/** A chart run on release web of a tenant's namespace, for `entityRef` when given. */
const webRun = (
  tenant: string,
  replicas: number,
  entityRef?: string,
): CreateRunRequest => ({
  kind: 'chart',
  cluster: 'dev',
  namespace: `tenant-${tenant}`,
  ...(entityRef ? { entityRef } : {}),
  release: { name: 'web', chart: 'webapp', values: { replicas } },
});

async function ended(store: RunStore, id: string): Promise<Run> {
  for (let i = 0; i < 600; i++) {
    const r = await store.getRun(id);
    if (r && (r.status === 'succeeded' || r.status === 'failed')) return r;
    await new Promise(res => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not end`);
}

/** Requests `request` as alice, has bob approve it and waits for it to succeed. */
async function approved(
  engine: RunEngine,
  store: RunStore,
  request: CreateRunRequest,
): Promise<Run> {
  const run = await engine.submit(request, ALICE, alice);
  expect(run.status).toBe('awaiting-approval');
  await engine.decide(run.id, bob, 'approve', 'ok');
  const done = await ended(store, run.id);
  await engine.waitIdle();
  expect({ status: done.status, reason: done.failureReason }).toEqual({
    status: 'succeeded',
    reason: undefined,
  });
  return done;
}

/** The changed lines of a unified diff (no file headers). */
const changedLines = (patch: string) =>
  patch.split('\n').filter(l => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));

describe.each(databases.eachSupportedId())(
  'the previous run approvers review a run against, on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    async function setup() {
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
              },
            ],
          },
        }),
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }, [payWeb]),
      });
      const apps = t.clusters.kubeConfig('dev').makeApiClient(AppsV1Api);
      const replicasOf = async (namespace: string) =>
        (await apps.readNamespacedDeployment({ namespace, name: 'web' })).spec
          ?.replicas;
      return { ...t, replicasOf };
    }

    /** The request as the approvers see it: its previous run and the values diff from that run. */
    async function review(store: RunStore, id: string) {
      const run = (await store.getRun(id))!;
      const previousRunId = run.approval!.previousRunId;
      if (!previousRunId) return { previousRunId };
      // GET /runs/:previous/diff/:id, as the approval panel asks for it.
      const diff = await runDiff((await store.getRun(previousRunId))!, run);
      return {
        previousRunId,
        values: changedLines(diff.values),
        manifest: changedLines(diff.manifest),
      };
    }

    it("is the target's last run whatever entity it named, not the last run of the entity the request names", async () => {
      const { engine, store, replicasOf } = await setup();
      await approved(engine, store, {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-pay',
        owner: PAYMENTS,
        releases: [],
      });
      // P, for pay-web, sets 1 replica; L, for no entity, sets 3 later.
      await approved(engine, store, webRun('prod-pay', 1, PAY_WEB));
      const last = await approved(engine, store, webRun('prod-pay', 3));
      expect(await replicasOf('tenant-prod-pay')).toBe(3);

      // A request for pay-web that sets 1 replica is reviewed against L: the change from 3 to 1 shows.
      const request = await engine.submit(
        webRun('prod-pay', 1, PAY_WEB),
        ALICE,
        alice,
      );
      expect(request.status).toBe('awaiting-approval');
      expect(await review(store, request.id)).toEqual({
        previousRunId: last.id,
        values: ['-replicas: 3', '+replicas: 1'],
        manifest: expect.arrayContaining(['-  replicas: 3', '+  replicas: 1']),
      });

      // A manifests run in the tenant's namespace is not reviewed against the tenant run (whose
      // manifest is the whole tenant's): there was no manifests run there before.
      const manifests = await engine.submit(
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-prod-pay',
          manifests: [
            'apiVersion: v1',
            'kind: ConfigMap',
            'metadata: { name: settings }',
            'data: { color: blue }',
          ].join('\n'),
        },
        ALICE,
        alice,
      );
      expect(manifests.status).toBe('awaiting-approval');
      expect(await review(store, manifests.id)).toEqual({
        previousRunId: undefined,
      });
    });

    it('shows the approvers only what changes in the manifest, with the labels the run applies', async () => {
      const { engine, store } = await setup();
      await approved(engine, store, {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-pay',
        owner: PAYMENTS,
        releases: [],
      });
      await approved(engine, store, webRun('prod-pay', 3));
      const request = await engine.submit(webRun('prod-pay', 1), ALICE, alice);
      expect(request.status).toBe('awaiting-approval');
      // The stored preview is what the run records once applied (helm's own rendering had no
      // tenant labels and another layout: the diff showed ~30 lines around the one change).
      expect((await review(store, request.id)).manifest).toEqual([
        '-  replicas: 3',
        '+  replicas: 1',
      ]);
      expect((await store.getRun(request.id))!.manifest).toContain(
        'kubechart.io/tenant: prod-pay',
      );
    });

    it("is the target's last run however many runs were made on the cluster since", async () => {
      const { engine, store, replicasOf } = await setup();
      await approved(engine, store, {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-busy',
        owner: PAYMENTS,
        releases: [],
      });
      const last = await approved(engine, store, webRun('prod-busy', 2));
      expect(await replicasOf('tenant-prod-busy')).toBe(2);
      // 60 runs elsewhere on the cluster since, newer than the target's last run.
      for (let i = 0; i < 60; i++) {
        const other = await store.createRun(
          {
            id: randomUUID(),
            kind: 'chart',
            status: 'pending',
            actor: 'user:default/carol',
            target: {
              cluster: 'dev',
              namespace: `team-${i}`,
              release: 'api',
            },
            input: {},
          },
          [],
        );
        await store.finishRun(other.id, 'succeeded');
      }

      const request = await engine.submit(webRun('prod-busy', 4), ALICE, alice);
      expect(request.status).toBe('awaiting-approval');
      expect(await review(store, request.id)).toEqual({
        previousRunId: last.id,
        values: ['-replicas: 2', '+replicas: 4'],
        manifest: expect.arrayContaining(['-  replicas: 2', '+  replicas: 4']),
      });
    });
  },
);
