import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { TableResult } from '@kubechart/plugin-assistant-common';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

describe('requests impersonating the signed-in user', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      objects: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'pod-reader', namespace: 'shop' },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'alice-reads-pods', namespace: 'shop' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: 'pod-reader',
          },
          subjects: [
            {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'User',
              name: 'alice',
            },
          ],
        },
      ],
    });
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: sim.url,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
  });
  afterAll(() => sim?.stop());

  it("lets the cluster's RBAC decide for the user", async () => {
    const asAlice = registry.kubeConfig('sim', { impersonateUser: 'alice' });
    const shop = (await executor.execute(
      { verb: 'get', resource: 'pods', namespace: 'shop' },
      asAlice,
    )) as TableResult;
    expect(shop.type).toBe('table');
    expect(shop.rows.length).toBeGreaterThan(0);
    await expect(
      executor.execute(
        { verb: 'get', resource: 'pods', namespace: 'payments' },
        asAlice,
      ),
    ).rejects.toThrow(/The cluster refused: .*forbidden/i);
    await expect(
      executor.execute(
        {
          verb: 'scale',
          resource: 'deployments',
          name: 'checkout-web',
          namespace: 'shop',
          replicas: 2,
        },
        asAlice,
      ),
    ).rejects.toThrow(/forbidden/i);
    // Without impersonation the assistant's own identity is used.
    const own = (await executor.execute(
      { verb: 'get', resource: 'pods', namespace: 'payments' },
      registry.kubeConfig('sim'),
    )) as TableResult;
    expect(own.rows.length).toBeGreaterThan(0);
  });
});
