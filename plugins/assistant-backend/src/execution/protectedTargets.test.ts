import { ConfigReader } from '@backstage/config';
import type { Plan } from '@kubechart/plugin-assistant-common';
import { ProtectedTargets } from './protectedTargets';

const targets = ProtectedTargets.fromConfig(
  new ConfigReader({
    kubechart: {
      approvals: {
        rules: [
          {
            name: 'production',
            clusters: ['prod-*'],
            namespaces: ['*-production'],
          },
          { name: 'payments', tenants: ['payments'] },
        ],
      },
    },
  }),
);

const scale = (p: Partial<Plan>): Plan =>
  ({
    verb: 'scale',
    resource: 'deployments',
    name: 'web',
    replicas: 2,
    ...p,
  } as Plan);

describe('ProtectedTargets', () => {
  it('refuses a change in a protected namespace pattern, on the rule’s clusters only', () => {
    expect(
      targets.refusal(scale({ namespace: 'shop-production' }), 'prod-eu'),
    ).toMatch(
      /^Namespace shop-production on cluster prod-eu is protected by KubeChart approval rule production/,
    );
    expect(
      targets.refusal(scale({ namespace: 'shop-production' }), 'dev'),
    ).toBeUndefined();
    expect(
      targets.refusal(scale({ namespace: 'shop' }), 'prod-eu'),
    ).toBeUndefined();
  });

  it('protects a rule’s tenants by their namespaces', () => {
    expect(
      targets.refusal(scale({ namespace: 'tenant-payments' }), 'dev'),
    ).toMatch(/approval rule payments/);
    expect(
      targets.refusal(scale({ namespace: 'tenant-shop' }), 'dev'),
    ).toBeUndefined();
  });

  it('fails closed when the namespace is not known before the change runs', () => {
    expect(targets.refusal(scale({}), 'dev')).toMatch(
      /^Changes need a namespace here/,
    );
    expect(targets.refusal(scale({ allNamespaces: true }), 'dev')).toMatch(
      /^Changes need a namespace here/,
    );
  });

  it('protects the Namespace object itself, checked with its name', () => {
    const ns = (p: Partial<Plan>): Plan =>
      ({ resource: 'namespaces', ...p } as Plan);
    expect(
      targets.refusal(ns({ verb: 'delete', name: 'tenant-payments' }), 'dev'),
    ).toMatch(
      /^Namespace tenant-payments on cluster dev is protected by KubeChart approval rule payments/,
    );
    expect(
      targets.refusal(
        ns({ verb: 'label', name: 'shop-production', labels: { a: 'b' } }),
        'prod-eu',
      ),
    ).toMatch(
      /^Namespace shop-production on cluster prod-eu is protected by KubeChart approval rule production/,
    );
    expect(
      targets.refusal(
        ns({ verb: 'label', name: 'tenant-shop', labels: { a: 'b' } }),
        'dev',
      ),
    ).toBeUndefined();
    expect(
      targets.refusal(ns({ verb: 'delete', labelSelector: 'team=x' }), 'dev'),
    ).toMatch(/^Changes need a namespace here/);
  });

  it('refuses a change to a cluster-scoped object that reaches into namespaces while a rule covers the cluster', () => {
    const reaching: Array<[Plan, RegExp]> = [
      [
        { verb: 'delete', resource: 'customresourcedefinitions', name: 'w.x' },
        /^Deleting or changing a CustomResourceDefinition changes the objects of its kind in every namespace: KubeChart protects namespaces on cluster dev with approvals \(rule payments\)/,
      ],
      [
        {
          verb: 'label',
          resource: 'clusterroles',
          name: 'view',
          labels: { 'rbac.example.com/aggregate-to-view': 'true' },
        },
        /^A ClusterRole grants what RoleBindings of any namespace give with it: /,
      ],
      [
        { verb: 'delete', resource: 'clusterrolebindings', name: 'b' },
        /^A ClusterRoleBinding grants its role in every namespace: /,
      ],
      [
        { verb: 'delete', resource: 'persistentvolumes', name: 'pv-1' },
        /^A PersistentVolume holds the data of a claim in a namespace: /,
      ],
      [
        { verb: 'cordon', resource: 'nodes', name: 'n' },
        /^A node runs pods of every namespace: /,
      ],
    ];
    for (const [plan, reason] of reaching) {
      expect(targets.refusal(plan, 'dev')).toMatch(reason);
      expect(targets.refusal(plan, 'dev')).toMatch(
        new RegExp(`so the assistant does not change ${plan.resource} here$`),
      );
    }
    // Only where a rule covers the cluster.
    const prodOnly = ProtectedTargets.fromConfig(
      new ConfigReader({
        kubechart: {
          approvals: { rules: [{ clusters: ['prod-*'], namespaces: ['x'] }] },
        },
      }),
    );
    for (const [plan] of reaching) {
      expect(prodOnly.refusal(plan, 'dev')).toBeUndefined();
      expect(prodOnly.refusal(plan, 'prod-eu')).toMatch(/rule rule 1/);
    }
  });

  it('protects nothing without rules', () => {
    const none = ProtectedTargets.fromConfig(new ConfigReader({}));
    expect(none.refusal(scale({}), 'dev')).toBeUndefined();
  });
});
