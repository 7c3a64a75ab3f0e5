import { REDACTED } from '@kubechart/plugin-kubechart-node';
import { isQuantityField, sameQuantity } from '../lib/quantity';

/** One step of a field path: a map field, or the item of a list keyed by some of its fields. */
export type PathSegment = { field: string } | { key: Record<string, unknown> };

/** A field the live object no longer has as applied. */
export type FieldDifference = {
  segments: PathSegment[];
  expected: unknown;
  actual: unknown;
};

/**
 * Keys of the list-maps (`x-kubernetes-list-type: map`) a manifest commonly sets, by field name.
 * Items of these lists are matched by key, as the API server merges them, never by position.
 * A missing `protocol` means TCP, as the API server defaults it.
 */
const LIST_MAP_KEYS: Record<
  string,
  (item: Record<string, unknown>) => string[] | undefined
> = {
  containers: () => ['name'],
  initContainers: () => ['name'],
  ephemeralContainers: () => ['name'],
  env: () => ['name'],
  volumes: () => ['name'],
  volumeMounts: () => ['mountPath'],
  volumeDevices: () => ['devicePath'],
  imagePullSecrets: () => ['name'],
  hostAliases: () => ['ip'],
  resourceClaims: () => ['name'],
  readinessGates: () => ['conditionType'],
  topologySpreadConstraints: () => ['topologyKey', 'whenUnsatisfiable'],
  ports: portKeys,
};

/** Container ports are keyed by containerPort, Service ports by port; both with the protocol. */
function portKeys(item: Record<string, unknown>): string[] | undefined {
  if ('containerPort' in item) return ['containerPort', 'protocol'];
  if ('port' in item) return ['port', 'protocol'];
  return undefined;
}

const KEY_DEFAULTS: Record<string, unknown> = {
  protocol: 'TCP',
  // A RoleBinding's User or Group subject, and its roleRef: the group RBAC defaults them to.
  apiGroup: 'rbac.authorization.k8s.io',
};

/**
 * Maps of strings whose entries the API server keeps whatever their value: an applied `key: ""`
 * missing from the live map was removed (a selector's `canary: ""` gone selects more pods), not
 * left out as an empty field of a struct is.
 */
const STRING_MAPS = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'selector',
  'nodeSelector',
  'data',
  'binaryData',
]);

/**
 * Fields the API server keeps when applied as `{}` (a pointer to an empty struct): one missing
 * from the live object was replaced (a volume's `emptyDir: {}` now another source).
 */
const KEPT_EMPTY = new Set(['emptyDir']);

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** A value the stored manifest does not hold (redacted there), so it cannot be compared. */
function isRedacted(v: unknown): boolean {
  return typeof v === 'string' && v.includes(REDACTED);
}

function containsRedacted(v: unknown): boolean {
  if (isRedacted(v)) return true;
  if (Array.isArray(v)) return v.some(containsRedacted);
  if (isMap(v)) return Object.values(v).some(containsRedacted);
  return false;
}

/** An applied empty value (`{}`, `[]`, `""`) that the API server omits when it stores the object. */
const isEmpty = (v: unknown) =>
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (isMap(v) && Object.keys(v).length === 0);

/**
 * Whether an applied scalar is stored as `actual`. `field` is the name the scalar is stored under,
 * `parent` the name of the map that holds it (`cpu` and `limits` in `limits.cpu`).
 */
function sameScalar(
  expected: unknown,
  actual: unknown,
  field: string | undefined,
  parent: string | undefined,
): boolean {
  if (expected === actual) return true;
  if (actual === undefined)
    return isEmpty(expected) && !(parent && STRING_MAPS.has(parent));
  if (actual === null || typeof actual === 'object') return false;
  // YAML `"8080"` against a stored 8080, `true` against "true": the server converts what the schema says.
  if (String(expected) === String(actual)) return true;
  // `500m` equals `0.5`, `emptyDir.sizeLimit: 1024Mi` equals `1Gi`: the server stores quantities canonically.
  return isQuantityField(field, parent) && sameQuantity(expected, actual);
}

/**
 * Whether every field of `expected` is in `actual` with the same value (extra live fields are fine).
 * `field` is the name `expected` is stored under, `parent` the name of the map holding it.
 */
function covers(
  expected: unknown,
  actual: unknown,
  field?: string,
  parent?: string,
): boolean {
  if (expected === null || expected === undefined) return true;
  if (Array.isArray(expected)) {
    return Array.isArray(actual)
      ? expected.length === actual.length &&
          expected.every((e, i) => covers(e, actual[i], field, parent))
      : isEmpty(expected) && actual === undefined;
  }
  if (isMap(expected)) {
    if (actual === undefined) return isEmpty(expected);
    return (
      isMap(actual) &&
      Object.entries(expected).every(([k, v]) => covers(v, actual[k], k, field))
    );
  }
  return sameScalar(expected, actual, field, parent);
}

const isScalar = (v: unknown) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Whether the live list `actual` holds as many items as the applied list of scalars `expected`,
 * each the same as the applied one at its place but where that one holds a redacted value (stored
 * so, it cannot be compared: whatever the live item there is, it is not known to differ).
 */
function sameScalarsBut(
  expected: unknown[],
  actual: unknown,
  field: string | undefined,
  parent: string | undefined,
): boolean {
  return (
    Array.isArray(actual) &&
    expected.length === actual.length &&
    expected.every(
      (e, i) => isRedacted(e) || sameScalar(e, actual[i], field, parent),
    )
  );
}

/**
 * Label selectors: what they select changes with any key added or removed, so they are compared
 * exactly (an applied `podSelector: {}` selects every pod, a live `{matchLabels: …}` only some).
 * The API server adds nothing to them.
 */
const SELECTOR_FIELDS = new Set([
  'selector',
  'podSelector',
  'namespaceSelector',
  'labelSelector',
  'matchLabels',
  'matchExpressions',
]);

/** Whether the value at `path` of an object of `kind` is compared exactly (see {@link exactly}). */
function comparedExactly(
  kind: unknown,
  path: PathSegment[],
  field: string | undefined,
): boolean {
  if (field && SELECTOR_FIELDS.has(field)) return true;
  const [first] = path;
  // RBAC: a subject's added namespace, a rule's added verb or resource grants more.
  if (
    path.length === 1 &&
    ((field === 'subjects' &&
      (kind === 'RoleBinding' || kind === 'ClusterRoleBinding')) ||
      (field === 'rules' && (kind === 'Role' || kind === 'ClusterRole')))
  )
    return true;
  // A NetworkPolicy's rules: an added peer (`ipBlock: 0.0.0.0/0`), port or selector widens them.
  return (
    kind === 'NetworkPolicy' &&
    path.length === 2 &&
    !!first &&
    'field' in first &&
    first.field === 'spec' &&
    (field === 'ingress' || field === 'egress')
  );
}

/**
 * Whether `actual` is `expected` as the API server stores it, with nothing added: only a list-map key
 * the server defaults (`protocol: TCP` of a port) may be there when not applied; applied empty values
 * may be absent. Lists are compared item by item, in order.
 */
function exactly(
  expected: unknown,
  actual: unknown,
  field?: string,
  parent?: string,
): boolean {
  if (expected === null || expected === undefined)
    return actual === null || actual === undefined;
  if (Array.isArray(expected)) {
    if (actual === undefined) return isEmpty(expected);
    return (
      Array.isArray(actual) &&
      expected.length === actual.length &&
      expected.every((e, i) => exactly(e, actual[i], field, parent))
    );
  }
  if (isMap(expected)) {
    if (actual === undefined) return isEmpty(expected);
    if (!isMap(actual)) return false;
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...keys].every(k =>
      expected[k] === undefined || expected[k] === null
        ? actual[k] === undefined ||
          actual[k] === null ||
          (k in KEY_DEFAULTS && actual[k] === KEY_DEFAULTS[k])
        : exactly(expected[k], actual[k], k, field),
    );
  }
  return sameScalar(expected, actual, field, parent);
}

function keyOf(
  item: Record<string, unknown>,
  keys: string[],
): Record<string, unknown> {
  return Object.fromEntries(keys.map(k => [k, item[k] ?? KEY_DEFAULTS[k]]));
}

/**
 * One string for a list item's key: the same for keys that name the same item (`8080` and "8080",
 * fields in any order), so list items are matched through a Map rather than by scanning the list.
 */
export function canonicalKey(key: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map(k => [k, String(key[k])]),
  );
}

/** The items of a list by the canonical string of their key (several when the list repeats a key). */
function indexItems(
  items: unknown[],
  keys: string[],
): Map<string, Record<string, unknown>[]> {
  const index = new Map<string, Record<string, unknown>[]>();
  for (const item of items) {
    if (!isMap(item)) continue;
    const k = canonicalKey(keyOf(item, keys));
    const same = index.get(k);
    if (same) same.push(item);
    else index.set(k, [item]);
  }
  return index;
}

/**
 * The paths of the redacted values under `value` (at `path`) when every value it holds is redacted
 * and it holds no list (a Secret's `stringData`); else `path` itself, the part left uncompared.
 */
function redactedPaths(value: unknown, path: PathSegment[]): PathSegment[][] {
  const leaves: PathSegment[][] = [];
  const collect = (v: unknown, at: PathSegment[]): boolean => {
    if (v === null || v === undefined) return true;
    if (isRedacted(v)) {
      leaves.push(at);
      return true;
    }
    if (isMap(v))
      return Object.entries(v).every(([k, child]) =>
        collect(child, [...at, { field: k }]),
      );
    return false;
  };
  return collect(value, path) && leaves.length ? leaves : [path];
}

/**
 * Compares the fields a run applied with the live object: only fields present in `applied` count,
 * so status and defaulted fields do not (fields other managers added are found from the live
 * object's field ownership: see `addedFields`). List-maps are matched by key. Label selectors and a
 * NetworkPolicy's `ingress`/`egress` rules are compared exactly: a key or peer the live object adds
 * is a difference.
 * Fields whose applied value was redacted in history cannot be compared when the live object has
 * them: they are skipped, and their paths added to `notCompared`, when given (a part of the object
 * skipped as a whole because it holds such a value, e.g. an atomic list of maps, is one path). A
 * list of scalars holding such a value (a container's args) is compared item by item but for the
 * items holding one: a different length or another item is a difference, shown by {@link shownLive};
 * else the list is named in `notCompared`. Such a field
 * the live map lacks, or a list-map item holding one that the live list lacks, is a difference whose
 * `expected` is the stored, redacted value. A map the live object lacks as a whole (a Secret's
 * `stringData`, never returned by the API server) is skipped.
 */
export function compareObject(
  applied: Record<string, any>,
  live: Record<string, any>,
  notCompared?: PathSegment[][],
): FieldDifference[] {
  const out: FieldDifference[] = [];
  const skip = (paths: PathSegment[][]) => notCompared?.push(...paths);
  const walk = (
    expected: unknown,
    actual: unknown,
    path: PathSegment[],
    field: string | undefined,
  ) => {
    if (expected === null || expected === undefined) return;
    if (isRedacted(expected)) {
      skip([path]);
      return;
    }
    if (
      (isMap(expected) || Array.isArray(expected)) &&
      comparedExactly(applied.kind, path, field)
    ) {
      // Compared whole: a part holding a redacted value cannot be.
      if (containsRedacted(expected)) skip([path]);
      else if (!exactly(expected, actual, field))
        out.push({ segments: path, expected, actual });
      return;
    }
    if (isMap(expected)) {
      if (actual === undefined && isEmpty(expected) && !KEPT_EMPTY.has(field!))
        return;
      if (!isMap(actual)) {
        if (!containsRedacted(expected))
          out.push({ segments: path, expected, actual });
        else skip(redactedPaths(expected, path));
        return;
      }
      for (const [k, v] of Object.entries(expected)) {
        // A field the live map lacks was removed, whatever it held: the stored (redacted) value is
        // what is shown of it. Only a map the live object lacks as a whole is not compared (a
        // Secret's stringData, which the API server stores as data).
        if (isRedacted(v) && actual[k] === undefined)
          out.push({
            segments: [...path, { field: k }],
            expected: v,
            actual: undefined,
          });
        else walk(v, actual[k], [...path, { field: k }], k);
      }
      return;
    }
    if (Array.isArray(expected)) {
      const keysFor = field ? LIST_MAP_KEYS[field] : undefined;
      const keyed =
        keysFor &&
        expected.every(
          i => isMap(i) && keysFor(i)?.every(k => k in i || k in KEY_DEFAULTS),
        );
      if (keyed && (actual === undefined || Array.isArray(actual))) {
        // Both lists indexed once by key: a list of thousands of env entries costs thousands of steps.
        const appliedItems = expected as Record<string, unknown>[];
        const liveItems = (actual as unknown[] | undefined) ?? [];
        const liveByKey = new Map<string, Record<string, unknown>[]>();
        const appliedByKey = new Map<string, Record<string, unknown>[]>();
        for (const item of appliedItems) {
          const keys = keysFor(item)!;
          const k = canonicalKey(keyOf(item, keys));
          if (appliedByKey.has(k)) {
            appliedByKey.get(k)!.push(item);
            continue;
          }
          appliedByKey.set(k, [item]);
          liveByKey.set(k, []);
        }
        for (const item of liveItems) {
          if (!isMap(item)) continue;
          const keys = keysFor(item);
          if (!keys) continue;
          liveByKey.get(canonicalKey(keyOf(item, keys)))?.push(item);
        }
        for (const [k, items] of appliedByKey) {
          const keys = keysFor(items[0])!;
          const key = keyOf(items[0], keys);
          const matches = liveByKey.get(k)!;
          // An item the live list lacks is missing whatever it held (its redacted values as stored).
          if (matches.length === 0) {
            out.push({
              segments: [...path, { key }],
              expected: items.length === 1 ? items[0] : items,
              actual: undefined,
            });
            continue;
          }
          // The API server keeps items that repeat a key, and which one takes effect depends on the
          // field (the last env entry of a name wins). Items applied once and found more often (or
          // the other way round) are a change whichever counts: the repeated items are the drift.
          if (matches.length !== items.length) {
            const segments = [...path, { key }];
            const shownExpected = items.length === 1 ? items[0] : items;
            out.push({
              segments,
              expected: shownExpected,
              actual: shownLive(
                shownExpected,
                matches.length === 1 ? matches[0] : matches,
                segments,
              ),
            });
            continue;
          }
          items.forEach((item, i) =>
            walk(
              item,
              matches[i],
              [...path, { key: keyOf(matches[i], keys) }],
              undefined,
            ),
          );
        }
        return;
      }
      const parent = path[path.length - 2];
      const parentField =
        parent && 'field' in parent ? parent.field : undefined;
      // An atomic list is one value: it differs as a whole.
      if (containsRedacted(expected)) {
        // A list of scalars (a container's args, stored `["--db-password", "***", …]`) is compared
        // item by item: the items holding a redacted value are not compared, every other item is.
        if (
          expected.every(isScalar) &&
          !sameScalarsBut(expected, actual, field, parentField)
        )
          out.push({
            segments: path,
            expected,
            actual: shownLive(expected, actual, path),
          });
        else skip([path]);
        return;
      }
      if (!covers(expected, actual, field, parentField))
        out.push({ segments: path, expected, actual });
      return;
    }
    const parent = path[path.length - 2];
    if (
      !sameScalar(
        expected,
        actual,
        field,
        parent && 'field' in parent ? parent.field : undefined,
      )
    )
      out.push({ segments: path, expected, actual });
  };
  for (const [k, v] of Object.entries(applied)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      // Identity fields select the object; only labels and annotations are its content.
      for (const m of ['labels', 'annotations']) {
        if (isMap(v?.[m]))
          walk(
            v[m],
            live.metadata?.[m],
            [{ field: 'metadata' }, { field: m }],
            m,
          );
      }
      continue;
    }
    walk(v, live[k], [{ field: k }], k);
  }
  return out;
}

const PLAIN = /^[A-Za-z_$][\w$-]*$/;

/** `spec.template.spec.containers[name=web].env[name=MODE].value`, `metadata.labels["app.kubernetes.io/name"]`. */
export function formatPath(segments: PathSegment[]): string {
  let s = '';
  for (const seg of segments) {
    if ('field' in seg) {
      s += PLAIN.test(seg.field)
        ? `${s ? '.' : ''}${seg.field}`
        : `[${JSON.stringify(seg.field)}]`;
    } else {
      s += `[${Object.entries(seg.key)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',')}]`;
    }
  }
  return s;
}

/**
 * What is shown of the live value `actual` of a difference at `segments` whose applied value is
 * `expected`. When `expected` holds a value stored redacted (a secret), the live counterpart holds
 * that secret, or what replaced it: every string in it is shown as `***`, but for the key of the
 * list item the path names (`name: ADMIN_PW`, already in the path). Otherwise `actual` as it is.
 */
export function shownLive(
  expected: unknown,
  actual: unknown,
  segments: PathSegment[],
): unknown {
  if (actual === undefined || !containsRedacted(expected)) return actual;
  const last = segments[segments.length - 1];
  const key: Record<string, unknown> = last && 'key' in last ? last.key : {};
  const hide = (v: unknown): unknown => {
    if (typeof v === 'string') return REDACTED;
    if (Array.isArray(v)) return v.map(hide);
    if (isMap(v))
      return Object.fromEntries(
        Object.entries(v).map(([k, c]) => [k, hide(c)]),
      );
    return v;
  };
  // The items the path names keep their key fields; everything else is hidden.
  const item = (v: unknown): unknown =>
    isMap(v)
      ? Object.fromEntries(
          Object.entries(v).map(([k, c]) => [
            k,
            k in key && typeof c === 'string' && c === String(key[k])
              ? c
              : hide(c),
          ]),
        )
      : hide(v);
  return Array.isArray(actual) && 'key' in (last ?? {})
    ? actual.map(item)
    : item(actual);
}

/** Indexes of lists by key, built once per list and key fields: many paths are looked up in one object. */
const listIndexes = new WeakMap<
  unknown[],
  Map<string, Map<string, Record<string, unknown>[]>>
>();

/**
 * The value at a path of an object (list-map items by key), or undefined. An item whose key the
 * list repeats is all of those items, a list.
 */
export function valueAt(obj: unknown, segments: PathSegment[]): unknown {
  let cur: unknown = obj;
  for (const seg of segments) {
    if ('field' in seg) {
      cur = isMap(cur) ? cur[seg.field] : undefined;
    } else if (Array.isArray(cur)) {
      const keys = Object.keys(seg.key);
      let byKeys = listIndexes.get(cur);
      if (!byKeys) {
        byKeys = new Map();
        listIndexes.set(cur, byKeys);
      }
      let index = byKeys.get(keys.join('\u0000'));
      if (!index) {
        index = indexItems(cur, keys);
        byKeys.set(keys.join('\u0000'), index);
      }
      const found = index.get(canonicalKey(seg.key)) ?? [];
      cur = found.length > 1 ? found : found[0];
    } else {
      cur = undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}
