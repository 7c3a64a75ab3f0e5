import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { ClusterDiscovery } from './ClusterDiscovery';
import { ClusterRegistry } from './ClusterRegistry';

describe('ClusterDiscovery', () => {
  let sim: KubeSim;
  let discovery: ClusterDiscovery;
  beforeAll(async () => {
    sim = await startKubeSim({ tls: true });
    const registry = new ClusterRegistry([
      {
        name: 'dev',
        url: sim.url,
        authProvider: 'serviceAccount',
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
      {
        name: 'down',
        url: 'https://127.0.0.1:1',
        authProvider: 'serviceAccount',
        serviceAccountToken: 'x',
        skipTLSVerify: true,
      },
    ]);
    discovery = new ClusterDiscovery(registry);
  });
  afterAll(() => sim?.stop());

  it("answers from the cluster's discovery, undefined for kinds it does not serve", async () => {
    const kinds = [
      ['v1', 'ConfigMap'],
      ['v1', 'Namespace'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
      ['rbac.authorization.k8s.io/v1', 'Nonsense'],
      ['widgets.example.com/v1', 'Widget'],
    ] as const;
    const isNamespaced = await discovery.lookup(
      'dev',
      kinds.map(([apiVersion, kind]) => ({ apiVersion, kind })),
    );
    expect(kinds.map(([a, k]) => isNamespaced(a, k))).toEqual([
      true,
      false,
      false,
      true,
      undefined,
      undefined,
    ]);
    // Only what was looked up is answered.
    expect(isNamespaced('apps/v1', 'Deployment')).toBeUndefined();
  });

  it('answers for a custom resource from a CRD among the objects when the cluster does not serve it yet', async () => {
    const crd = (kind: string, scope: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      spec: {
        group: 'gadgets.example.com',
        scope,
        names: { kind },
        versions: [{ name: 'v1' }, { name: 'v2' }],
      },
    });
    const isNamespaced = await discovery.lookup('dev', [
      crd('Gadget', 'Namespaced'),
      crd('Hub', 'Cluster'),
      { apiVersion: 'gadgets.example.com/v2', kind: 'Gadget' },
      { apiVersion: 'gadgets.example.com/v1', kind: 'Hub' },
      { apiVersion: 'gadgets.example.com/v3', kind: 'Gadget' },
      // A CRD cannot redefine what the cluster serves.
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        spec: {
          group: 'rbac.authorization.k8s.io',
          scope: 'Namespaced',
          names: { kind: 'ClusterRoleBinding' },
          versions: [{ name: 'v1' }],
        },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
      },
    ]);
    expect([
      isNamespaced('gadgets.example.com/v2', 'Gadget'),
      isNamespaced('gadgets.example.com/v1', 'Hub'),
      isNamespaced('gadgets.example.com/v3', 'Gadget'),
      isNamespaced('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'),
    ]).toEqual([true, false, undefined, false]);
  });

  it('fails when the cluster cannot be reached (callers fail closed)', async () => {
    await expect(
      discovery.lookup('down', [{ apiVersion: 'v1', kind: 'ConfigMap' }]),
    ).rejects.toThrow();
  });
});
