import {
  CompiledSelector,
  LabelMap,
  MAX_SELECTOR_REQUIREMENTS,
  compileSelector,
  labelMap,
} from './labels';
import { podLabelsOf } from './podSpec';
import { groupOf } from './rules/util';
import { KubeObject, PolicyContext } from './types';

/**
 * The objects of one check, indexed once by kind and namespace, for the rules that look at other
 * objects than the one they judge (a workload's PodDisruptionBudgets, its HorizontalPodAutoscaler,
 * its ServiceAccount). A rule that scanned every object for every object made a check cost the square
 * of its objects: a thousand Deployments and a thousand PodDisruptionBudgets took seconds.
 */
export type ObjectIndex = {
  /** The objects of one of `kinds` that land in `namespace`, in the order of the manifest. */
  ofKinds(kinds: readonly string[], namespace: unknown): KubeObject[];
  /** The first object of `kind` named `name` that lands in `namespace`. */
  named(kind: string, namespace: unknown, name: string): KubeObject | undefined;
  /** The first HorizontalPodAutoscaler in `namespace` that scales the Deployment `name`. */
  autoscalerOf(namespace: unknown, name: string): KubeObject | undefined;
  /** A PodDisruptionBudget's selector, read once. */
  pdbSelector(pdb: KubeObject): CompiledSelector;
  /**
   * Whether a PodDisruptionBudget selects a pod-bearing object's pods; undefined when its selector
   * has more than {@link MAX_SELECTOR_REQUIREMENTS} requirements, or when the check has spent its
   * {@link MAX_SELECTOR_STEPS} (the rules then report what they could not check).
   */
  selects(pdb: KubeObject, obj: KubeObject): boolean | undefined;
  /** Whether the check has spent its {@link MAX_SELECTOR_STEPS}. */
  selectorBudgetSpent(): boolean;
  /** A workload's `spec.replicas` when it is a number, else 1 (the API server's default), read once. */
  replicas(obj: KubeObject): number;
  /**
   * The Roles or ClusterRoles (of the RBAC API group) named `name`, whatever namespace they land in,
   * in the order of the manifest.
   */
  rbacRoles(kind: 'Role' | 'ClusterRole', name: string): KubeObject[];
};

/**
 * The most steps (one per selector and workload compared, one per requirement evaluated) one check
 * spends comparing PodDisruptionBudgets' selectors with workloads' pod labels. A chart needs a few
 * thousand; a manifest of hundreds of budgets with long selectors and hundreds of workloads would
 * need tens of millions.
 */
export const MAX_SELECTOR_STEPS = 2_000_000;

const indexes = new WeakMap<
  PolicyContext,
  { objects: KubeObject[]; length: number; index: ObjectIndex }
>();

/** Appends `value` to the list at `map[key]`. */
function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function buildIndex(ctx: PolicyContext): ObjectIndex {
  // kind → namespace → objects, in manifest order.
  const byKind = new Map<unknown, Map<unknown, KubeObject[]>>();
  const position = new Map<KubeObject, number>();
  ctx.objects.forEach((o, i) => {
    if (!o || typeof o !== 'object') return;
    position.set(o, i);
    const kind = o.kind;
    let byNs = byKind.get(kind);
    if (!byNs) byKind.set(kind, (byNs = new Map()));
    push(byNs, ctx.namespaceOf(o), o);
  });
  const ofKind = (kind: string, ns: unknown) => byKind.get(kind)?.get(ns) ?? [];

  const merged = new Map<string, Map<unknown, KubeObject[]>>();
  const ofKinds = (kinds: readonly string[], ns: unknown) => {
    if (kinds.length === 1) return ofKind(kinds[0], ns);
    const key = JSON.stringify(kinds);
    let byNs = merged.get(key);
    if (!byNs) merged.set(key, (byNs = new Map()));
    let list = byNs.get(ns);
    if (!list) {
      list = kinds
        .flatMap(k => ofKind(k, ns))
        .sort((a, b) => position.get(a)! - position.get(b)!);
      byNs.set(ns, list);
    }
    return list;
  };

  // kind → namespace → name → first object of that name.
  const byName = new Map<string, Map<unknown, Map<string, KubeObject>>>();
  const named = (kind: string, ns: unknown, name: string) => {
    let byNs = byName.get(kind);
    if (!byNs) byName.set(kind, (byNs = new Map()));
    let names = byNs.get(ns);
    if (!names) {
      names = new Map();
      for (const o of ofKind(kind, ns)) {
        const n = o.metadata?.name;
        if (typeof n === 'string' && !names.has(n)) names.set(n, o);
      }
      byNs.set(ns, names);
    }
    return names.get(name);
  };

  // namespace → scaled Deployment's name → first HorizontalPodAutoscaler scaling it.
  const autoscalers = new Map<unknown, Map<string, KubeObject>>();
  const autoscalerOf = (ns: unknown, name: string) => {
    let targets = autoscalers.get(ns);
    if (!targets) {
      targets = new Map();
      for (const o of ofKind('HorizontalPodAutoscaler', ns)) {
        const ref = o.spec?.scaleTargetRef;
        if (
          ref?.kind === 'Deployment' &&
          typeof ref.name === 'string' &&
          !targets.has(ref.name)
        )
          targets.set(ref.name, o);
      }
      autoscalers.set(ns, targets);
    }
    return targets.get(name);
  };

  const selectors = new Map<KubeObject, CompiledSelector>();
  const pdbSelector = (pdb: KubeObject) => {
    let s = selectors.get(pdb);
    if (!s) {
      // policy/v1: an empty selector selects every pod of the namespace; v1beta1: none.
      s = compileSelector(pdb.spec?.selector, pdb.apiVersion === 'policy/v1');
      selectors.set(pdb, s);
    }
    return s;
  };

  const labels = new Map<KubeObject, LabelMap>();
  const podLabels = (obj: KubeObject) => {
    let l = labels.get(obj);
    if (!l) {
      l = labelMap(podLabelsOf(obj));
      labels.set(obj, l);
    }
    return l;
  };

  const counter = { steps: 0 };
  const selectorBudgetSpent = () => counter.steps >= MAX_SELECTOR_STEPS;
  const selects = (pdb: KubeObject, obj: KubeObject) => {
    const selector = pdbSelector(pdb);
    if (selector.requirements > MAX_SELECTOR_REQUIREMENTS) return undefined;
    if (selectorBudgetSpent()) return undefined;
    return selector.matches(podLabels(obj), counter);
  };

  const replicaCounts = new Map<KubeObject, number>();
  const replicas = (obj: KubeObject) => {
    let n = replicaCounts.get(obj);
    if (n === undefined) {
      const r = obj.spec?.replicas;
      n = typeof r === 'number' ? r : 1;
      replicaCounts.set(obj, n);
    }
    return n;
  };

  // "<kind>/<name>" → Roles and ClusterRoles of that name, in manifest order.
  let roles: Map<string, KubeObject[]> | undefined;
  const rbacRoles = (kind: 'Role' | 'ClusterRole', name: string) => {
    if (!roles) {
      roles = new Map();
      for (const o of ctx.objects) {
        if (
          (o?.kind === 'Role' || o?.kind === 'ClusterRole') &&
          groupOf(o.apiVersion) === 'rbac.authorization.k8s.io' &&
          typeof o.metadata?.name === 'string'
        )
          push(roles, `${o.kind}/${o.metadata.name}`, o);
      }
    }
    return roles.get(`${kind}/${name}`) ?? [];
  };

  return {
    ofKinds,
    named,
    autoscalerOf,
    pdbSelector,
    selects,
    selectorBudgetSpent,
    replicas,
    rbacRoles,
  };
}

/** The index of a check's objects, built on first use and kept for the rest of the check. */
export function objectIndex(ctx: PolicyContext): ObjectIndex {
  const cached = indexes.get(ctx);
  if (
    cached &&
    cached.objects === ctx.objects &&
    cached.length === ctx.objects.length
  )
    return cached.index;
  const index = buildIndex(ctx);
  indexes.set(ctx, { objects: ctx.objects, length: ctx.objects.length, index });
  return index;
}
