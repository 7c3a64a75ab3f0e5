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
