import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { deployerUser } from './deployer';
import { plainCaller } from './scope';
import { readEngineSettings } from './settings';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';

/**
 * The ResourceQuota, LimitRange and default-deny NetworkPolicy a tenant run writes are KubeChart's: what
 * anyone added to them since (the tenant's own deployer may change a NetworkPolicy and, as an admin of
 * the namespace, open it to every namespace) is taken out again when the tenant is provisioned again.
 */
describe('a tenant run restores the quota, limits and network policy it owns', () => {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  let core: CoreV1Api;
  let net: NetworkingV1Api;
  const code = 'restore';
  const namespace = `tenant-${code}`;

  const provision = async () => {
    const r = await t.engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: code, releases: [] },
      ALICE,
      plainCaller(ALICE),
    );
    await t.engine.waitFor(r.id);
    const run = (await t.store.getRun(r.id))!;
    const log = (await t.store.getEvents(r.id, { limit: 5000 })).map(
      e => e.message,
    );
    const line = (prefix: string) => log.find(m => m.startsWith(prefix));
    return {
      status: run.status,
      quota: line('ResourceQuota kubechart-quota: '),
      limits: line('LimitRange kubechart-limits: '),
      policy: line('NetworkPolicy kubechart-default-deny '),
    };
  };
  const live = async () => ({
    quota: (
      await core.readNamespacedResourceQuota({
        name: 'kubechart-quota',
        namespace,
      })
    ).spec,
    limits: (
      await core.readNamespacedLimitRange({
        name: 'kubechart-limits',
        namespace,
      })
    ).spec,
    policy: (
      await net.readNamespacedNetworkPolicy({
        name: 'kubechart-default-deny',
        namespace,
      })
    ).spec,
  });

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({ databases, databaseId: 'SQLITE_3', sim });
    core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    net = t.clusters.kubeConfig('dev').makeApiClient(NetworkingV1Api);
  });
  afterAll(() => sim?.stop());

  it('leaves them unchanged when nobody changed them, and puts back what was added to them', async () => {
    const first = await provision();
    expect(first).toMatchObject({ status: 'succeeded' });
    const provisioned = await live();

    // Provisioned again as it is: nothing to do, server defaults included.
    const again = await provision();
    expect(again).toMatchObject({
      status: 'succeeded',
      quota: 'ResourceQuota kubechart-quota: unchanged',
      limits: 'LimitRange kubechart-limits: unchanged',
      policy: expect.stringMatching(/: unchanged$/),
    });

    // The tenant's deployer opens the default-deny policy to every namespace.
    const asDeployer = t.clusters
      .kubeConfig('dev', {
        impersonate: deployerUser(namespace, readEngineSettings(t.config)),
      })
      .makeApiClient(NetworkingV1Api);
    const policy = await asDeployer.readNamespacedNetworkPolicy({
      name: 'kubechart-default-deny',
      namespace,
    });
    policy.spec!.ingress![0]._from![0].namespaceSelector = {};
    await asDeployer.replaceNamespacedNetworkPolicy({
      name: 'kubechart-default-deny',
      namespace,
      body: policy,
    });
    // Keys added to the quota and the limits (by whoever could write them).
    const quota = await core.readNamespacedResourceQuota({
      name: 'kubechart-quota',
      namespace,
    });
    quota.spec!.scopes = ['NotTerminating'];
    await core.replaceNamespacedResourceQuota({
      name: 'kubechart-quota',
      namespace,
      body: quota,
    });
    const limits = await core.readNamespacedLimitRange({
      name: 'kubechart-limits',
      namespace,
    });
    limits.spec!.limits[0].max = { cpu: '100' };
    await core.replaceNamespacedLimitRange({
      name: 'kubechart-limits',
      namespace,
      body: limits,
    });
    expect(await live()).not.toEqual(provisioned);

    const restored = await provision();
    expect(restored).toMatchObject({
      status: 'succeeded',
      quota: 'ResourceQuota kubechart-quota: updated',
      limits: 'LimitRange kubechart-limits: updated',
      policy: expect.stringMatching(/: updated$/),
    });
    expect(await live()).toEqual(provisioned);
  });
});
