import { Plan } from './plan';

/**
 * How risky running a plan is.
 *
 * - `safe`: reads that reveal no secrets.
 * - `warning`: changes that are easy to undo (scale, restart, labels, cordon).
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
 * Classifies a plan. The level is derived only from the plan's verb and
 * resource, never from anything a model says about it.
 *
 * @public
 */
export function classifySafety(plan: Plan): SafetyAssessment {
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
    case 'rollout':
      if (plan.rolloutAction === 'status' || plan.rolloutAction === 'history') {
        return {
          level: 'safe',
          reason: `rollout ${plan.rolloutAction} only reads.`,
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
    case 'label':
    case 'annotate':
      return {
        level: 'warning',
        reason: `${plan.verb} changes metadata that selectors and tools may rely on.`,
      };
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
