import { CLUSTER_SCOPED_RESOURCES, Plan } from './plan';

/**
 * How risky running a plan is.
 *
 * - `safe`: reads that reveal no secrets.
 * - `warning`: changes inside one namespace that are easy to undo (scale,
 *   restart, labels and annotations of the team's own keys).
 * - `dangerous`: destructive or arbitrary changes, and reading Secret data.
 *
 * @public
 */
export type SafetyLevel = 'safe' | 'warning' | 'dangerous';

/** @public */
export const SAFETY_LEVELS: ReadonlyArray<SafetyLevel> = [
  'safe',
  'warning',
  'dangerous',
];

/** @public */
export type SafetyAssessment = {
  level: SafetyLevel;
  /** Why the plan got that level, for people. */
  reason: string;
};

/**
 * Which objects a plan can touch, in words: part of what is shown and of its
 * safety class.
 *
 * @public
 */
export function describeScope(plan: Plan): string {
  const selectors = [plan.labelSelector, plan.fieldSelector]
    .filter(Boolean)
    .join(', ');
  const what = plan.name
    ? `${plan.resource}/${plan.name}`
    : `${
        selectors
          ? `${plan.resource} matching ${selectors}`
          : `every ${plan.resource.replace(/s$/, '')}`
      }`;
  if (CLUSTER_SCOPED_RESOURCES.includes(plan.resource)) {
    return `${what} (cluster-scoped)`;
  }
  if (plan.allNamespaces) return `${what} in all namespaces`;
  if (plan.namespace) return `${what} in namespace ${plan.namespace}`;
  return plan.name
    ? `${what} in the one namespace that has it`
    : `${what} in all namespaces`;
}

/** Whether a plan may touch objects in more than one namespace or across the cluster. @public */
export function isClusterWide(plan: Plan): boolean {
  if (CLUSTER_SCOPED_RESOURCES.includes(plan.resource)) return !plan.name;
  if (plan.name) return !!plan.allNamespaces;
  return !plan.namespace;
}

/**
 * Classifies a plan. The level is derived only from the plan — its verb,
 * resource and scope — never from anything a model says about it. A change
 * that can touch more than one namespace, or any cluster-scoped object
 * (nodes, namespaces, RBAC, CRDs, PVs — named or not), is dangerous whatever
 * the verb.
 *
 * @public
 */
export function classifySafety(plan: Plan): SafetyAssessment {
  const base = classifyVerb(plan);
  // A change to one named cluster-scoped object still reaches past any
  // namespace: a label on a ClusterRole can aggregate it into every `view`
  // binding, one on a Namespace can lift its pod-security level.
  if (
    base.level === 'warning' &&
    CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
  ) {
    return {
      level: 'dangerous',
      reason: `${base.reason} It changes ${describeScope(
        plan,
      )}: an object outside any namespace, which can affect the whole cluster.`,
    };
  }
  if (base.level === 'warning' && isClusterWide(plan)) {
    return {
      level: 'dangerous',
      reason: `${base.reason} It reaches ${describeScope(
        plan,
      )}: a change across namespaces or the whole cluster.`,
    };
  }
  return base;
}

/** The recommended labels that only describe an application (kubernetes.io docs, "Recommended Labels"). */
const DESCRIPTIVE_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
];

function classifyVerb(plan: Plan): SafetyAssessment {
  if (plan.resource === 'secrets') {
    return {
      level: 'dangerous',
      reason: 'Reading or changing Secrets exposes credentials.',
    };
  }
  switch (plan.verb) {
    case 'get':
    case 'describe':
    case 'logs':
    case 'top':
    case 'events':
      return { level: 'safe', reason: `${plan.verb} only reads.` };
    case 'diagnose':
      return {
        level: 'safe',
        reason:
          'diagnose only reads: the workload, its pods, their events and logs.',
      };
    case 'rollout':
      if (plan.rolloutAction === 'status' || plan.rolloutAction === 'history') {
        return {
          level: 'safe',
          reason: `rollout ${plan.rolloutAction} only reads.`,
        };
      }
      if (plan.rolloutAction === 'undo') {
        return {
          level: 'warning',
          reason:
            'rollout undo replaces the pods with those of the previous revision.',
        };
      }
      return {
        level: 'warning',
        reason: 'rollout restart replaces every pod of the workload.',
      };
    case 'scale':
      return {
        level: 'warning',
        reason: 'scale changes how many replicas run.',
      };
    case 'annotate': {
      // Keys with a prefix belong to whoever owns the domain, mostly controllers that act on them,
      // some far beyond the object (ingress-nginx snippets run for every namespace; cloud IAM keys
      // give pods a cloud role). Only the user's own keys (no prefix) and kubectl's change cause
      // are metadata alone.
      const read = Object.keys(plan.annotations ?? {}).filter(
        key => key.includes('/') && key !== 'kubernetes.io/change-cause',
      );
      if (read.length > 0) {
        return {
          level: 'dangerous',
          reason: `annotate sets ${read.slice(0, 3).join(', ')}${
            read.length > 3 ? ' and more' : ''
          }: annotations with a prefix are read by controllers, which may act beyond the object.`,
        };
      }
      return {
        level: 'warning',
        reason:
          'annotate changes metadata that selectors and tools may rely on.',
      };
    }
    case 'label': {
      // As with annotations: a prefixed key belongs to whoever owns the domain, mostly controllers
      // that act on it (a mesh stops injecting its sidecar, a cloud's workload identity gives the
      // pods a cloud role, a backup tool skips the object). The descriptive recommended labels
      // are the team's own metadata; `app.kubernetes.io/managed-by` is not (Helm and KubeChart
      // read it).
      const read = Object.keys(plan.labels ?? {}).filter(
        key => key.includes('/') && !DESCRIPTIVE_LABELS.includes(key),
      );
      if (read.length > 0) {
        return {
          level: 'dangerous',
          reason: `label sets ${read.slice(0, 3).join(', ')}${
            read.length > 3 ? ' and more' : ''
          }: labels with a prefix are read by controllers, which may act beyond the object.`,
        };
      }
      return {
        level: 'warning',
        reason: `${plan.verb} changes metadata that selectors and tools may rely on.`,
      };
    }
    case 'cordon':
    case 'uncordon':
      return {
        level: 'warning',
        reason: `${plan.verb} changes whether new pods are scheduled on the node.`,
      };
    case 'delete':
      return { level: 'dangerous', reason: 'delete removes resources.' };
    case 'drain':
      return {
        level: 'dangerous',
        reason: 'drain evicts every pod from the node.',
      };
    case 'exec':
      return {
        level: 'dangerous',
        reason: 'exec runs arbitrary commands inside a container.',
      };
    case 'apply':
    case 'patch':
      return {
        level: 'dangerous',
        reason: `${plan.verb} makes arbitrary changes to resources.`,
      };
    default:
      // A verb added to the schema without a rule here is treated as dangerous.
      return { level: 'dangerous', reason: 'Unknown verb.' };
  }
}

/** Orders safety levels from safe to dangerous. @public */
export function compareSafety(a: SafetyLevel, b: SafetyLevel): number {
  return SAFETY_LEVELS.indexOf(a) - SAFETY_LEVELS.indexOf(b);
}
