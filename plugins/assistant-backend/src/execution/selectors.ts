import { KubeObject } from './tables';

type LabelSelector = {
  matchLabels?: Record<string, unknown>;
  matchExpressions?: Array<{
    key?: unknown;
    operator?: unknown;
    values?: unknown;
  }>;
};

/**
 * A workload's `spec.selector` as the API's `labelSelector` parameter says it, exactly: its
 * matchLabels (`app=web`) and matchExpressions (`tier in (db,cache)`, `tier notin (x)`, `tier`,
 * `!tier`). Undefined for a workload without a selector, one that selects everything, or one the
 * parameter cannot say exactly (an unknown operator, a value that is not a plain text): its pods are
 * not looked for, never looked for with part of the selector.
 */
export function labelSelectorOf(workload: KubeObject): string | undefined {
  const selector = workload.spec?.selector as LabelSelector | undefined;
  if (!selector || typeof selector !== 'object') return undefined;
  const text = (v: unknown): v is string =>
    typeof v === 'string' && /^[A-Za-z0-9._/-]*$/.test(v);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!text(key) || !key || !text(value)) return undefined;
    parts.push(`${key}=${value}`);
  }
  for (const e of selector.matchExpressions ?? []) {
    if (!text(e?.key) || !e.key) return undefined;
    const values = Array.isArray(e.values) ? e.values : [];
    if (!values.every(text)) return undefined;
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        parts.push(
          `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${values.join(
            ',',
          )})`,
        );
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        return undefined;
    }
  }
  return parts.length ? parts.join(',') : undefined;
}

/** Whether `object` names `owner` (by its uid) among its owners. */
export function ownedBy(object: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata?.uid;
  return (
    !!uid && (object.metadata?.ownerReferences ?? []).some(o => o.uid === uid)
  );
}
