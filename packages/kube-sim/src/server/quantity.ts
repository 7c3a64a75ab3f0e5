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

/** resource.ErrFormatWrong, resource.ErrSuffix and resource.ErrNumeric: why Go's ParseQuantity refuses a text. */
const ERR_FORMAT_WRONG =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const ERR_SUFFIX = "unable to parse quantity's suffix";

/** The parts of a quantity's text, as Go's parseQuantityString splits it (leading zeros stripped). */
interface QuantityText {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

const isDigit = (c: string | undefined) =>
  c !== undefined && c >= '0' && c <= '9';

/** Go's parseQuantityString: the text's sign, whole digits, fraction digits and suffix; an error text when malformed. */
function splitQuantity(str: string): QuantityText | string {
  let pos = 0;
  const end = str.length;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  const num = str.slice(pos, i) || '0';
  pos = i;
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    pos = i;
  }
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos])) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) return ERR_FORMAT_WRONG;
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

const GO_DECIMAL_SUFFIX: Record<string, number> = {
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
const GO_BINARY_SUFFIX: Record<string, number> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

/** quantitySuffixer.interpret: the base, exponent and format a suffix stands for; undefined when it is none. */
function interpretSuffix(
  suffix: string,
):
  | { base: 10 | 2; exponent: number; format: ExactQuantity['format'] }
  | undefined {
  if (suffix in GO_DECIMAL_SUFFIX)
    return {
      base: 10,
      exponent: GO_DECIMAL_SUFFIX[suffix],
      format: 'DecimalSI',
    };
  if (suffix in GO_BINARY_SUFFIX)
    return { base: 2, exponent: GO_BINARY_SUFFIX[suffix], format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    if (!/^[+-]?\d+$/.test(suffix.slice(1))) return undefined;
    return {
      base: 10,
      exponent: Number(suffix.slice(1)),
      format: 'DecimalExponent',
    };
  }
  return undefined;
}

/**
 * Why the API server's decoder refuses a value of a `resource.Quantity` field (Quantity.UnmarshalJSON: a JSON string
 * or number, trimmed, parsed by ParseQuantity), or undefined when it takes it. `null` is a zero quantity.
 */
export function quantityDecodeError(v: unknown): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') return ERR_FORMAT_WRONG;
  const str = String(v).trim();
  if (str.length === 0) return ERR_FORMAT_WRONG;
  if (str === '0') return undefined;
  const parts = splitQuantity(str);
  if (typeof parts === 'string') return parts;
  return interpretSuffix(parts.suffix) ? undefined : ERR_SUFFIX;
}

const MAX_INT64 = (1n << 63n) - 1n;

/** What Go's ParseQuantity holds for a text the decoder took: its int64 amount, or an inf.Dec; `s` is the text kept. */
interface GoQuantity {
  value: bigint;
  scale: number;
  dec: boolean;
  s: string;
  format: string;
}

function goParsed(text: unknown): GoQuantity {
  const str = String(text ?? '').trim();
  if (str === '0')
    return { value: 0n, scale: 0, dec: false, s: '0', format: 'DecimalSI' };
  const parts = splitQuantity(str);
  const suffix =
    typeof parts === 'string' ? undefined : interpretSuffix(parts.suffix);
  if (typeof parts === 'string' || !suffix)
    return { value: 0n, scale: 0, dec: false, s: '', format: '' };
  const { positive, num, denom } = parts;
  const { base, exponent, format } = suffix;
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (base === 10) {
    scale = exponent;
    precision = 18 - (num.length + denom.length);
  } else if (exponent >= 0 && denom.length === 0) {
    mantissa = 1n << BigInt(exponent);
    precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= -9) {
      const shifted = num + denom;
      const value = BigInt(shifted);
      const product = value * mantissa;
      if (product <= MAX_INT64) {
        // The text is kept when it is already canonical.
        const reused =
          format === 'BinarySI'
            ? exponent % 10 === 0 && (value & 7n) !== 0n
            : scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return {
          value: positive ? product : -product,
          scale,
          dec: false,
          s: reused ? str : '',
          format,
        };
      }
    }
  }
  return { value: 0n, scale: 0, dec: true, s: '', format };
}

/** Quantity.String() of a quantity the decoder parsed from `text`: the text it kept, else its canonical form. */
export function goQuantityString(text: unknown): string {
  const parsed = goParsed(text);
  if (parsed.s) return parsed.s;
  const q = parseExactQuantity(String(text ?? '').trim());
  return q ? canonicalQuantity(q) : '0';
}

/**
 * Go's `%#v` of a quantity the decoder parsed from `text` (what a validation error quotes as the invalid value):
 * `resource.Quantity{i:resource.int64Amount{value:2, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"2",
 * Format:"DecimalSI"}`. ParseQuantity keeps the text as `s` only when it is already canonical; `stringCalled` is
 * for a quantity whose String() ran first (it caches the canonical text in `s`). A value ParseQuantity holds as an
 * inf.Dec (more than 18 digits, finer than 1n, a binary fraction) shows a pointer, whose address differs each time.
 */
export function goQuantity(text: unknown, stringCalled = false): string {
  const q = goParsed(text);
  const s = stringCalled ? goQuantityString(text) : q.s;
  return `resource.Quantity{i:resource.int64Amount{value:${q.value}, scale:${
    q.scale
  }}, d:resource.infDecAmount{Dec:(*inf.Dec)(${
    q.dec ? '0xc000a1c000' : 'nil'
  })}, s:${JSON.stringify(s)}, Format:${JSON.stringify(q.format)}}`;
}
