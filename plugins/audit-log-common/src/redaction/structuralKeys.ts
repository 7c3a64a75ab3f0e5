/*
 * Where a Kubernetes object names a label, a taint or a key of a ConfigMap's or Secret's data in a
 * field named like a secret (`key`, `topologyKey`): a toleration's `key`, a selector requirement's,
 * a key reference's, a projected item's. A name, not a secret: a change that shows it hidden hides
 * its dangerous part (which taint a pod now tolerates), and a record that hides what was shown
 * does not say which change was confirmed. The rule of objects ({@link keepStructuralKeys}) and
 * that of JSON text (`structuralKeyReader`, read by the text rules) are the same table.
 */
import { isSecretKey } from './names';

/**
 * A label or taint key (`kubernetes.io/hostname`, `dedicated`): an optional DNS subdomain and `/`,
 * then a name; also a field of `matchFields` (`metadata.name`).
 */
const LABEL_KEY =
  /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A toleration's key: a label key, or empty (with `Exists`, every taint). */
const TAINT_KEY = new RegExp(`${LABEL_KEY.source}|^$`);
/** A key of a ConfigMap's or Secret's data, or an object's name. */
const DATA_KEY = /^[-._A-Za-z0-9]{1,253}$/;
/** A list of label keys (`matchLabelKeys: ["pod-template-hash"]`). */
const LABEL_KEYS = 'label keys';

type Shown = RegExp | typeof LABEL_KEYS;

/**
 * A Kubernetes structure whose fields named like a secret (`key`, `topologyKey`) name a label, a
 * taint or a data key: whether it is each item of a list held by its field (`tolerations`), the
 * fields it may hold (any other, and it is not one), those of which it holds at least one, the
 * fields to show with what each must hold, and the fields the mapping around it must be the value
 * of, when only there Kubernetes reads it (`valueFrom.secretKeyRef`).
 */
type KeyStructure = {
  each: boolean;
  fields: ReadonlySet<string>;
  needs: string[];
  shown: Record<string, Shown>;
  within?: ReadonlySet<string>;
};
const structure = (
  each: boolean,
  fields: string[],
  needs: string[],
  shown: KeyStructure['shown'],
  within?: string[],
): KeyStructure => ({
  each,
  fields: new Set(fields),
  needs,
  shown,
  ...(within ? { within: new Set(within) } : {}),
});
const REQUIREMENT = structure(
  true,
  ['key', 'operator', 'values'],
  ['operator'],
  { key: LABEL_KEY },
);
// An env entry's `valueFrom`: a field of this name elsewhere is no reference (see `keepKubeReferences`).
const KEY_REF = structure(
  false,
  ['name', 'key', 'optional'],
  ['name'],
  { name: DATA_KEY, key: DATA_KEY },
  ['valueFrom'],
);
const AFFINITY_TERM_FIELDS = [
  'labelSelector',
  'namespaceSelector',
  'namespaces',
  'topologyKey',
  'matchLabelKeys',
  'mismatchLabelKeys',
];
const AFFINITY_TERM_SHOWN = {
  topologyKey: LABEL_KEY,
  matchLabelKeys: LABEL_KEYS,
  mismatchLabelKeys: LABEL_KEYS,
} as const;
/** By the field that holds them (`core/v1` PodSpec and the selectors of every kind). */
const KEY_STRUCTURES: Record<string, KeyStructure> = {
  tolerations: structure(
    true,
    ['key', 'operator', 'value', 'effect', 'tolerationSeconds'],
    ['operator', 'effect'],
    { key: TAINT_KEY },
  ),
  matchExpressions: REQUIREMENT,
  matchFields: REQUIREMENT,
  // A ConfigMap volume's or projection's (a Secret's, below a secret-looking field, stays hidden).
  items: structure(true, ['key', 'path', 'mode'], ['path'], { key: DATA_KEY }, [
    'configMap',
  ]),
  configMapKeyRef: KEY_REF,
  secretKeyRef: KEY_REF,
  topologySpreadConstraints: structure(
    true,
    [
      'maxSkew',
      'topologyKey',
      'whenUnsatisfiable',
      'labelSelector',
      'minDomains',
      'nodeAffinityPolicy',
      'nodeTaintsPolicy',
      'matchLabelKeys',
    ],
    ['topologyKey'],
    { topologyKey: LABEL_KEY, matchLabelKeys: LABEL_KEYS },
  ),
  podAffinityTerm: structure(
    false,
    AFFINITY_TERM_FIELDS,
    ['topologyKey'],
    AFFINITY_TERM_SHOWN,
  ),
  // A pod (anti-)affinity's required terms; a node affinity's is a mapping, no list.
  requiredDuringSchedulingIgnoredDuringExecution: structure(
    true,
    AFFINITY_TERM_FIELDS,
    ['topologyKey'],
    AFFINITY_TERM_SHOWN,
  ),
};

const hasOwn = (obj: object, key: string) =>
  Object.prototype.hasOwnProperty.call(obj, key);

/** The structure `field` holds, if any. */
const structureOf = (field: string | undefined) =>
  field !== undefined && hasOwn(KEY_STRUCTURES, field)
    ? KEY_STRUCTURES[field]
    : undefined;

/** Whether a key above a structure hides all below it: it names a secret, and holds no structure. */
const hidesBelow = (key: string) => isSecretKey(key) && !structureOf(key);

/** Whether `fields` (a mapping's) are a structure's alone, with at least one it needs. */
function holdsStructure(
  fields: ReadonlyArray<string> | ReadonlySet<string>,
  s: KeyStructure,
): boolean {
  const all = [...fields];
  return all.every(f => s.fields.has(f)) && s.needs.some(f => all.includes(f));
}

type JsonMap = Record<string, unknown>;
const isJsonMap = (v: unknown): v is JsonMap =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Whether `value` is what a structure's field to show must hold, and what `shows` leaves as it is
 * (nothing the caller's text rules hide).
 */
function showable(
  value: unknown,
  what: Shown,
  shows: (text: string) => boolean,
): boolean {
  if (what === LABEL_KEYS)
    return (
      Array.isArray(value) &&
      value.every(v => typeof v === 'string' && showable(v, LABEL_KEY, shows))
    );
  return typeof value === 'string' && what.test(value) && shows(value);
}

/**
 * `shown` (what a redaction by key made of `original`, a patch or an object) with the fields named
 * like a secret put back where Kubernetes reads them as the name of a label, a taint or a data key,
 * not a secret: a toleration's `key`; a selector requirement's `key` (`matchExpressions`,
 * `matchFields`: node affinity, label and namespace selectors of every kind); the `name` and `key`
 * of a `configMapKeyRef` or `secretKeyRef` (of an env entry's `valueFrom`); a ConfigMap volume's or
 * projection's item's `key` (`items[]` with a `path`); the `topologyKey` and `matchLabelKeys` of a
 * topology spread constraint or pod affinity term. Only when the mapping holds that structure's
 * fields alone (a `{"key": …}` alone, or beside another field, stays hidden), each to show holds a
 * label key or a data key that `shows` keeps (by default, any), and no key above the structure's
 * field names a secret. Whatever else they hold stays as redacted.
 * @public
 */
export function keepStructuralKeys(
  original: unknown,
  shown: unknown,
  options: { shows?: (text: string) => boolean } = {},
): unknown {
  const shows = options.shows ?? (() => true);

  /** `shown` with the fields `s` shows put back from `o`, when it is one. */
  const shownStructure = (o: JsonMap, sh: JsonMap, s: KeyStructure) => {
    if (!holdsStructure(Object.keys(o), s)) return sh;
    const out: JsonMap = { ...sh };
    for (const [field, what] of Object.entries(s.shown)) {
      if (hasOwn(o, field) && showable(o[field], what, shows))
        out[field] = o[field];
    }
    return out;
  };

  /** `s` with the structural keys of `o` put back: `o` the value of `field`, in `parent`'s mapping. */
  function keysOf(
    o: unknown,
    s: unknown,
    field?: string,
    parent?: string,
  ): unknown {
    const found = structureOf(field);
    const kind =
      found && (!found.within || (parent && found.within.has(parent)))
        ? found
        : undefined;
    if (Array.isArray(o) && Array.isArray(s)) {
      // The items of a list are the values of its field, for what they hold.
      return s.map((item, i) =>
        kind?.each && isJsonMap(o[i]) && isJsonMap(item)
          ? keysOfMap(shownStructure(o[i] as JsonMap, item, kind), o[i], field)
          : keysOf(o[i], item, undefined, field),
      );
    }
    if (isJsonMap(o) && isJsonMap(s)) {
      return keysOfMap(
        kind && !kind.each ? shownStructure(o, s, kind) : s,
        o,
        field,
      );
    }
    return s;
  }

  /** {@link keysOf} for each field of a mapping; below a key that names a secret, nothing. */
  function keysOfMap(s: JsonMap, o: JsonMap, field?: string): JsonMap {
    return Object.fromEntries(
      Object.entries(s).map(([k, v]) => [
        k,
        hidesBelow(k) ? v : keysOf(o[k], v, k, field),
      ]),
    );
  }

  return keysOf(original, shown);
}

/** The fields of the keys of structures, those whose values the text rules read. */
const SHOWN_FIELDS = new Set(
  Object.values(KEY_STRUCTURES).flatMap(s => Object.keys(s.shown)),
);

/** A member's key of JSON text: plain, no escape (every structure's field is so). */
const MEMBER_KEY = /"([A-Za-z]{1,64})"[ \t]*:[ \t]*/y;
/** A quoted label or data key, as JSON text writes one: no escape. */
const QUOTED = /"([^"\\\r\n]{0,317})"/y;
/** A number, `true`, `false` or `null`. */
const SCALAR = /[-+.0-9A-Za-z]{1,64}/y;

/** The characters the text rule of structural keys has read, for the tests of its cost. */
let readSteps = 0;
/** @internal */
export const structuralKeySteps = () => readSteps;

/**
 * Where the JSON value at `from` ends, on its line, or undefined (a line break, text that is not
 * JSON). Reads each character once.
 */
function jsonValueEnd(text: string, from: number): number | undefined {
  const c = text[from];
  if (c !== '{' && c !== '[' && c !== '"') {
    SCALAR.lastIndex = from;
    const found = SCALAR.test(text);
    readSteps += found ? SCALAR.lastIndex - from : 1;
    return found ? SCALAR.lastIndex : undefined;
  }
  let depth = 0;
  let inString = false;
  for (let k = from; k < text.length; k++) {
    readSteps++;
    const d = text[k];
    if (d === '\n' || d === '\r') return undefined;
    if (inString) {
      if (d === '\\') {
        if (text[k + 1] === '\n' || text[k + 1] === '\r') return undefined;
        k++;
      } else if (d === '"') {
        inString = false;
        if (depth === 0) return k + 1;
      }
    } else if (d === '"') inString = true;
    else if (d === '{' || d === '[') depth++;
    else if (d === '}' || d === ']') {
      if (--depth === 0) return k + 1;
      if (depth < 0) return undefined;
    }
  }
  return undefined;
}

/** Where the blanks from `at` end. */
function pastBlanks(text: string, at: number): number {
  let k = at;
  while (text[k] === ' ' || text[k] === '\t') k++;
  readSteps += k - at;
  return k;
}

/**
 * Whether the JSON mapping at `at` (its `{`), all on its line and each key plain, holds the fields
 * of `s` alone, with one it needs. Reads it once, to its end or to the first field `s` has not.
 */
function mappingHolds(text: string, at: number, s: KeyStructure): boolean {
  const keys: string[] = [];
  let k = pastBlanks(text, at + 1);
  if (text[k] === '}') return holdsStructure(keys, s);
  for (;;) {
    MEMBER_KEY.lastIndex = k;
    const member = MEMBER_KEY.exec(text);
    if (!member || !s.fields.has(member[1])) return false;
    readSteps += MEMBER_KEY.lastIndex - k;
    keys.push(member[1]);
    const end = jsonValueEnd(text, MEMBER_KEY.lastIndex);
    if (end === undefined) return false;
    k = pastBlanks(text, end);
    if (text[k] === '}') return holdsStructure(keys, s);
    if (text[k] !== ',') return false;
    k = pastBlanks(text, k + 1);
  }
}

/** Whether the JSON value at `from` is what `what` shows: a quoted key of it, or a list of label keys. */
function showsValueAt(text: string, from: number, what: Shown): boolean {
  const quoted = (at: number, pattern: RegExp) => {
    QUOTED.lastIndex = at;
    const m = QUOTED.exec(text);
    readSteps += m ? m[0].length : 1;
    return m && pattern.test(m[1]) ? QUOTED.lastIndex : undefined;
  };
  if (what !== LABEL_KEYS) return quoted(from, what) !== undefined;
  if (text[from] !== '[') return false;
  let k = pastBlanks(text, from + 1);
  if (text[k] === ']') return true;
  for (;;) {
    const end = quoted(k, LABEL_KEY);
    if (end === undefined) return false;
    k = pastBlanks(text, end);
    if (text[k] === ']') return true;
    if (text[k] !== ',') return false;
    k = pastBlanks(text, k + 1);
  }
}

/**
 * For JSON text, whether the value of `key` at `from` is a structural key that
 * {@link keepStructuralKeys} shows: `path` is the keys from the text's own object down to `key`
 * (`undefined` for an item of a list), and the mapping holding `key` opens at `mappingAt`, on the
 * key's line. Each mapping is read once, whatever number of its keys are asked about (one nested
 * in another is read again as part of it, as deep as a path may be: linear in the text); what
 * cannot be read so (a line break, an escaped key, YAML flow text) is not kept.
 */
export function structuralKeyReader(text: string) {
  const holds = new Map<number, boolean>();
  return (
    path: ReadonlyArray<string | undefined>,
    mappingAt: number,
    from: number,
  ): boolean => {
    const n = path.length;
    const key = path[n - 1];
    if (key === undefined || !SHOWN_FIELDS.has(key)) return false;
    const each = n >= 2 && path[n - 2] === undefined;
    const at = each ? n - 3 : n - 2;
    const s = structureOf(path[at]);
    if (!s || s.each !== each || !hasOwn(s.shown, key)) return false;
    if (s.within) {
      const parent = path[at - 1];
      if (parent === undefined || !s.within.has(parent)) return false;
    }
    for (let i = 0; i < at; i++) {
      const above = path[i];
      if (above !== undefined && hidesBelow(above)) return false;
    }
    if (!holds.has(mappingAt))
      holds.set(mappingAt, mappingHolds(text, mappingAt, s));
    return holds.get(mappingAt)! && showsValueAt(text, from, s.shown[key]);
  };
}
