import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { deployerUser } from './deployer';
import { readEngineSettings } from './settings';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';

/*
 * A tenant provisioned before deployers moved to `kubechart.tenant.deployer.namespace` has its deployer
 * in its own namespace: the ServiceAccount `kubechart-deployer` there, bound by the RoleBinding
 * `kubechart-deployer`. Every kind of run into it ensures the new deployer before helm or an apply runs,
 * and removes the old one, recording both among the run's changes.
 */
describe('runs into a tenant whose deployer is still in its namespace', () => {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  let core: CoreV1Api;
  let rbac: RbacAuthorizationV1Api;
  const ns = 'tenant-legacy';
  const legacyUser = `system:serviceaccount:${ns}:kubechart-deployer`;
  const status = (p: Promise<unknown>) =>
    p.then(
      () => 'allowed',
      e => (e as { code?: number }).code,
    );
  /** Whether `user` may read the namespace's default-deny NetworkPolicy (the deployer's rights). */
  const mayRead = (user: string) =>
    status(
      t.clusters
        .kubeConfig('dev', { impersonate: user })
        .makeApiClient(NetworkingV1Api)
        .readNamespacedNetworkPolicy({
          name: 'kubechart-default-deny',
          namespace: ns,
        }),
    );
  const run = async (request: any) => {
    const submitted = await t.engine.submit(request, ALICE);
    await t.engine.waitFor(submitted.id);
    const done = (await t.store.getRun(submitted.id))!;
    return {
      status: done.status,
      reason: done.failureReason,
      applied: done.applied ?? [],
    };
  };

  const newUser = () => deployerUser(ns, readEngineSettings(t.config));

  /** The cluster as an earlier version left the tenant: its deployer in the tenant namespace. */
  const asBefore = async () => {
    await core
      .deleteNamespacedServiceAccount({
        name: `kubechart-deployer-${ns}`,
        namespace: 'kubechart-deployers',
      })
      .catch(e => {
        if ((e as { code?: number }).code !== 404) throw e;
      });
    await core
      .createNamespacedServiceAccount({
        namespace: ns,
        body: {
          metadata: {
            name: 'kubechart-deployer',
            labels: {
              'kubechart.io/tenant': 'legacy',
              'app.kubernetes.io/managed-by': 'kubechart',
            },
          },
        },
      })
      .catch(e => {
        // Left so by a test that ran nothing.
        if ((e as { code?: number }).code !== 409) throw e;
      });
    const binding = await rbac.readNamespacedRoleBinding({
      name: 'kubechart-deployer',
      namespace: ns,
    });
    binding.subjects = [
      { kind: 'ServiceAccount', name: 'kubechart-deployer', namespace: ns },
    ];
    await rbac.replaceNamespacedRoleBinding({
      name: 'kubechart-deployer',
      namespace: ns,
      body: binding,
    });
    expect(await mayRead(legacyUser)).toBe('allowed');
    expect(await mayRead(newUser())).toBe(403);
  };

  /** The deployer as the run left it: the new one bound, the old one gone. */
  const moved = async () => ({
    legacyServiceAccount: await status(
      core.readNamespacedServiceAccount({
        name: 'kubechart-deployer',
        namespace: ns,
      }),
    ),
    subjects: (
      await rbac.readNamespacedRoleBinding({
        name: 'kubechart-deployer',
        namespace: ns,
      })
    ).subjects,
    legacyUser: await mayRead(legacyUser),
    newUser: await mayRead(newUser()),
  });
  const movedState = {
    legacyServiceAccount: 404,
    subjects: [
      {
        kind: 'ServiceAccount',
        name: `kubechart-deployer-${ns}`,
        namespace: 'kubechart-deployers',
      },
    ],
    legacyUser: 403,
    newUser: 'allowed',
  };
  /** The changes a run records when it moves the deployer. */
  const movedChanges = [
    `created ServiceAccount/kubechart-deployer-${ns} in kubechart-deployers`,
    `updated RoleBinding/kubechart-deployer in ${ns}`,
    `deleted ServiceAccount/kubechart-deployer in ${ns}`,
  ];

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({ databases, databaseId: 'SQLITE_3', sim });
    core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    rbac = t.clusters.kubeConfig('dev').makeApiClient(RbacAuthorizationV1Api);
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'legacy',
      releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.reason}`);
  });
  afterAll(() => sim?.stop());

  it('provisions the deployer in kubechart-deployers, bound in the tenant namespace only', async () => {
    const sa = await core.readNamespacedServiceAccount({
      name: `kubechart-deployer-${ns}`,
      namespace: 'kubechart-deployers',
    });
    expect(sa.automountServiceAccountToken).toBe(false);
    const deployers = await core.readNamespace({ name: 'kubechart-deployers' });
    expect(deployers.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kubechart',
    });
    expect(await moved()).toEqual(movedState);
  });

  it('makes an approval plan while the old deployer is still bound, reading the releases as it, and changes nothing', async () => {
    await asBefore();
    const gated = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      knex: t.knex,
      config: testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'prod',
              namespaces: [ns],
              approvers: ['group:default/sre'],
            },
          ],
        },
      }),
    });

    const submitted = await gated.engine.submit(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release: { name: 'web', chart: 'webapp', values: { replicas: 2 } },
      },
      ALICE,
    );

    expect(submitted.status).toBe('awaiting-approval');
    await gated.engine.decide(
      submitted.id,
      {
        userEntityRef: 'user:default/sam',
        ownershipRefs: ['user:default/sam', 'group:default/sre'],
        mayApprove: true,
      },
      'reject',
      'not now',
    );
    expect(await mayRead(legacyUser)).toBe('allowed');
    expect(await mayRead(newUser())).toBe(403);
  });

  it.each([
    [
      'chart',
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release: { name: 'web', chart: 'webapp', values: { replicas: 2 } },
      },
    ],
    [
      'rollback',
      {
        kind: 'rollback',
        cluster: 'dev',
        namespace: ns,
        release: 'web',
        revision: 1,
      },
    ],
    [
      'manifests',
      {
        kind: 'manifests',
        cluster: 'dev',
        namespace: ns,
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }',
      },
    ],
    [
      'tenant run pruning a release',
      {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'legacy',
        releases: [],
        pruneReleases: true,
      },
    ],
  ])(
    'a %s moves the deployer before it deploys, and records it',
    async (_what, request) => {
      await asBefore();

      const done = await run(request);

      expect({ status: done.status, reason: done.reason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(done.applied).toEqual(expect.arrayContaining(movedChanges));
      expect(await moved()).toEqual(movedState);
    },
  );

  it("refuses at submit a run into the deployers' namespace, and creates nothing", async () => {
    await expect(
      t.engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'kubechart-deployers',
          release: { name: 'api', chart: 'webapp', values: { replicas: 1 } },
        } as any,
        ALICE,
      ),
    ).rejects.toMatchObject({
      name: 'InputError',
      message: expect.stringContaining(
        "kubechart-deployers holds KubeChart's deployers",
      ),
    });
    expect(
      (await t.store.listRuns({}, { limit: 1000 })).items.map(
        r => r.target.namespace,
      ),
    ).not.toContain('kubechart-deployers');
  });

  it("refuses a run while the deployers' namespace carries a tenant's label, and changes nothing", async () => {
    const deployers = await core.readNamespace({ name: 'kubechart-deployers' });
    await core.replaceNamespace({
      name: 'kubechart-deployers',
      body: {
        ...deployers,
        metadata: {
          ...deployers.metadata,
          labels: {
            ...deployers.metadata?.labels,
            'kubechart.io/tenant': 'legacy',
          },
        },
      },
    });
    try {
      const done = await run({
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
      });
      expect({ status: done.status, applied: done.applied }).toEqual({
        status: 'failed',
        applied: [],
      });
      expect(done.reason).toContain(
        "Namespace kubechart-deployers holds KubeChart's deployers but carries the tenant label or owner annotation of a namespace",
      );
    } finally {
      const labelled = await core.readNamespace({
        name: 'kubechart-deployers',
      });
      delete labelled.metadata!.labels!['kubechart.io/tenant'];
      await core.replaceNamespace({
        name: 'kubechart-deployers',
        body: labelled,
      });
    }
  });

  it('replaces a RoleBinding whose roleRef names the same role of another kind, recording it', async () => {
    const binding = await rbac.readNamespacedRoleBinding({
      name: 'kubechart-deployer',
      namespace: ns,
    });
    await rbac.deleteNamespacedRoleBinding({
      name: 'kubechart-deployer',
      namespace: ns,
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: {
          name: 'kubechart-deployer',
          labels: binding.metadata?.labels,
        },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: 'admin',
        },
        subjects: binding.subjects,
      },
    });

    const done = await run({
      kind: 'chart',
      cluster: 'dev',
      namespace: ns,
      release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
    });

    expect({ status: done.status, reason: done.reason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(done.applied).toEqual(
      expect.arrayContaining([
        `deleted RoleBinding/kubechart-deployer in ${ns}`,
        `created RoleBinding/kubechart-deployer in ${ns}`,
      ]),
    );
    expect(
      (
        await rbac.readNamespacedRoleBinding({
          name: 'kubechart-deployer',
          namespace: ns,
        })
      ).roleRef,
    ).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'admin',
    });
  });

  it('reconciles a stale run in a namespace whose deployer has not moved yet, reading as the old deployer', async () => {
    const request = {
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ns,
      release: { name: 'web', chart: 'webapp', values: { replicas: 2 } },
    };
    // A run row left `running` by a backend that died after helm installed its revision.
    const id = 'b0000000-0000-4000-8000-00000000d001';
    await t.store.createRun(
      {
        id,
        kind: 'chart',
        status: 'running',
        actor: ALICE,
        target: { cluster: 'dev', namespace: ns, release: 'web' },
        input: request,
      } as any,
      [],
    );
    expect((await run(request)).status).toBe('succeeded');
    await asBefore();
    await t
      .knex('kubechart_runs')
      .where({ id })
      .update({ heartbeat_at: Date.now() - 10 * 60_000 });

    expect(await t.engine.recoverStaleRuns()).toBe(1);

    const done = (await t.store.getRun(id))!;
    expect({ status: done.status, reason: done.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
  });

  it("a tenant delete moves the deployer to uninstall, then deletes the deployer's ServiceAccount", async () => {
    await asBefore();
    const installed = await run({
      kind: 'chart',
      cluster: 'dev',
      namespace: ns,
      release: { name: 'api', chart: 'webapp', values: { replicas: 1 } },
    });
    expect(installed.status).toBe('succeeded');
    await asBefore();

    const done = await run({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'legacy',
    });

    expect({ status: done.status, reason: done.reason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(done.applied).toEqual(
      expect.arrayContaining([
        ...movedChanges,
        `uninstalled release api in ${ns}`,
        `deleted ServiceAccount/kubechart-deployer-${ns} in kubechart-deployers`,
      ]),
    );
    expect(
      await status(
        core.readNamespacedServiceAccount({
          name: `kubechart-deployer-${ns}`,
          namespace: 'kubechart-deployers',
        }),
      ),
    ).toBe(404);
  });
});
