import yaml from 'js-yaml';

/**
 * YAML as helm and kubectl read manifests: YAML 1.1 as go-yaml v2 resolves it (`sigs.k8s.io/yaml`),
 * not js-yaml's default YAML 1.2. `yes`/`on`/`y` are `true`, `no`/`off`/`n` are `false`, `0644` is
 * octal, `0x1F` hexadecimal. A manifest read any other way is not the manifest helm applies: a
 * `hostNetwork: yes` would be the string "yes" to the policy and `true` to the cluster.
 */

const BOOL_TRUE = [
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
];
const BOOL_FALSE = [
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
];

const bool11 = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string) =>
    BOOL_TRUE.includes(data) || BOOL_FALSE.includes(data),
  construct: (data: string) => BOOL_TRUE.includes(data),
  predicate: (o: unknown) => typeof o === 'boolean',
  represent: (o: object) => (o ? 'true' : 'false'),
});

/**
 * go-yaml v2 reads a plain scalar that starts with a digit or a sign as Go's `strconv.ParseInt(s, 0, 64)`
 * does after dropping every `_`: decimal, `0x` hexadecimal, `0o` or leading-`0` octal, `0b` binary.
 */
const GO_INT =
  /^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** …and, when that fails, as a float when it matches go-yaml's `yamlStyleFloat`. */
const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** A scalar starting with `.` is a float when `strconv.ParseFloat` reads it. */
const GO_DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;
const SPECIAL_FLOATS: Record<string, number> = {
  '.nan': NaN,
  '.NaN': NaN,
  '.NAN': NaN,
  ...Object.fromEntries(
    ['.inf', '.Inf', '.INF'].flatMap(s => [
      [s, Infinity],
      [`+${s}`, Infinity],
      [`-${s}`, -Infinity],
    ]),
  ),
};

const startsNumeric = (data: string) => /^[-+0-9]/.test(data);
const withoutUnderscores = (data: string) => data.replace(/_/g, '');
const isGoInt = (data: string) =>
  startsNumeric(data) && GO_INT.test(withoutUnderscores(data));

function intValue(data: string): bigint {
  const plain = withoutUnderscores(data);
  const sign = plain.startsWith('-') ? -1n : 1n;
  const digits = plain.replace(/^[-+]/, '').toLowerCase();
  if (/^0[0-7]+$/.test(digits)) return sign * BigInt(`0o${digits.slice(1)}`);
  return sign * BigInt(digits); // BigInt reads 0x, 0o and 0b itself.
}

const int11 = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: isGoInt,
  construct: (data: string) => {
    const value = intValue(data);
    if (
      value > BigInt(Number.MAX_SAFE_INTEGER) ||
      value < BigInt(Number.MIN_SAFE_INTEGER)
    ) {
      // Refused rather than rounded: a rounded number is not the one helm sends.
      // (The message does not quote it: the value may be a secret.)
      throw new Error(
        `an integer of ${data.length} digits cannot be read without losing precision`,
      );
    }
    return Number(value);
  },
  predicate: (o: unknown) => typeof o === 'number' && Number.isInteger(o),
  represent: (o: object) => String(o),
});

const float11 = new yaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string) =>
    Object.prototype.hasOwnProperty.call(SPECIAL_FLOATS, data) ||
    (startsNumeric(data) && GO_FLOAT.test(withoutUnderscores(data))) ||
    GO_DOT_FLOAT.test(data),
  construct: (data: string) =>
    Object.prototype.hasOwnProperty.call(SPECIAL_FLOATS, data)
      ? SPECIAL_FLOATS[data]
      : Number(withoutUnderscores(data)),
  predicate: (o: unknown) => typeof o === 'number' && !Number.isInteger(o),
  represent: (o: object) => {
    const n = Number(o);
    if (Number.isNaN(n)) return '.nan';
    if (n === Infinity) return '.inf';
    if (n === -Infinity) return '-.inf';
    return String(n);
  },
});

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const builtin = (yaml as unknown as { types: Record<'null', yaml.Type> }).types;

/**
 * YAML 1.1 as go-yaml v2 reads it: null, booleans, integers (octal too), floats. Merge keys (`<<`) are
 * not resolved: go-yaml v2 lets a merge overwrite the keys written before it and js-yaml does not, so
 * a manifest with one is refused ({@link findMergeKey}).
 */
export const HELM_YAML_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [builtin.null, bool11, int11, float11],
});

/**
 * The path of the first `<<` key in a value read with {@link HELM_YAML_SCHEMA}, or undefined. Walks
 * each distinct object once (aliases are shared), so it costs no more than the parse.
 */
export function findMergeKey(value: unknown): string | undefined {
  const seen = new Set<object>();
  const stack: Array<{ v: unknown; at: string }> = [{ v: value, at: '' }];
  while (stack.length) {
    const { v, at } = stack.pop()!;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, at: `${at}[${i}]` }));
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === '<<') return at || '(top level)';
      stack.push({ v: x, at: at ? `${at}.${k}` : k });
    }
  }
  return undefined;
}
