import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { deployerAccount, deployerUser } from './deployer';
import { readEngineSettings } from './settings';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/*
 * A chart grants its own workloads rights through RBAC (fixture chart `rolegrab`). What it may grant
 * stops short of what KubeChart keeps in the namespace (the default-deny NetworkPolicy, quota and
 * limits) and of the identity KubeChart deploys with: the policy refuses the run before helm applies
 * anything, so no pod of the namespace ever holds those rights.
 */
describe('chart policy on the rights a chart grants its workloads, with helm against kube-sim', () => {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  const ns = 'tenant-grab';
  /** A client of the cluster acting as the ServiceAccount `account` of the tenant namespace. */
  const as = (account: string) =>
    t.clusters.kubeConfig('dev', {
      impersonate: `system:serviceaccount:${ns}:${account}`,
    });
  const admin = () => t.clusters.kubeConfig('dev');
  const run = async (release: string, grant: string) => {
    const submitted = await t.engine.submit(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ns,
        release: { name: release, chart: 'rolegrab', values: { grant } },
      },
      'user:default/alice',
    );
    await t.engine.waitFor(submitted.id);
    const done = (await t.store.getRun(submitted.id))!;
    return { status: done.status, reason: done.failureReason ?? '' };
  };
  const status = (p: Promise<unknown>) =>
    p.then(
      () => 'allowed',
      e => (e as { code?: number }).code,
    );
  /** The names of the tenant namespace's objects a release left, by kind. */
  const left = async (release: string) => {
    const mine = (items: { metadata?: { name?: string } }[]) =>
      items
        .map(i => i.metadata?.name)
        .filter(n => n?.startsWith(release))
        .sort();
    const core = admin().makeApiClient(CoreV1Api);
    const rbac = admin().makeApiClient(RbacAuthorizationV1Api);
    return {
      serviceAccounts: mine(
        (await core.listNamespacedServiceAccount({ namespace: ns })).items,
      ),
      roles: mine((await rbac.listNamespacedRole({ namespace: ns })).items),
      roleBindings: mine(
        (await rbac.listNamespacedRoleBinding({ namespace: ns })).items,
      ),
      deployments: mine(
        (
          await admin()
            .makeApiClient(AppsV1Api)
            .listNamespacedDeployment({ namespace: ns })
        ).items,
      ),
    };
  };
  const nothing = {
    serviceAccounts: [],
    roles: [],
    roleBindings: [],
    deployments: [],
  };

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({ databases, databaseId: 'SQLITE_3', sim });
    const submitted = await t.engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: 'grab', releases: [] },
      'user:default/alice',
    );
    await t.engine.waitFor(submitted.id);
    const tenant = (await t.store.getRun(submitted.id))!;
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it("refuses a RoleBinding of the admin ClusterRole to the chart's own ServiceAccount, which could then delete the namespace's default-deny NetworkPolicy", async () => {
    const result = await run('adm', 'admin');

    expect(result).toEqual({
      status: 'failed',
      reason: expect.stringContaining(
        '[rbac-cluster-admin] RoleBinding/adm-admin: binds ClusterRole admin, which may change networkpolicies, roles, rolebindings and use any ServiceAccount of the namespace (run pods as it, request its tokens, impersonate it); its subjects could remove what KubeChart keeps in the namespace',
      ),
    });
    expect(await left('adm')).toEqual(nothing);
    // The workload's ServiceAccount holds no right to the tenant's baseline.
    await admin()
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: 'adm' } },
      });
    expect(
      await status(
        as('adm').makeApiClient(NetworkingV1Api).deleteNamespacedNetworkPolicy({
          name: 'kubechart-default-deny',
          namespace: ns,
        }),
      ),
    ).toBe(403);
    await expect(
      admin().makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({
        name: 'kubechart-default-deny',
        namespace: ns,
      }),
    ).resolves.toBeDefined();
  });

  it('refuses a Role that writes ConfigMaps bound to every ServiceAccount of the namespace', async () => {
    const result = await run('every', 'every-serviceaccount');

    expect(result).toEqual({
      status: 'failed',
      reason: expect.stringContaining(
        `[rbac-broad-subjects] RoleBinding/every-settings: grants Role every-settings to Group system:serviceaccounts:${ns} (every ServiceAccount of namespace ${ns}): Role every-settings does not only read`,
      ),
    });
    expect(await left('every')).toEqual(nothing);
    // A pod of any other workload (the namespace's `default` ServiceAccount) writes no ConfigMap.
    expect(
      await status(
        as('default')
          .makeApiClient(CoreV1Api)
          .createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: 'planted' }, data: { by: 'default' } },
          }),
      ),
    ).toBe(403);
  });

  it('refuses an upgrade that widens a Role whose binding helm keeps from an earlier revision, though the manifests no longer bind it', async () => {
    const first = await run('kept', 'kept-binding');
    expect(first).toEqual({ status: 'succeeded', reason: '' });

    const upgrade = await run('kept', 'widened-role');

    expect(upgrade).toEqual({
      status: 'failed',
      reason: expect.stringContaining(
        '[rbac-cluster-admin] Role/kept-np: rule 2 grants delete on networkpolicies: whoever a binding of it names could remove what KubeChart keeps in the namespace',
      ),
    });
    expect(upgrade.reason).toContain(
      'helm keeps with helm.sh/resource-policy: keep',
    );
    // The cluster keeps the first revision: the Role still only reads ConfigMaps.
    expect(await left('kept')).toEqual({
      ...nothing,
      serviceAccounts: ['kept'],
      roles: ['kept-np'],
      roleBindings: ['kept-np'],
    });
    const live = await admin()
      .makeApiClient(RbacAuthorizationV1Api)
      .readNamespacedRole({ name: 'kept-np', namespace: ns });
    expect(live.rules?.map(r => r.resources)).toEqual([['configmaps']]);
    expect(
      await status(
        as('kept')
          .makeApiClient(NetworkingV1Api)
          .deleteNamespacedNetworkPolicy({
            name: 'kubechart-default-deny',
            namespace: ns,
          }),
      ),
    ).toBe(403);
    await expect(
      admin().makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({
        name: 'kubechart-default-deny',
        namespace: ns,
      }),
    ).resolves.toBeDefined();
  });

  it("gives a workload allowed to create pods no way to the deployer's identity: its pods run only as ServiceAccounts of the tenant namespace", async () => {
    expect(await run('maker', 'pod-maker')).toEqual({
      status: 'succeeded',
      reason: '',
    });
    const settings = readEngineSettings(t.config);
    const deployer = deployerAccount(ns, settings);
    const pod = (name: string, serviceAccountName: string) => ({
      metadata: { name },
      spec: {
        serviceAccountName,
        containers: [
          { name: 'c', image: 'registry.example.com/team/tool:1.0.0' },
        ],
      },
    });
    const maker = as('maker').makeApiClient(CoreV1Api);
    // The deployer's name as it was in the namespace, and as it is in kubechart-deployers: a pod naming
    // either runs as a ServiceAccount of the tenant namespace (a real API server refuses the pod, as
    // no ServiceAccount of that name is there).
    for (const account of ['kubechart-deployer', deployer.name]) {
      await maker.createNamespacedPod({
        namespace: ns,
        body: pod(`as-${account}`, account),
      });
      const created = await admin()
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ name: `as-${account}`, namespace: ns });
      expect(created.spec?.serviceAccountName).toBe(account);
      const asPod = as(account);
      expect(
        await status(
          asPod.makeApiClient(NetworkingV1Api).deleteNamespacedNetworkPolicy({
            name: 'kubechart-default-deny',
            namespace: ns,
          }),
        ),
      ).toBe(403);
      expect(
        await status(
          asPod
            .makeApiClient(RbacAuthorizationV1Api)
            .createNamespacedRoleBinding({
              namespace: ns,
              body: {
                metadata: { name: `${account}-admin` },
                roleRef: {
                  apiGroup: 'rbac.authorization.k8s.io',
                  kind: 'ClusterRole',
                  name: 'admin',
                },
                subjects: [
                  { kind: 'ServiceAccount', name: 'maker', namespace: ns },
                ],
              },
            }),
        ),
      ).toBe(403);
    }
    // Nor can it start a pod where the deployer is.
    expect(
      await status(
        maker.createNamespacedPod({
          namespace: deployer.namespace,
          body: pod('as-deployer', deployer.name),
        }),
      ),
    ).toBe(403);
    // The deployer itself keeps its rights in the namespace, through the RoleBinding there.
    expect(
      await status(
        t.clusters
          .kubeConfig('dev', { impersonate: deployerUser(ns, settings) })
          .makeApiClient(NetworkingV1Api)
          .readNamespacedNetworkPolicy({
            name: 'kubechart-default-deny',
            namespace: ns,
          }),
      ),
    ).toBe('allowed');
    await expect(
      admin().makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({
        name: 'kubechart-default-deny',
        namespace: ns,
      }),
    ).resolves.toBeDefined();
  });

  it("refuses a Deployment that mounts the deployer's token Secret by the name the token controller gives it", async () => {
    const result = await run('tok', 'deployer-token');

    expect(result).toEqual({
      status: 'failed',
      reason: expect.stringContaining(
        '[run-scope] Deployment/tok: Deployment/tok gives its pods Secret kubechart-deployer-token-x7k2p (through a secret volume), the name the token controller gives a token Secret of ServiceAccount kubechart-deployer',
      ),
    });
    expect(await left('tok')).toEqual(nothing);
  });
});
