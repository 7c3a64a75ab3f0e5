import { PathSegment } from './compare';

/** One `metadata.managedFields` entry, as the API server returns it. */
export type ManagedFieldsEntry = {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: Record<string, unknown>;
};

/** Who wrote a field last, from the live object's field ownership. */
export type FieldOwner = { manager: string; operation?: string; time?: string };

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** Whether a `k:{…}` key of a fieldsV1 trie names the same list item as `key` (numbers and strings alike). */
function sameItemKey(encoded: string, key: Record<string, unknown>): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(encoded);
  } catch {
    return false;
  }
  if (!isMap(parsed)) return false;
  const names = Object.keys(key);
  return (
    names.length === Object.keys(parsed).length &&
    names.every(
      n => String(parsed[n as keyof typeof parsed]) === String(key[n]),
    )
  );
}

/** The fieldsV1 node of a path, or undefined when the entry does not reach it. */
function nodeAt(
  fields: Record<string, unknown> | undefined,
  segments: PathSegment[],
): unknown {
  let cur: unknown = fields;
  for (const seg of segments) {
    if (!isMap(cur)) return undefined;
    if ('field' in seg) {
      cur = cur[`f:${seg.field}`];
    } else {
      const entry = Object.entries(cur).find(
        ([k]) => k.startsWith('k:') && sameItemKey(k.slice(2), seg.key),
      );
      cur = entry?.[1];
    }
  }
  return cur;
}

/**
 * The manager that owns the field at `segments` (fieldsV1 `f:`/`k:` paths). When several own it
 * (shared ownership after applies of the same value), the one that wrote last. Status entries are
 * ignored: a run's manifest has no status. Entries of other subresources count: `kubectl scale`
 * owns `spec.replicas` through an entry with `subresource: scale`. Undefined when no manager owns
 * the field (it was removed).
 */
export function fieldOwner(
  managedFields: ManagedFieldsEntry[] | undefined,
  segments: PathSegment[],
): FieldOwner | undefined {
  let best: FieldOwner | undefined;
  for (const entry of managedFields ?? []) {
    if (!entry.manager || entry.subresource === 'status') continue;
    if (nodeAt(entry.fieldsV1, segments) === undefined) continue;
    if (!best || (entry.time ?? '') > (best.time ?? '')) {
      best = {
        manager: entry.manager,
        ...(entry.operation ? { operation: entry.operation } : {}),
        ...(entry.time ? { time: entry.time } : {}),
      };
    }
  }
  return best;
}
