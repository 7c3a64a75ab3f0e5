const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a Kubernetes quantity ("250m", "1.5", "128Mi", "1e3"); NaN when malformed. */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = q.trim().match(/^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/);
  if (!m || !(m[2] in SUFFIX)) return NaN;
  return parseFloat(m[1]) * SUFFIX[m[2]];
}

/** Formats a CPU amount in cores the way the API does: whole cores or millicores. */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Formats bytes with the largest binary suffix that divides them. */
export function formatBytes(bytes: number): string {
  const b = Math.round(bytes);
  for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    if (b !== 0 && b % SUFFIX[s] === 0) return `${b / SUFFIX[s]}${s}`;
  }
  return String(b);
}

export function formatQuantity(resource: string, value: number): string {
  if (resource.includes('cpu')) return formatCpu(value);
  if (resource.includes('memory') || resource.includes('storage'))
    return formatBytes(value);
  return String(Math.round(value));
}

/**
 * A quantity as the API server holds it: an exact amount (in nano units, rounded up as Go's resource.Quantity
 * rounds anything finer than 1n) and the notation it was written in, which its canonical form keeps.
 */
export interface ExactQuantity {
  nanos: bigint;
  format: 'DecimalSI' | 'BinarySI' | 'DecimalExponent';
}

const DECIMAL_EXPONENT: Record<string, number> = {
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
const BINARY_POWER: Record<string, number> = {
  Ki: 1,
  Mi: 2,
  Gi: 3,
  Ti: 4,
  Pi: 5,
  Ei: 6,
};
const NANO = 10n ** 9n;

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n === b > 0n ? q + 1n : q;
}

/** Parses a quantity exactly (resource.ParseQuantity); undefined when malformed. */
export function parseExactQuantity(q: unknown): ExactQuantity | undefined {
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) return undefined;
    return parseExactQuantity(String(q));
  }
  if (typeof q !== 'string') return undefined;
  const m = q.match(/^([+-]?)(\d*)(?:\.(\d*))?(.*)$/);
  if (!m || (!m[2] && !m[3])) return undefined;
  const [, sign, whole, fraction = '', suffix] = m;
  let format: ExactQuantity['format'];
  let exponent10 = 0;
  let power1024 = 0;
  if (suffix in DECIMAL_EXPONENT) {
    format = 'DecimalSI';
    exponent10 = DECIMAL_EXPONENT[suffix];
  } else if (suffix in BINARY_POWER) {
    format = 'BinarySI';
    power1024 = BINARY_POWER[suffix];
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    format = 'DecimalExponent';
    exponent10 = Number(suffix.slice(1));
  } else {
    return undefined;
  }
  // value = digits × 10^(exponent10 - fraction digits) × 1024^power, in nanos (× 10^9).
  let numerator =
    BigInt(`${whole}${fraction}` || '0') * 1024n ** BigInt(power1024);
  const scale = exponent10 - fraction.length + 9;
  const nanos =
    scale >= 0
      ? numerator * 10n ** BigInt(scale)
      : ceilDiv(numerator, 10n ** BigInt(-scale));
  numerator = sign === '-' ? -nanos : nanos;
  return { nanos: numerator, format };
}

/** The quantity's canonical text, as resource.Quantity.String() writes it ("2000m" is "2", "1024Mi" is "1Gi"). */
export function canonicalQuantity(q: ExactQuantity): string {
  if (q.nanos === 0n) return '0';
  const negative = q.nanos < 0n;
  const abs = negative ? -q.nanos : q.nanos;
  const sign = negative ? '-' : '';
  if (q.format === 'BinarySI' && abs >= 1024n * NANO && abs % NANO === 0n) {
    let units = abs / NANO;
    let power = 0;
    while (power < 6 && units % 1024n === 0n) {
      units /= 1024n;
      power++;
    }
    const suffix = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][power];
    return `${sign}${units}${suffix}`;
  }
  // Decimal: the mantissa without trailing zeros, its exponent lowered to a multiple of 3.
  let mantissa = abs;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const extra = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(extra);
  exponent -= extra;
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  if (q.format === 'DecimalExponent') {
    return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  }
  const suffix = Object.entries(DECIMAL_EXPONENT).find(
    ([, e]) => e === exponent,
  )![0];
  return `${sign}${mantissa}${suffix}`;
}

/** Value() of a quantity: whole units, rounded up. */
export function quantityValue(q: ExactQuantity): bigint {
  return ceilDiv(q.nanos, NANO);
}

/** MilliValue() of a quantity: thousandths, rounded up. */
export function quantityMilliValue(q: ExactQuantity): bigint {
  return ceilDiv(q.nanos, 10n ** 6n);
}
