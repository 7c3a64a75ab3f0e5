import { PathSegment, canonicalKey } from './compare';

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

/**
 * The `k:{…}` children of fieldsV1 nodes by the canonical string of their key (numbers and strings
 * alike), parsed once per node: an object with thousands of drifted list items looks each up at once.
 */
const itemIndexes = new WeakMap<object, Map<string, unknown>>();

function itemIndex(node: Record<string, unknown>): Map<string, unknown> {
  let index = itemIndexes.get(node);
  if (index) return index;
  index = new Map();
  for (const [k, child] of Object.entries(node)) {
    if (!k.startsWith('k:')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(k.slice(2));
    } catch {
      continue;
    }
    if (isMap(parsed)) {
      const c = canonicalKey(parsed);
      if (!index.has(c)) index.set(c, child);
    }
  }
  itemIndexes.set(node, index);
  return index;
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
      cur = itemIndex(cur).get(canonicalKey(seg.key));
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
