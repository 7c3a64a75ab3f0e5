/** A Kubernetes label selector (`matchLabels` and `matchExpressions`). */
export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: string;
    values?: string[];
  }>;
};

/**
 * The most requirements (`matchLabels` entries and `matchExpressions`) of one selector the policy
 * evaluates. Real selectors have a handful; one with thousands, compared with every workload of a
 * manifest, would cost millions of steps, so the rules report it instead of evaluating it.
 */
export const MAX_SELECTOR_REQUIREMENTS = 100;

/** Pod labels as a map, read once for the many selectors compared with them. */
export type LabelMap = ReadonlyMap<string, unknown>;

/** A pod's labels as a {@link LabelMap} (its own keys). */
export const labelMap = (labels: Record<string, string>): LabelMap =>
  new Map(Object.entries(labels));

/** A selector read once, to be evaluated against many pods' labels. */
export type CompiledSelector = {
  /** Its `matchLabels` entries and `matchExpressions`. */
  requirements: number;
  /**
   * Whether it selects pods with `labels` (see {@link compileSelector}); adds the steps it took
   * (one, and one per requirement evaluated) to `counter.steps`.
   */
  matches(labels: LabelMap, counter: { steps: number }): boolean;
  /**
   * Why the selector cannot be read (a `matchExpressions` entry without a key, or with an operator
   * other than In, NotIn, Exists and DoesNotExist); such a selector selects nothing.
   */
  unreadable?: string;
};

const NO_VALUES: ReadonlySet<unknown> = new Set();

const never = (
  requirements: number,
  unreadable?: string,
): CompiledSelector => ({
  requirements,
  ...(unreadable ? { unreadable } : {}),
  matches: (_labels, counter) => {
    counter.steps++;
    return false;
  },
});

/**
 * Reads a selector once, to tell whether it selects pods with given labels as the API server
 * evaluates it: each evaluation then costs one step per requirement, whatever the number of values an
 * `In` or `NotIn` lists. An empty selector (`{}`) selects every pod when `emptyMatchesAll`
 * (policy/v1 PodDisruptionBudget), none otherwise; a missing or malformed selector selects nothing;
 * an unknown operator selects nothing (fail closed).
 */
export function compileSelector(
  selector: unknown,
  emptyMatchesAll = false,
): CompiledSelector {
  if (!selector || typeof selector !== 'object' || Array.isArray(selector))
    return never(0);
  const { matchLabels, matchExpressions } = selector as LabelSelector;
  const ml =
    matchLabels && typeof matchLabels === 'object'
      ? Object.entries(matchLabels).map(([k, v]) => [k, String(v)] as const)
      : [];
  const me = Array.isArray(matchExpressions) ? matchExpressions : [];
  const requirements = ml.length + me.length;
  if (requirements === 0)
    return {
      requirements,
      matches: (_labels, counter) => {
        counter.steps++;
        return emptyMatchesAll;
      },
    };
  const expressions: Array<{
    key: string;
    operator: string;
    values: ReadonlySet<unknown>;
  }> = [];
  for (const e of me) {
    // A malformed requirement or an unknown operator selects nothing (fail closed).
    if (!e || typeof e.key !== 'string')
      return never(requirements, 'a matchExpressions entry has no key');
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator))
      return never(
        requirements,
        `matchExpressions operator ${JSON.stringify(
          String(e.operator).slice(0, 63),
        )} is not In, NotIn, Exists or DoesNotExist`,
      );
    expressions.push({
      key: e.key,
      operator: e.operator,
      values:
        (e.operator === 'In' || e.operator === 'NotIn') &&
        Array.isArray(e.values)
          ? new Set(e.values.map(String))
          : NO_VALUES,
    });
  }
  return {
    requirements,
    matches: (labels, counter) => {
      counter.steps++;
      for (const [k, v] of ml) {
        counter.steps++;
        if (labels.get(k) !== v) return false;
      }
      for (const { key, operator, values } of expressions) {
        counter.steps++;
        const has = labels.has(key);
        switch (operator) {
          case 'In':
            if (!has || !values.has(labels.get(key))) return false;
            break;
          case 'NotIn':
            if (has && values.has(labels.get(key))) return false;
            break;
          case 'Exists':
            if (!has) return false;
            break;
          default: // DoesNotExist
            if (has) return false;
        }
      }
      return true;
    },
  };
}
