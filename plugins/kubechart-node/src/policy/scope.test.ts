import { ConfigReader } from '@backstage/config';
import { PolicyEngine } from './PolicyEngine';
import { builtinIsNamespaced, scopeRefusal, scopeViolation } from './scope';
import { KubeObject, PolicyScope } from './types';

const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
};
const cm = (name: string, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data: {},
});
const crb: KubeObject = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'x' },
  roleRef: {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: 'view',
  },
  subjects: [],
};
const scopeFailures = (
  engine: PolicyEngine,
  objects: KubeObject[],
  s: PolicyScope = scope,
) =>
  engine
    .check(objects, { scope: s })
    .results.filter(r => r.ruleId === 'run-scope' && !r.passed);

describe('run-scope rule', () => {
  const engine = new PolicyEngine();

  it('refuses cluster-scoped objects, other namespaces and Namespace objects, naming object and reason', () => {
    const report = engine.check(
      [
        cm('mine'),
        cm('also-mine', 'team-a'),
        crb,
        cm('theirs', 'kube-system'),
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'team-a', labels: { x: 'y' } },
        },
      ],
      { scope },
    );
    const failed = report.results.filter(
      r => r.ruleId === 'run-scope' && !r.passed,
    );
    expect(failed.map(r => r.message)).toEqual([
      'ClusterRoleBinding/x is cluster-scoped; a run may only write to namespace team-a',
      'ConfigMap/theirs is in namespace kube-system; a run may only write to namespace team-a',
      'Namespace/team-a is cluster-scoped; a run may only write to namespace team-a',
    ]);
    expect(failed.every(r => r.severity === 'error')).toBe(true);
    expect(
      report.results.filter(r => r.ruleId === 'run-scope' && r.passed),
    ).toHaveLength(2);
    expect(report.blocking).toBe(true);
  });

  it('blocks in warn and off mode too', () => {
    for (const mode of ['warn', 'off'] as const) {
      const report = new PolicyEngine({ mode }).check(
        [cm('theirs', 'kube-system')],
        { scope },
      );
      expect(report.blocking).toBe(true);
      expect(report.passed).toBe(false);
    }
    expect(
      new PolicyEngine({ mode: 'off' }).check([cm('mine')], { scope }).blocking,
    ).toBe(false);
  });

  it('cannot be turned off or exempted by config', () => {
    expect(
      () => new PolicyEngine({ severities: { 'run-scope': 'off' } }),
    ).toThrow(/run-scope cannot be configured/);
    expect(
      () =>
        new PolicyEngine({
          exceptions: [
            { rule: 'run-scope', namespace: 'team-a', reason: 'please' },
          ],
        }),
    ).toThrow(/cannot be exempted/);
    expect(
      () =>
        new PolicyEngine({
          rules: [
            {
              id: 'run-scope',
              defaultSeverity: 'info',
              description: '',
              fix: '',
              check: () => [],
            },
          ],
        }),
    ).toThrow(/Duplicate/);
  });

  it('allows the cluster-scoped kinds the caller allowed, and several namespaces', () => {
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    };
    const s: PolicyScope = {
      namespaces: ['a', 'b'],
      defaultNamespace: 'a',
      allowedClusterScopedKinds: [
        'apiextensions.k8s.io/CustomResourceDefinition',
      ],
    };
    expect(scopeFailures(engine, [crd, cm('x', 'b'), cm('y')], s)).toEqual([]);
    expect(
      scopeFailures(engine, [crb, cm('z', 'c')], s).map(r => r.message),
    ).toEqual([
      'ClusterRoleBinding/x is cluster-scoped; a run may only write to namespaces a, b',
      'ConfigMap/z is in namespace c; a run may only write to namespaces a, b',
    ]);
  });

  it('refuses kinds of unknown scope, and uses discovery when given', () => {
    const widget: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
    };
    expect(scopeFailures(engine, [widget])[0].message).toBe(
      'Widget/w (example.com/v1) is of a kind whose scope is unknown to the cluster; a run may only write to namespace team-a',
    );
    const discovered: PolicyScope = {
      ...scope,
      isNamespaced: (v, k) =>
        v === 'example.com/v1' && k === 'Widget' ? true : undefined,
    };
    expect(scopeFailures(engine, [widget], discovered)).toEqual([]);
    // With discovery given, even built-in kinds it does not know are refused.
    expect(scopeFailures(engine, [cm('mine')], discovered)).toHaveLength(1);
    const throwing: PolicyScope = {
      ...scope,
      isNamespaced: () => {
        throw new Error('discovery down');
      },
    };
    expect(scopeFailures(engine, [cm('mine')], throwing)).toHaveLength(1);
  });

  it('built-in table knows the common kinds', () => {
    expect(builtinIsNamespaced('apps/v1', 'Deployment')).toBe(true);
    expect(builtinIsNamespaced('v1', 'PersistentVolume')).toBe(false);
    expect(builtinIsNamespaced('storage.k8s.io/v1', 'StorageClass')).toBe(
      false,
    );
    expect(builtinIsNamespaced('networking.k8s.io/v1', 'NetworkPolicy')).toBe(
      true,
    );
    expect(builtinIsNamespaced('apps/v1', 'Widget')).toBeUndefined();
  });

  it('does nothing without a scope (the caller decides)', () => {
    expect(
      engine.check([crb]).results.some(r => r.ruleId === 'run-scope'),
    ).toBe(false);
  });
});

describe("run-scope rule: KubeChart's deployer identity", () => {
  const deployment = (pod: Record<string, unknown>): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }], ...pod },
      },
    },
  });
  const tokenSecret = (account: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name: 'token',
      annotations: { 'kubernetes.io/service-account.name': account },
    },
  });

  it('refuses, in every mode, a workload running as the deployer ServiceAccount, a token Secret for it, and the ServiceAccount itself', () => {
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const engine = new PolicyEngine({ mode });
      const failures = scopeFailures(engine, [
        deployment({ serviceAccountName: 'kubechart-deployer' }),
        deployment({ serviceAccount: 'kubechart-deployer' }),
        tokenSecret('kubechart-deployer'),
        {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'kubechart-deployer' },
        },
      ]);
      expect(failures.map(f => f.message)).toEqual([
        'Deployment/web runs its pods as ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it',
        'Deployment/web runs its pods as ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it',
        'Secret/token is a token of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it',
        'ServiceAccount/kubechart-deployer is the identity KubeChart deploys with in this namespace; only KubeChart writes it',
      ]);
      expect(
        engine.check([tokenSecret('kubechart-deployer')], { scope }).passed,
      ).toBe(false);
    }
  });

  it('refuses, in every mode, a workload given a token Secret of the deployer through any Secret reference', () => {
    const held = (pod: Record<string, unknown>) => deployment(pod);
    const legacy = 'kubechart-deployer-token-x7k2p';
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const engine = new PolicyEngine({ mode });
      const failures = scopeFailures(engine, [
        held({ volumes: [{ name: 't', secret: { secretName: legacy } }] }),
        held({
          volumes: [
            {
              name: 't',
              projected: {
                sources: [
                  { configMap: { name: 'settings' } },
                  { secret: { name: 'kubechart-deployer-token' } },
                ],
              },
            },
          ],
        }),
        held({
          initContainers: [
            {
              name: 'init',
              image: 'nginx:1.27',
              env: [
                {
                  name: 'TOKEN',
                  valueFrom: { secretKeyRef: { name: legacy, key: 'token' } },
                },
              ],
            },
          ],
        }),
        held({
          ephemeralContainers: [
            {
              name: 'debug',
              image: 'nginx:1.27',
              envFrom: [{ secretRef: { name: legacy, optional: true } }],
            },
          ],
        }),
      ]);
      expect(failures.map(f => f.message)).toEqual([
        `Deployment/web gives its pods Secret ${legacy} (through a secret volume), the name the token controller gives a token Secret of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it`,
        `Deployment/web gives its pods Secret kubechart-deployer-token (through a projected volume), the name the token controller gives a token Secret of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it`,
        `Deployment/web gives its pods Secret ${legacy} (through an env secretKeyRef), the name the token controller gives a token Secret of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it`,
        `Deployment/web gives its pods Secret ${legacy} (through an envFrom secretRef), the name the token controller gives a token Secret of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it`,
      ]);
    }
  });

  it('refuses a workload given a token Secret of the deployer that the same manifests define, whatever its name', () => {
    const engine = new PolicyEngine({ mode: 'off' });
    const failures = scopeFailures(engine, [
      {
        ...tokenSecret('kubechart-deployer'),
        metadata: {
          ...tokenSecret('kubechart-deployer').metadata,
          name: 'ci-token',
        },
      },
      deployment({
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            envFrom: [{ secretRef: { name: 'ci-token' } }],
          },
        ],
      }),
    ]);
    expect(failures.map(f => f.message)).toEqual([
      'Secret/ci-token is a token of ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it',
      'Deployment/web gives its pods Secret ci-token (through an envFrom secretRef), a token of ServiceAccount kubechart-deployer that these manifests define, the identity KubeChart deploys with in this namespace; a workload may not hold it',
    ]);
    // Its own Secrets, a token of its own ServiceAccount among them, and look-alike names pass.
    expect(
      scopeFailures(engine, [
        {
          ...tokenSecret('web'),
          metadata: { ...tokenSecret('web').metadata, name: 'web-token' },
        },
        deployment({
          volumes: [
            { name: 'a', secret: { secretName: 'web-token' } },
            { name: 'b', secret: { secretName: 'kubechart-deployer-tokens' } },
            { name: 'c', secret: { secretName: 'db' } },
          ],
        }),
      ]),
    ).toEqual([]);
    // The configured deployer's names.
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: { tenant: { deployer: { serviceAccount: 'ship-it' } } },
      }),
    );
    expect(
      scopeFailures(configured, [
        deployment({
          volumes: [
            { name: 't', secret: { secretName: 'ship-it-token-abcde' } },
          ],
        }),
      ]),
    ).toHaveLength(1);
  });

  it("refuses, in every mode, the deployer's RoleBinding and any binding that grants the deployer more", () => {
    const binding = (
      name: string,
      subjects: Record<string, unknown>[],
    ): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'admin',
      },
      subjects,
    });
    const web = { kind: 'ServiceAccount', name: 'web' };
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const engine = new PolicyEngine({ mode });
      const failures = scopeFailures(engine, [
        // Its subjects can change in place: a workload's account added to them holds `admin`.
        binding('kubechart-deployer', [
          { kind: 'ServiceAccount', name: 'kubechart-deployer' },
          web,
        ]),
        binding('more-rights', [
          { kind: 'ServiceAccount', name: 'kubechart-deployer' },
        ]),
      ]);
      expect(failures.map(f => f.message)).toEqual([
        'RoleBinding/kubechart-deployer is the binding of the identity KubeChart deploys with in this namespace; only KubeChart writes it',
        'RoleBinding/more-rights grants rights to ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; only KubeChart grants it rights',
      ]);
    }
    // A workload's own binding is the chart's business (the other rules judge it).
    expect(scopeFailures(new PolicyEngine(), [binding('web', [web])])).toEqual(
      [],
    );
  });

  it("refuses, in every mode, a binding that grants rights to the deployers' namespace's ServiceAccounts, read from config", () => {
    const binding = (
      kind: 'RoleBinding' | 'ClusterRoleBinding',
      subjects: Record<string, unknown>[],
    ): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: { name: 'grant', namespace: 'team-a' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'view',
      },
      subjects,
    });
    const why =
      'where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace); only KubeChart grants them rights';
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const failures = scopeFailures(new PolicyEngine({ mode }), [
        binding('RoleBinding', [
          {
            kind: 'Group',
            apiGroup: 'rbac.authorization.k8s.io',
            name: 'system:serviceaccounts:kubechart-deployers',
          },
        ]),
        binding('RoleBinding', [
          {
            kind: 'ServiceAccount',
            name: 'kubechart-deployer-team-b',
            namespace: 'kubechart-deployers',
          },
        ]),
        binding('RoleBinding', [
          {
            kind: 'User',
            apiGroup: 'rbac.authorization.k8s.io',
            name: 'system:serviceaccount:kubechart-deployers:anything',
          },
        ]),
      ]);
      expect(failures.map(f => f.message)).toEqual([
        `RoleBinding/grant grants rights to Group system:serviceaccounts:kubechart-deployers (every ServiceAccount of namespace kubechart-deployers), ${why}`,
        `RoleBinding/grant grants rights to ServiceAccount kubechart-deployer-team-b of namespace kubechart-deployers, ${why}`,
        `RoleBinding/grant grants rights to ServiceAccount anything of namespace kubechart-deployers, ${why}`,
      ]);
    }
    // Another namespace's accounts are the other rules' business; a configured namespace is read.
    const elsewhere = binding('RoleBinding', [
      { kind: 'ServiceAccount', name: 'ci', namespace: 'builds' },
      {
        kind: 'Group',
        apiGroup: 'rbac.authorization.k8s.io',
        name: 'system:serviceaccounts:builds',
      },
    ]);
    expect(scopeFailures(new PolicyEngine(), [elsewhere])).toEqual([]);
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: { tenant: { deployer: { namespace: 'builds' } } },
      }),
    );
    expect(scopeFailures(configured, [elsewhere]).map(f => f.message)).toEqual([
      `RoleBinding/grant grants rights to ServiceAccount ci of namespace builds, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace); only KubeChart grants them rights`,
    ]);
  });

  it('lets workloads use their own ServiceAccounts, and reads the deployer name from config', () => {
    const engine = new PolicyEngine();
    expect(
      scopeFailures(engine, [
        deployment({ serviceAccountName: 'web' }),
        tokenSecret('web'),
      ]),
    ).toEqual([]);
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: { tenant: { deployer: { serviceAccount: 'ship-it' } } },
      }),
    );
    expect(
      scopeFailures(configured, [
        deployment({ serviceAccountName: 'ship-it' }),
      ]),
    ).toHaveLength(1);
    expect(
      scopeFailures(configured, [
        deployment({ serviceAccountName: 'kubechart-deployer' }),
      ]),
    ).toEqual([]);
  });
});

describe('scopeRefusal', () => {
  const widget: KubeObject = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w' },
  };

  it('gives why an object is refused and the rule it breaks apart, which scopeViolation joins', () => {
    const s: PolicyScope = { namespaces: ['a', 'b'], defaultNamespace: 'a' };
    const cases = [crb, cm('z', 'c'), widget, cm('mine', 'b'), cm('default')];
    expect(cases.map(o => scopeRefusal(o, s))).toEqual([
      {
        reason: 'ClusterRoleBinding/x is cluster-scoped',
        rule: 'a run may only write to namespaces a, b',
      },
      {
        reason: 'ConfigMap/z is in namespace c',
        rule: 'a run may only write to namespaces a, b',
      },
      {
        reason:
          'Widget/w (example.com/v1) is of a kind whose scope is unknown to the cluster',
        rule: 'a run may only write to namespaces a, b',
      },
      undefined,
      undefined,
    ]);
    expect(cases.map(o => scopeViolation(o, s))).toEqual(
      cases.map(o => {
        const r = scopeRefusal(o, s);
        return r && `${r.reason}; ${r.rule}`;
      }),
    );
    expect(
      scopeRefusal(cm('x'), { namespaces: [], defaultNamespace: 'a' }),
    ).toEqual({
      reason: 'ConfigMap/x is in namespace a',
      rule: 'a run may not write to any namespace',
    });
  });
});

describe('tenant resources in the run scope', () => {
  const kept: PolicyScope = {
    ...scope,
    protectedObjects: [
      {
        kind: 'NetworkPolicy',
        namespace: 'team-a',
        name: 'kubechart-default-deny',
      },
    ],
  };
  const policy = (name: string, annotations?: Record<string, string>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { podSelector: {}, ingress: [{}] },
  });
  const engine = new PolicyEngine({ mode: 'off' });

  it('refuses, in every mode, a hook that would delete and replace a tenant resource, and a plain object of its name', () => {
    const report = engine.check(
      [
        policy('kubechart-default-deny', {
          'helm.sh/hook': 'pre-install',
          'helm.sh/hook-delete-policy': 'before-hook-creation',
        }),
        policy('kubechart-default-deny', {
          'kubechart.io/tenant-resource': 'true',
        }),
        policy('open-all'),
      ],
      { scope: kept },
    );
    expect(report.blocking).toBe(true);
    expect(
      report.results
        .filter(r => r.ruleId === 'run-scope')
        .map(r => [r.object.name, r.passed, r.passed ? '' : r.message]),
    ).toEqual([
      [
        'kubechart-default-deny',
        false,
        'NetworkPolicy/kubechart-default-deny is a tenant resource KubeChart keeps in namespace team-a (a helm hook with helm.sh/hook-delete-policy: before-hook-creation, which would delete it and create its own); only tenant runs change it, a chart may not write an object of its kind and name',
      ],
      [
        'kubechart-default-deny',
        false,
        'NetworkPolicy/kubechart-default-deny is a tenant resource KubeChart keeps in namespace team-a; only tenant runs change it, a chart may not write an object of its kind and name',
      ],
      ['open-all', true, ''],
    ]);
  });

  it('lets an object of another kind named like a tenant resource pass', () => {
    expect(
      engine.check(
        [
          {
            ...policy('kubechart-default-deny'),
            kind: 'ConfigMap',
            apiVersion: 'v1',
          },
        ],
        {
          scope: kept,
        },
      ).blocking,
    ).toBe(false);
  });
});
