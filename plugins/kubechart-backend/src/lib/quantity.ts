/**
 * Kubernetes resource quantities (`resource.Quantity`: `500m`, `1.5Gi`, `2e3`) as exact fractions,
 * for comparisons that must not round: a quota ceiling compares what a user asks for with what the
 * platform allows. Only the canonical grammar is accepted; anything else is undefined.
 */
export type Quantity = { numerator: bigint; denominator: bigint };

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

// <sign><digits>[.<digits>] then a binary or decimal SI suffix or a decimal exponent (Kubernetes'
// own grammar, k8s.io/apimachinery/pkg/api/resource). Bounded: no quantity is longer than this.
const QUANTITY =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d{1,3})|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;
const MAX_LENGTH = 64;

/** Parses a quantity exactly, or undefined when it is not one. */
export function parseQuantity(text: string): Quantity | undefined {
  if (text.length > MAX_LENGTH) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, number, exponent, suffix = ''] = m;
  const [whole, fraction = ''] = number.split('.');
  let numerator =
    BigInt(`${whole || '0'}${fraction}`) * (sign === '-' ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  if (BINARY[suffix]) {
    numerator *= BINARY[suffix];
  } else {
    const power = exponent ? Number(exponent.slice(1)) : DECIMAL[suffix];
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  return { numerator, denominator };
}

/** Negative, zero or positive as `a` is less than, equal to or more than `b`. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

/**
 * Maps whose values are resource quantities: container and PVC `resources.limits` / `requests`, a
 * ResourceQuota's `hard`, a LimitRange entry's `default`, `defaultRequest`, `max`, `min` and
 * `maxLimitRequestRatio`, a PersistentVolume's `capacity`.
 */
const QUANTITY_MAPS = new Set([
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

/**
 * Whether the scalar stored as `field` in the map `parent` (`cpu` and `limits` in `limits.cpu`) is
 * a resource quantity, which the API server stores in canonical form (`1000m` as `1`, `1024Mi` as
 * `1Gi`, `0.5` as `500m`). Any other string (a label, a ConfigMap value) is compared as written.
 */
export function isQuantityField(
  field: string | undefined,
  parent: string | undefined,
): boolean {
  if (parent !== undefined && QUANTITY_MAPS.has(parent)) return true;
  return field === 'sizeLimit' && parent === 'emptyDir';
}

/**
 * Whether two values are quantities that denote the same amount (`1000m` and `1`, `1024Mi` and
 * `1Gi`); false when either is not a quantity. Used where the server's canonical form must not
 * read as a change: drift, and the check before a write (KubeClient.ensure / applyIfChanged).
 */
export function sameQuantity(a: unknown, b: unknown): boolean {
  const text = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  const left = text(a);
  const right = text(b);
  if (left === undefined || right === undefined) return false;
  const x = parseQuantity(left);
  const y = parseQuantity(right);
  return !!x && !!y && compareQuantities(x, y) === 0;
}
