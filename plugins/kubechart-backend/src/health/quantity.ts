/** Parses a Kubernetes CPU quantity into cores. */
export function parseCpu(q: string | undefined): number {
  if (!q) return 0;
  const s = String(q);
  if (s.endsWith('n')) return Number(s.slice(0, -1)) / 1e9;
  if (s.endsWith('u')) return Number(s.slice(0, -1)) / 1e6;
  if (s.endsWith('m')) return Number(s.slice(0, -1)) / 1000;
  return Number(s) || 0;
}

const BIN: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DEC: Record<string, number> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  m: 1e-3,
};

/** Parses a Kubernetes memory quantity into bytes. */
export function parseMemory(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([0-9.eE+-]+)([A-Za-z]*)$/.exec(String(q));
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = m[2];
  if (!unit) return n;
  return n * (BIN[unit] ?? DEC[unit] ?? 1);
}

const DECIMAL_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  ...DEC,
};

/**
 * Parses any Kubernetes quantity (`2`, `500m`, `1.5Gi`, `1e3`, `100n`) into a number of its unit;
 * undefined when it is not one (said, not taken as 0).
 */
export function parseQuantity(q: string | undefined): number | undefined {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([A-Za-z]*))$/.exec(
    String(q ?? '').trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const factor = BIN[m[3]] ?? DECIMAL_SUFFIX[m[3]];
  return factor === undefined ? undefined : n * factor;
}
