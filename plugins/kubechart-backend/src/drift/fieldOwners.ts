import {
  FieldDifference,
  PathSegment,
  canonicalKey,
  formatPath,
  valueAt,
} from './compare';

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

/**
 * The field managers of Kubernetes itself: its controllers write fields no manifest sets (a
 * PersistentVolumeClaim's `volumeName` and binding annotations, a HorizontalPodAutoscaler's
 * replicas through `scale`), which are not a change to what a run applied.
 */
export const KUBERNETES_MANAGERS: readonly string[] = [
  'kube-controller-manager',
  'kube-scheduler',
  'kube-apiserver',
];

/** A field another manager set that the run did not apply, with who set it. */
export type AddedField = FieldDifference & FieldOwner;

/**
 * The fields of `live` that a manager other than `appliers` (and Kubernetes itself) set, and that
 * the run's manifest `applied` does not set: a container `kubectl edit` added, a label `kubectl
 * label` put on the pod template. Found from the live object's field ownership: server-side
 * defaults have no owner, and what a mutating webhook added when the object was created (an
 * injected sidecar) is the creating manager's, so neither counts. Status entries, and metadata but
 * labels and annotations, are not read. Each is the outermost path the manifest does not set (a
 * whole container, not its fields), with `expected` undefined and the live value as `actual`; a
 * path several managers set names the one that wrote last. A Secret's `data` keys that its applied
 * `stringData` sets count as set. A field under a list item the ownership records by position or
 * in a form not read here is reported as its list (nothing is left uncompared). With `since`, only
 * managers that wrote at or after that time count (a run an action recorded: the managers it
 * applied with are not known, what was there when it reported is taken as what it applied).
 */
export function addedFields(
  managedFields: ManagedFieldsEntry[] | undefined,
  applied: Record<string, any>,
  live: Record<string, any>,
  options: { appliers: readonly string[]; since?: string },
): AddedField[] {
  const known = new Set([...options.appliers, ...KUBERNETES_MANAGERS]);
  const view = appliedView(applied);
  const found = new Map<string, AddedField>();
  const add = (segments: PathSegment[], entry: ManagedFieldsEntry) => {
    const actual = valueAt(live, segments);
    if (actual === undefined || actual === null) return;
    const path = formatPath(segments);
    const seen = found.get(path);
    if (seen && (seen.time ?? '') >= (entry.time ?? '')) return;
    found.set(path, {
      segments,
      expected: valueAt(view, segments),
      actual,
      manager: entry.manager!,
      ...(entry.operation ? { operation: entry.operation } : {}),
      ...(entry.time ? { time: entry.time } : {}),
    });
  };
  const walk = (
    node: unknown,
    path: PathSegment[],
    entry: ManagedFieldsEntry,
  ) => {
    if (!isMap(node)) return;
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') continue;
      if (
        path.length === 0 &&
        ['f:apiVersion', 'f:kind', 'f:status'].includes(k)
      )
        continue;
      if (
        path.length === 1 &&
        'field' in path[0] &&
        path[0].field === 'metadata' &&
        k !== 'f:labels' &&
        k !== 'f:annotations'
      )
        continue;
      let segment: PathSegment | undefined;
      if (k.startsWith('f:')) segment = { field: k.slice(2) };
      else if (k.startsWith('k:')) {
        const key = parseJson(k.slice(2));
        if (isMap(key)) segment = { key };
      } else if (k.startsWith('v:')) {
        // An item of a set list: added when the applied list lacks it.
        const value = parseJson(k.slice(2));
        const appliedList = valueAt(view, path);
        const liveList = valueAt(live, path);
        const has = (list: unknown) =>
          Array.isArray(list) &&
          value !== undefined &&
          list.some(i => JSON.stringify(i) === JSON.stringify(value));
        if (has(liveList) && !has(appliedList)) add(path, entry);
        continue;
      }
      if (!segment) {
        // Read in no form here (an item by position): the list it is in counts as set by this manager.
        add(path, entry);
        continue;
      }
      const at = [...path, segment];
      if (valueAt(live, at) === undefined) continue;
      const set = valueAt(view, at);
      if (set === undefined || set === null) add(at, entry);
      else walk(child, at, entry);
    }
  };
  for (const entry of managedFields ?? []) {
    if (!entry.manager || known.has(entry.manager)) continue;
    if (entry.subresource === 'status') continue;
    // managedFields times are whole seconds: a write in the second the run was reported is taken
    // as part of what it reported.
    if (
      options.since &&
      !(Date.parse(entry.time ?? '') > Date.parse(options.since))
    )
      continue;
    walk(entry.fieldsV1, [], entry);
  }
  // The outermost path only: a path under another reported one is part of it.
  const paths = [...found.values()];
  return paths.filter(
    p =>
      !paths.some(
        o =>
          o !== p &&
          o.segments.length < p.segments.length &&
          formatPath(p.segments.slice(0, o.segments.length)) ===
            formatPath(o.segments),
      ),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What a run's object sets, as the API server stores it: a Secret's `stringData` keys are `data` keys. */
function appliedView(applied: Record<string, any>): Record<string, any> {
  if (applied.kind !== 'Secret' || !isMap(applied.stringData)) return applied;
  return {
    ...applied,
    data: {
      ...(isMap(applied.data) ? applied.data : {}),
      ...applied.stringData,
    },
  };
}
