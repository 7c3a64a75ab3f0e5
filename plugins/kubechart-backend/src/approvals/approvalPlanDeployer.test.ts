import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { CreateRunRequest } from '@kubechart/plugin-kubechart-common';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { RunCaller } from '../engine/scope';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const ALICE = 'user:default/alice';
const ACME = 'group:default/acme';
const PLATFORM = 'group:default/platform';
const alice: RunCaller = {
  ownershipRefs: [ALICE, ACME],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const web = { name: 'web', chart: 'webapp', values: { replicas: 1 } };

/**
 * A protected run's approval plan reads the Helm release records of its namespace as the namespace's
 * deployer, whose RoleBinding KubeChart creates when the first run there starts. In a namespace the
 * platform created and assigned (to a tenant, or to an owner) that no run has started in yet, the
 * deployer may read nothing: the request is refused with that reason (409), nothing is recorded, and
 * no RoleBinding is created for a run nobody approved.
 */
describe('a run needing approval in a namespace whose deployer has no RoleBinding yet', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it.each<[string, string, CreateRunRequest]>([
    [
      'a tenant run adopting the pre-created namespace assigned to it',
      'tenant-prod-pre',
      {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'prod-pre',
        owner: ACME,
        releases: [web],
      },
    ],
    [
      'a chart run into a pre-created namespace assigned to an owner',
      'shop',
      { kind: 'chart', cluster: 'dev', namespace: 'shop', release: web },
    ],
  ])('%s is refused with the reason (409)', async (_, namespace, request) => {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      requesters: testRequesters({ [ALICE]: [ACME] }),
      config: testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*', 'shop'],
              approvers: ['owner', PLATFORM],
            },
          ],
        },
        clusters: { dev: { namespaces: { [namespace]: { owner: ACME } } } },
      }),
    });
    const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    await core
      .createNamespace({ body: { metadata: { name: namespace } } })
      .catch(() => undefined);

    const refusal = await t.engine.submit(request, ALICE, alice).then(
      run => ({ started: run.status }),
      (e: Error) => ({ name: e.name, message: e.message }),
    );
    expect(refusal).toEqual({
      name: 'ConflictError',
      message: expect.stringContaining(
        `No approval plan can be made for this run, and no approval was requested: the Helm release records in namespace ${namespace} on cluster dev cannot be read by its deployer`,
      ),
    });
    const { message } = refusal as { message: string };
    // Says why, and what the platform team can do.
    expect(message).toContain('cannot list resource "secrets"');
    expect(message).toContain(
      `RoleBinding kubechart-deployer in ${namespace} (ClusterRole admin) for ServiceAccount kubechart-deployer-${namespace} of namespace kubechart-deployers`,
    );
    expect((await t.store.listRuns({}, { limit: 10 })).items).toEqual([]);
    // Nothing is granted for a run nobody approved.
    const rbac = t.clusters
      .kubeConfig('dev')
      .makeApiClient(RbacAuthorizationV1Api);
    expect(
      (await rbac.listNamespacedRoleBinding({ namespace })).items.map(
        b => b.metadata?.name,
      ),
    ).toEqual([]);
  });
});
