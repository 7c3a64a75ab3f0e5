const SUFFIXES: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** Parses a Kubernetes quantity (`500m`, `2`, `8Gi`, `1.5G`); NaN when it is not one. */
export function parseQuantity(value: string | undefined): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec((value ?? '').trim());
  if (!match) {
    return NaN;
  }
  const factor = match[2] ? SUFFIXES[match[2]] : 1;
  return factor === undefined ? NaN : Number(match[1]) * factor;
}

/** used / hard as a fraction, or undefined when either cannot be parsed or hard is 0. */
export function quotaFraction(
  used: string | undefined,
  hard: string | undefined,
): number | undefined {
  const u = parseQuantity(used ?? '0');
  const h = parseQuantity(hard);
  if (isNaN(u) || isNaN(h) || h === 0) {
    return undefined;
  }
  return u / h;
}
