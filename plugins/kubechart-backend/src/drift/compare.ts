import { REDACTED } from '@kubechart/plugin-kubechart-node';
import { compareQuantities, parseQuantity } from '../lib/quantity';

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

const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** Fields of a map under which values are resource quantities (`500m` equals `0.5`). */
const QUANTITY_PARENTS = new Set([
  'limits',
  'requests',
  'hard',
  'default',
  'defaultRequest',
  'max',
  'min',
  'maxLimitRequestRatio',
  'capacity',
]);
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
  (Array.isArray(v) && v.length === 0) ||
  (isMap(v) && Object.keys(v).length === 0);

function sameScalar(
  expected: unknown,
  actual: unknown,
  parent: string | undefined,
): boolean {
  if (expected === actual) return true;
  if (actual === undefined || actual === null || typeof actual === 'object')
    return false;
  // YAML `"8080"` against a stored 8080, `true` against "true": the server converts what the schema says.
  if (String(expected) === String(actual)) return true;
  if (parent && QUANTITY_PARENTS.has(parent)) {
    const a = parseQuantity(String(expected));
    const b = parseQuantity(String(actual));
    return !!a && !!b && compareQuantities(a, b) === 0;
  }
  return false;
}

/** Whether every field of `expected` is in `actual` with the same value (extra live fields are fine). */
function covers(expected: unknown, actual: unknown, parent?: string): boolean {
  if (expected === null || expected === undefined) return true;
  if (Array.isArray(expected)) {
    return Array.isArray(actual)
      ? expected.length === actual.length &&
          expected.every((e, i) => covers(e, actual[i], parent))
      : isEmpty(expected) && actual === undefined;
  }
  if (isMap(expected)) {
    if (actual === undefined) return isEmpty(expected);
    return (
      isMap(actual) &&
      Object.entries(expected).every(([k, v]) => covers(v, actual[k], k))
    );
  }
  return sameScalar(expected, actual, parent);
}

function keyOf(
  item: Record<string, unknown>,
  keys: string[],
): Record<string, unknown> {
  return Object.fromEntries(keys.map(k => [k, item[k] ?? KEY_DEFAULTS[k]]));
}

function sameKey(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): boolean {
  return Object.keys(a).every(k => String(a[k]) === String(b[k]));
}

/**
 * Compares the fields a run applied with the live object: only fields present in `applied` count,
 * so status, defaulted fields and fields other managers added do not. List-maps are matched by key.
 * Fields whose applied value was redacted in history are skipped: they cannot be compared.
 */
export function compareObject(
  applied: Record<string, any>,
  live: Record<string, any>,
): FieldDifference[] {
  const out: FieldDifference[] = [];
  const walk = (
    expected: unknown,
    actual: unknown,
    path: PathSegment[],
    field: string | undefined,
  ) => {
    if (expected === null || expected === undefined || isRedacted(expected))
      return;
    if (isMap(expected)) {
      if (actual === undefined && isEmpty(expected)) return;
      if (!isMap(actual)) {
        if (!containsRedacted(expected))
          out.push({ segments: path, expected, actual });
        return;
      }
      for (const [k, v] of Object.entries(expected))
        walk(v, actual[k], [...path, { field: k }], k);
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
        const liveItems = ((actual as unknown[]) ?? []).filter(isMap);
        for (const item of expected as Record<string, unknown>[]) {
          const keys = keysFor(item)!;
          const key = keyOf(item, keys);
          const match = liveItems.find(l => sameKey(key, keyOf(l, keys)));
          if (!match) {
            if (!containsRedacted(item))
              out.push({
                segments: [...path, { key }],
                expected: item,
                actual: undefined,
              });
            continue;
          }
          walk(item, match, [...path, { key: keyOf(match, keys) }], undefined);
        }
        return;
      }
      // An atomic list is one value: it differs as a whole.
      if (containsRedacted(expected)) return;
      if (!covers(expected, actual, field))
        out.push({ segments: path, expected, actual });
      return;
    }
    const parent = path[path.length - 2];
    if (
      !sameScalar(
        expected,
        actual,
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

/** The value at a path of an object (list-map items by key), or undefined. */
export function valueAt(obj: unknown, segments: PathSegment[]): unknown {
  let cur: unknown = obj;
  for (const seg of segments) {
    if ('field' in seg) {
      cur = isMap(cur) ? cur[seg.field] : undefined;
    } else {
      cur = Array.isArray(cur)
        ? cur.find(
            i => isMap(i) && sameKey(seg.key, keyOf(i, Object.keys(seg.key))),
          )
        : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}
