import { InputError } from '@backstage/errors';
import {
  MAX_POLICY_OBJECTS,
  PolicyEngine,
  parseManifests,
} from './PolicyEngine';
import { builtinPolicyRules } from './rules';
import { KubeObject } from './types';

/**
 * What one policy check costs: the work and the report grow with the objects it is given, never
 * with their pairs. A manifest of k Deployments and k PodDisruptionBudgets selecting every pod
 * (`selector: {}`) used to cost k² rule steps and k² messages: k = 1000 stalled the backend for
 * seconds and answered with 72 MB.
 */

const deployment = (i: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `d${i}` },
  spec: {
    selector: { matchLabels: { app: `a${i}` } },
    template: {
      metadata: { labels: { app: `a${i}` } },
      spec: { containers: [{ name: 'c', image: 'x:1' }] },
    },
  },
});
const catchAllPdb = (i: number): KubeObject => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: `p${i}` },
  spec: { selector: {}, minAvailable: 5 },
});
const pairwise = (k: number) => [
  ...Array.from({ length: k }, (_, i) => deployment(i)),
  ...Array.from({ length: k }, (_, i) => catchAllPdb(i)),
];
/** The same, as one `List` document (how the attack was sent). */
const asList = (items: unknown[]) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/**
 * Counts every read of a top-level field of the objects checked: a measure of the work a check
 * does that does not depend on the machine's speed.
 */
function countingReads(objects: KubeObject[]) {
  const counter = { reads: 0 };
  const proxies = objects.map(
    o =>
      new Proxy(o, {
        get(target, key, receiver) {
          counter.reads++;
          return Reflect.get(target, key, receiver);
        },
      }),
  );
  return { counter, proxies };
}

const RULES_OF_INTEREST = [
  'pod-disruption-budget',
  'pdb-allows-disruption',
  'replicas',
  'automount-service-account-token',
];

describe('the cost of one policy check', () => {
  it.each([...RULES_OF_INTEREST, 'every rule'])(
    'reads the objects a number of times proportional to their count (%s)',
    only => {
      const all = new PolicyEngine().listRules().map(r => r.id);
      // Rules that block in every mode cannot be turned off (they judge RBAC objects, none here).
      const alwaysOn = builtinPolicyRules
        .filter(r => r.alwaysBlocks)
        .map(r => r.id);
      const severities = Object.fromEntries(
        all
          .filter(id => id !== 'valid-object' && id !== 'run-scope')
          .filter(id => !alwaysOn.includes(id))
          .filter(id => only !== 'every rule' && id !== only)
          .map(id => [id, 'off' as const]),
      );
      const engine = new PolicyEngine({ severities });
      const readsFor = (k: number) => {
        const { counter, proxies } = countingReads(pairwise(k));
        engine.check(proxies, { namespace: 'team-a' });
        return counter.reads;
      };
      const small = readsFor(20);
      const large = readsFor(200);
      // Ten times the objects: about ten times the reads (k² steps would be a hundred times).
      expect(large / small).toBeLessThan(20);
    },
  );

  it('caps the messages of one result and says how many more there are', () => {
    const report = new PolicyEngine().check(pairwise(300), {
      namespace: 'team-a',
    });
    const pdb = report.results.find(
      r => r.ruleId === 'pdb-allows-disruption' && r.object.name === 'p0',
    )!;
    expect(pdb.passed).toBe(false);
    const parts = pdb.message.split('; ');
    expect(parts).toHaveLength(11);
    expect(parts[0]).toBe(
      'minAvailable 5 is not below the 1 replica(s) of Deployment/d0',
    );
    expect(parts[10]).toBe('…and 290 more');
    for (const r of report.results)
      expect(r.message.split('; ').length).toBeLessThanOrEqual(11);
  });

  it('answers a report whose size grows with the objects, not with their pairs', () => {
    const engine = new PolicyEngine();
    const size = (k: number) =>
      JSON.stringify(engine.check(pairwise(k), { namespace: 'team-a' })).length;
    const small = size(40);
    const large = size(400);
    expect(large / small).toBeLessThan(15);
    // 800 objects: about a kilobyte of report per object and rule at most.
    expect(large).toBeLessThan(800 * 1024 * 40);
  });

  it('keeps counting messages a rule already cut short ("and N more") instead of dropping the count', () => {
    const many: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'i', namespace: 'team-a' },
      spec: { rules: Array.from({ length: 50 }, () => ({})) },
    };
    const report = new PolicyEngine().check([many]);
    const r = report.results.find(x => x.ruleId === 'ingress-host')!;
    expect(r.message.split('; ')).toHaveLength(11);
    expect(r.message).toMatch(/; …and 40 more$/);
  });

  it('refuses more objects than one check judges, counting the items of a List, with a clear reason', () => {
    const items = Array.from({ length: 1001 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `c${i}` },
    }));
    const refusal =
      'Manifests refused: more than 1000 objects (each item of a List counted); the limit maxObjects is 1000';
    const forCheck = { maxObjects: MAX_POLICY_OBJECTS };
    expect(() => parseManifests(asList(items), forCheck)).toThrow(refusal);
    expect(() => parseManifests(asList(items), forCheck)).toThrow(InputError);
    // Read for anything but a check (a stored manifest's drift, its secrets), all are read.
    expect(parseManifests(asList(items))).toHaveLength(1001);
    expect(() => new PolicyEngine().checkYaml(asList(items))).toThrow(refusal);
    expect(() => new PolicyEngine().check(items)).toThrow(
      'Policy check refused: 1001 objects; a policy check judges at most 1000',
    );
    // 1000 are judged.
    expect(
      new PolicyEngine().checkYaml(asList(items.slice(1))).summary.objects,
    ).toBe(1000);
  });

  it('refuses a List of hundreds of thousands of items with a clear reason, not a stack overflow', () => {
    const text = `{"kind":"List","items":[${Array(333_000)
      .fill('{}')
      .join(',')}]}`;
    expect(() =>
      parseManifests(text, { maxObjects: MAX_POLICY_OBJECTS }),
    ).toThrow(
      'Manifests refused: more than 1000 objects (each item of a List counted); the limit maxObjects is 1000',
    );
    expect(() => new PolicyEngine().checkYaml(text)).toThrow(
      'Manifests refused: more than 1000 objects',
    );
    // Without an object limit, the List is still one document: no larger than one object the API
    // server stores (what helm renders is read so too).
    expect(() => parseManifests(text)).toThrow(
      'Manifests refused: document 1 holds more than 50000 nodes once aliases are expanded; the limit maxDocumentNodes is 50000',
    );
  });

  it('refuses to guess which pods a PodDisruptionBudget with a selector of thousands of requirements covers', () => {
    const huge: KubeObject = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'huge' },
      spec: {
        minAvailable: 1,
        selector: {
          matchExpressions: Array.from({ length: 5000 }, (_, i) => ({
            key: `k${i}`,
            operator: 'DoesNotExist',
          })),
        },
      },
    };
    const objects = [
      huge,
      ...Array.from({ length: 900 }, (_, i) => deployment(i)),
    ];
    const { counter, proxies } = countingReads(objects);
    const report = new PolicyEngine().check(proxies, { namespace: 'team-a' });
    expect(
      report.results.find(
        r => r.ruleId === 'pdb-allows-disruption' && r.object.name === 'huge',
      ),
    ).toMatchObject({
      passed: false,
      message:
        'its selector has 5000 requirements, more than the 100 the policy evaluates: which pods it covers is not checked',
    });
    expect(
      report.results.find(
        r => r.ruleId === 'pod-disruption-budget' && r.object.name === 'd0',
      ),
    ).toMatchObject({
      passed: false,
      message:
        'no PodDisruptionBudget in its namespace selects its pods (PodDisruptionBudget/huge has a selector too large to evaluate)',
    });
    expect(counter.reads).toBeLessThan(901 * 1000);
  });

  it('stops comparing selectors with workloads at a bound and says what it did not check', () => {
    // 400 budgets whose 100 requirements each hold for every workload, and 400 workloads: 16 million
    // comparisons, more than one check makes.
    const pdbs = Array.from({ length: 400 }, (_, i) => ({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: `p${i}` },
      spec: {
        minAvailable: 1,
        selector: {
          matchExpressions: Array.from({ length: 100 }, (_item, j) => ({
            key: `k${i}-${j}`,
            operator: 'DoesNotExist',
          })),
        },
      },
    }));
    const deployments = Array.from({ length: 400 }, (_, i) => deployment(i));
    const report = new PolicyEngine().check([...pdbs, ...deployments], {
      namespace: 'team-a',
    });
    const first = report.results.find(
      r => r.ruleId === 'pdb-allows-disruption' && r.object.name === 'p0',
    )!;
    expect(first.message.split('; ')).toHaveLength(11);
    expect(first.message).toMatch(/; …and 390 more$/);
    const last = report.results.find(
      r => r.ruleId === 'pdb-allows-disruption' && r.object.name === 'p399',
    )!;
    expect(last).toMatchObject({
      passed: false,
      message:
        "which workloads it selects is not checked: the manifest's PodDisruptionBudgets and workloads need more than the 2000000 label comparisons one policy check makes; split it into smaller runs",
    });
    const workload = report.results.find(
      r => r.ruleId === 'pod-disruption-budget' && r.object.name === 'd399',
    )!;
    expect(workload.passed).toBe(false);
    expect(workload.message).toMatch(
      /^whether a PodDisruptionBudget in its namespace selects its pods is not checked: /,
    );
  });
});

/**
 * Counts every read of a field of the objects checked, at any depth (a role's `rules`, each rule's
 * `verbs` and `resources`): the work of rules that look into other objects' contents.
 */
function countingDeepReads(objects: KubeObject[]) {
  const counter = { reads: 0 };
  const wrapped = new WeakMap<object, object>();
  const wrap = (value: any): any => {
    if (!value || typeof value !== 'object') return value;
    const known = wrapped.get(value);
    if (known) return known;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        counter.reads++;
        return wrap(Reflect.get(target, key, receiver));
      },
    });
    wrapped.set(value, proxy);
    return proxy;
  };
  return { counter, proxies: objects.map(wrap) as KubeObject[] };
}

/** A ClusterRole of `rules` rules, each granting `create` on `roles` (a guarded right). */
const guardedClusterRole = (rules: number): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'many-rules' },
  rules: Array.from({ length: rules }, () => ({
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles'],
    verbs: ['create'],
  })),
});
/** A RoleBinding of that ClusterRole to every ServiceAccount of the namespace. */
const bindingOfMany = (i: number): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: `b${i}`, namespace: 'team-a' },
  roleRef: {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: 'many-rules',
  },
  subjects: [{ kind: 'Group', name: 'system:serviceaccounts:team-a' }],
});
const bindingsOf = (bindings: number, rules: number) => [
  guardedClusterRole(rules),
  ...Array.from({ length: bindings }, (_, i) => bindingOfMany(i)),
];

describe('the cost of checking many bindings of a role with many rules', () => {
  const engine = new PolicyEngine();
  const readsFor = (bindings: number, rules: number) => {
    const { counter, proxies } = countingDeepReads(bindingsOf(bindings, rules));
    const report = engine.check(proxies, { namespace: 'team-a' });
    expect(
      report.results.find(
        r => r.ruleId === 'rbac-cluster-admin' && r.object.name === 'b0',
      )?.passed,
    ).toBe(false);
    return counter.reads;
  };
  const reportSize = (bindings: number, rules: number) =>
    JSON.stringify(
      engine.check(bindingsOf(bindings, rules), { namespace: 'team-a' }),
    ).length;

  it('reads the objects about ten times as often, not a hundred times, for ten times the bindings of ten times the rules', () => {
    expect(readsFor(200, 1000) / readsFor(20, 100)).toBeLessThan(20);
  });

  it('reads no more for one more binding of a role with ten times the rules', () => {
    // What 90 more bindings read: the same whatever the rules of the role they bind.
    const moreBindings = (rules: number) =>
      readsFor(100, rules) - readsFor(10, rules);
    expect(moreBindings(300) / moreBindings(30)).toBeLessThan(2);
  });

  it('reads no more for one more rule of a role with ten times the bindings', () => {
    // What 270 more rules read: the same whatever the bindings of their role.
    const moreRules = (bindings: number) =>
      readsFor(bindings, 300) - readsFor(bindings, 30);
    expect(moreRules(100) / moreRules(10)).toBeLessThan(2);
  });

  it('answers a report that grows about ten times, not a hundred times, for ten times the bindings of ten times the rules', () => {
    expect(reportSize(200, 600) / reportSize(20, 60)).toBeLessThan(15);
  });

  it('answers a report that grows no more with one more binding of a role with ten times the rules', () => {
    const moreBindings = (rules: number) =>
      reportSize(100, rules) - reportSize(10, rules);
    expect(moreBindings(300) / moreBindings(30)).toBeLessThan(2);
  });

  it('names the first ten rules of the bound role in a message and counts the others', () => {
    const report = new PolicyEngine().check(bindingsOf(2, 15), {
      namespace: 'team-a',
    });
    const message = (ruleId: string, name: string) =>
      report.results.find(r => r.ruleId === ruleId && r.object.name === name)
        ?.message;
    const first10 = (what: string) =>
      Array.from({ length: 10 }, (_, i) => `rule ${i + 1} grants ${what}`).join(
        ', ',
      );
    expect(message('rbac-cluster-admin', 'b1')).toBe(
      `binds ClusterRole many-rules, whose ${first10(
        'create on roles',
      )}, …and 5 more; its subjects could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more`,
    );
    expect(message('rbac-broad-subjects', 'b1')).toBe(
      `grants ClusterRole many-rules to Group system:serviceaccounts:team-a (every ServiceAccount of namespace team-a): ClusterRole many-rules does not only read (${first10(
        'create',
      )}, …and 5 more)`,
    );
    expect(message('rbac-cluster-admin', 'many-rules')).toMatch(
      new RegExp(
        `^${first10(
          'create on roles',
        )}, …and 5 more: whoever a binding of it names could `,
      ),
    );
  });
});
