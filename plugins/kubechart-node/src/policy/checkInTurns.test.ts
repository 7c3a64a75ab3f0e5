import {
  MAX_POLICY_OBJECTS,
  PolicyEngine,
  PolicyEngineOptions,
  parseManifests,
} from './PolicyEngine';
import { benchChart } from './benchChart';
import { PolicyCheckOptions, PolicyRule } from './types';
import { turnsDuring } from '@internal/kube-sim/testUtils';

/**
 * A release's objects are judged with a turn of the event loop between objects and between the
 * rules of one object (`checkInTurns`, what the routes and runs use): a check of helm's largest output
 * holds the backend no longer than one rule costs on one object, and reports exactly what the
 * synchronous check does.
 */

const RBAC = 'rbac.authorization.k8s.io/v1';

/**
 * A release of every sort of object the policy judges: workloads good and bad, Secrets in plain
 * sight, RBAC roles and the bindings that grant them (in either order), documents it cannot judge,
 * objects outside the run's scope, a List.
 */
const VARIED = `
apiVersion: ${RBAC}
kind: RoleBinding
metadata: { name: tokens }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: tokens }
subjects: [{ kind: ServiceAccount, name: app, namespace: team-a }]
---
apiVersion: ${RBAC}
kind: Role
metadata: { name: tokens }
rules: [{ apiGroups: [''], resources: [serviceaccounts/token], verbs: [create] }]
---
apiVersion: ${RBAC}
kind: Role
metadata: { name: reader }
rules: [{ apiGroups: [''], resources: [configmaps, secrets], verbs: [get, list, '*'] }]
---
apiVersion: ${RBAC}
kind: RoleBinding
metadata: { name: reader }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader }
subjects: [{ kind: Group, name: system:serviceaccounts:team-a }]
---
apiVersion: ${RBAC}
kind: RoleBinding
metadata: { name: metrics }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: platform-reader }
subjects: [{ kind: ServiceAccount, name: app, namespace: team-a }]
---
apiVersion: ${RBAC}
kind: ClusterRoleBinding
metadata: { name: everyone-admin }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin }
subjects: [{ kind: Group, name: system:authenticated }]
---
apiVersion: ${RBAC}
kind: ClusterRole
metadata:
  name: widen-view
  labels: { rbac.authorization.k8s.io/aggregate-to-view: "true" }
rules: [{ apiGroups: [''], resources: [pods/exec], verbs: [create] }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: bad }
spec:
  replicas: 1
  template:
    spec:
      hostNetwork: true
      serviceAccountName: kubechart-deployer
      containers:
        - name: app
          image: nginx:latest
          securityContext: { privileged: true }
          env:
            - { name: API_TOKEN, value: abc123 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { db_password: hunter2, color: blue }
---
apiVersion: v1
kind: Service
metadata: { name: lb }
spec: { type: LoadBalancer }
---
apiVersion: v1
kind: Service
metadata: { name: elsewhere, namespace: team-b }
spec: { ports: [{ port: 80 }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: kubechart-default-deny }
spec: { podSelector: {} }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop }
spec: { rules: [{ http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] } }] }
---
just a string
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: no-template }
spec: { replicas: 2 }
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: ServiceAccount, metadata: { name: app } }
  - { apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: { name: fast } }
`;

const OPTIONS: PolicyEngineOptions = {
  trustedRegistries: ['registry.example.com'],
  exceptions: [
    {
      rule: 'rbac-unknown-role',
      namespace: 'team-a',
      kind: 'RoleBinding',
      name: 'metrics',
      reason: 'platform-reader only reads metrics',
    },
    {
      rule: 'no-plain-secrets',
      kind: 'ConfigMap',
      name: 'cfg',
      reason: 'a test database',
    },
  ],
};

/** An extension rule that cannot judge one object (its failure is part of the report). */
const fragile: PolicyRule = {
  id: 'team-label',
  defaultSeverity: 'warning',
  description: 'objects carry a team label',
  fix: 'Add metadata.labels.team',
  check: o => {
    if (o.kind === 'Ingress') throw new Error('cannot read this Ingress');
    return o.metadata?.labels?.team ? [] : ['no team label'];
  },
};

const SCOPE: PolicyCheckOptions = {
  scope: {
    namespaces: ['team-a'],
    defaultNamespace: 'team-a',
    protectedObjects: [
      {
        kind: 'NetworkPolicy',
        namespace: 'team-a',
        name: 'kubechart-default-deny',
      },
    ],
  },
};

describe('PolicyEngine.checkInTurns', () => {
  it('lets other work run at least once per object while it judges a release', async () => {
    const objects = benchChart();
    expect(objects.length).toBeGreaterThanOrEqual(200);
    const engine = new PolicyEngine(OPTIONS);
    const turns = await turnsDuring(() => engine.checkInTurns(objects, SCOPE));
    expect(turns).toBeGreaterThanOrEqual(objects.length);
    // The synchronous check lets nothing run.
    expect(await turnsDuring(async () => engine.check(objects, SCOPE))).toBe(0);
  });

  it('lets other work run between two rules judging the same large object', async () => {
    // A ConfigMap of tens of thousands of keys costs each of the secret rules tens of milliseconds:
    // other requests are answered between them.
    const seen: boolean[] = [];
    let ranBetween = false;
    const first: PolicyRule = {
      id: 'first',
      defaultSeverity: 'info',
      description: 'first',
      fix: 'none',
      check: () => {
        ranBetween = false;
        setImmediate(() => {
          ranBetween = true;
        });
        return [];
      },
    };
    const second: PolicyRule = {
      ...first,
      id: 'second',
      description: 'second',
      check: () => {
        seen.push(ranBetween);
        return [];
      },
    };
    const engine = new PolicyEngine({ rules: [first, second] });
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big' },
      data: Object.fromEntries(
        Array.from({ length: 2000 }, (_, i) => [`key${i}`, 'value']),
      ),
    };
    await engine.checkInTurns([configMap]);
    engine.check([configMap]);
    expect(seen).toEqual([true, false]);
  });

  it('reports exactly what the synchronous check reports: results, order, messages, exemptions, summary', async () => {
    const objects = [...parseManifests(VARIED), ...benchChart().slice(0, 30)];
    const cases: Array<[PolicyEngineOptions, PolicyCheckOptions]> = [
      [OPTIONS, SCOPE],
      [OPTIONS, { namespace: 'team-a' }],
      [{ ...OPTIONS, mode: 'warn', rules: [fragile] }, SCOPE],
      [{ ...OPTIONS, mode: 'off', severities: { 'image-tag': 'off' } }, SCOPE],
    ];
    for (const [engineOptions, checkOptions] of cases) {
      const engine = new PolicyEngine(engineOptions);
      const atOnce = engine.check(objects, checkOptions);
      const inTurns = await engine.checkInTurns(objects, checkOptions);
      expect(inTurns).toEqual(atOnce);
    }
    // The cases judge what the comparison is about: bindings against the roles they grant
    // (whichever comes first), exemptions, scope, documents the policy cannot judge.
    const report = await new PolicyEngine(OPTIONS).checkInTurns(objects, SCOPE);
    const failed = (id: string) =>
      report.results
        .filter(r => r.ruleId === id && !r.passed)
        .map(r => `${r.object.kind}/${r.object.name}`);
    expect(failed('rbac-cluster-admin')).toEqual(
      expect.arrayContaining([
        'RoleBinding/tokens',
        'Role/tokens',
        'ClusterRoleBinding/everyone-admin',
      ]),
    );
    expect(failed('rbac-broad-subjects')).toContain('RoleBinding/reader');
    expect(failed('valid-object')).toEqual([
      'Unknown/document 14',
      'Deployment/no-template',
    ]);
    expect(failed('run-scope')).toEqual(
      expect.arrayContaining([
        'Deployment/bad',
        'Service/elsewhere',
        'NetworkPolicy/kubechart-default-deny',
        'StorageClass/fast',
      ]),
    );
    expect(
      report.results
        .filter(r => r.exempt)
        .map(r => `${r.ruleId} ${r.object.kind}/${r.object.name}`),
    ).toEqual([
      'rbac-unknown-role RoleBinding/metrics',
      'no-plain-secrets ConfigMap/cfg',
    ]);
    expect(report.summary.exempted).toBe(2);
    expect(report.blocking).toBe(true);
  });

  it('refuses more objects than one check judges, as the synchronous check does', async () => {
    const objects = Array.from({ length: MAX_POLICY_OBJECTS + 1 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm${i}` },
    }));
    const engine = new PolicyEngine();
    const refusal = `Policy check refused: ${
      MAX_POLICY_OBJECTS + 1
    } objects; a policy check judges at most ${MAX_POLICY_OBJECTS}`;
    expect(() => engine.check(objects)).toThrow(refusal);
    await expect(engine.checkInTurns(objects)).rejects.toThrow(refusal);
  });
});
