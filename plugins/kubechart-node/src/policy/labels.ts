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
 * Whether `selector` selects pods with `labels`, as the API server evaluates it. An empty selector
 * (`{}`) selects every pod when `emptyMatchesAll` (policy/v1 PodDisruptionBudget), none otherwise; a
 * missing or malformed selector selects nothing; an unknown operator selects nothing (fail closed).
 */
export function selectorMatches(
  selector: unknown,
  labels: Record<string, string>,
  emptyMatchesAll = false,
): boolean {
  if (!selector || typeof selector !== 'object' || Array.isArray(selector))
    return false;
  const { matchLabels, matchExpressions } = selector as LabelSelector;
  const ml =
    matchLabels && typeof matchLabels === 'object'
      ? Object.entries(matchLabels)
      : [];
  const me = Array.isArray(matchExpressions) ? matchExpressions : [];
  if (ml.length === 0 && me.length === 0) return emptyMatchesAll;
  for (const [k, v] of ml) {
    if (labels[k] !== String(v)) return false;
  }
  for (const e of me) {
    if (!e || typeof e.key !== 'string') return false;
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
