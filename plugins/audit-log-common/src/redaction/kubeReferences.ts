/*
 * Where a Kubernetes object names a Secret by reference (a volume's `secretName`, a projection's
 * `name`, the key of a Secret projected to a file): a name, not a secret value, which a record of
 * a change must show, or it cannot say which Secret the change gives a pod.
 */
import { structuralKeyReader } from './structuralKeys';

/** An object's name, or a key of a Secret's data: what a reference names, never a secret value. */
const NAME = /^[-._A-Za-z0-9]{1,253}$/;
/** A file a Secret's key is projected to, relative to its volume. */
const PATH = /^[-._A-Za-z0-9/]{1,4096}$/;

type Json = Record<string, unknown>;
const isJsonMap = (v: unknown): v is Json =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Where in an object a value is a reference's: a name (a string of the pattern) or a setting (a
 * boolean, a number); the fields of a mapping; each item of a list.
 */
type Shape =
  | RegExp
  | 'boolean'
  | 'number'
  | { fields: Record<string, Shape> }
  | { each: Shape };

const fields = (f: Record<string, Shape>): Shape => ({ fields: f });
const each = (f: Record<string, Shape>): Shape => ({ each: fields(f) });
const under = (path: string[], shape: Shape): Shape =>
  path.reduceRight<Shape>((inner, key) => fields({ [key]: inner }), shape);

/** The keys of a Secret projected to files (`items` of a secret volume or projection). */
const ITEMS = each({ key: NAME, path: PATH, mode: 'number' });
/** `secretKeyRef`, `configMapKeyRef`: a key of a named object. */
const KEY_REF = fields({ name: NAME, key: NAME, optional: 'boolean' });
/** `envFrom`'s `secretRef`, `configMapRef`: a named object. */
const OBJECT_REF = fields({ name: NAME, optional: 'boolean' });
const CONTAINER = each({
  env: each({
    valueFrom: fields({ secretKeyRef: KEY_REF, configMapKeyRef: KEY_REF }),
  }),
  envFrom: each({ secretRef: OBJECT_REF, configMapRef: OBJECT_REF }),
});
/** The references of a pod spec (`core/v1` PodSpec). */
const POD_SPEC = fields({
  volumes: each({
    secret: fields({
      secretName: NAME,
      optional: 'boolean',
      defaultMode: 'number',
      items: ITEMS,
    }),
    projected: fields({
      sources: each({
        secret: fields({ name: NAME, optional: 'boolean', items: ITEMS }),
      }),
    }),
  }),
  containers: CONTAINER,
  initContainers: CONTAINER,
  imagePullSecrets: each({ name: NAME }),
});
const TEMPLATE = ['spec', 'template', 'spec'];
/** Where an object (or a patch) of each resource refers to Secrets by name; none elsewhere. */
const REFERENCES: Partial<Record<string, Shape>> = {
  pods: under(['spec'], POD_SPEC),
  deployments: under(TEMPLATE, POD_SPEC),
  statefulsets: under(TEMPLATE, POD_SPEC),
  daemonsets: under(TEMPLATE, POD_SPEC),
  replicasets: under(TEMPLATE, POD_SPEC),
  jobs: under(TEMPLATE, POD_SPEC),
  cronjobs: under(['spec', 'jobTemplate', ...TEMPLATE], POD_SPEC),
  ingresses: under(['spec', 'tls'], each({ secretName: NAME })),
};
const EVERY_RESOURCE = Object.values(REFERENCES) as Shape[];

/**
 * `redacted` (what a redaction by key made of `original`, an object or a patch of `resource`, the
 * plural of its kind: `deployments`) with the names by which `original` refers to Secrets put
 * back: they name objects, not values, and a record of a change must say which Secret it gives a
 * pod. Only where Kubernetes reads a reference, and only when each holds a name (a setting: a
 * boolean or a file mode):
 * - in a pod spec (a Pod's `spec`; `spec.template.spec` of a Deployment, StatefulSet, DaemonSet,
 *   ReplicaSet or Job; a CronJob's `spec.jobTemplate.spec.template.spec`): `volumes[].secret`
 *   (`secretName`, `optional`, `defaultMode`, `items[]` `key`, `path`, `mode`),
 *   `volumes[].projected.sources[].secret` (`name`, `optional`, `items`), `imagePullSecrets[].name`,
 *   and of `containers[]` and `initContainers[]`: `env[].valueFrom.secretKeyRef` and
 *   `configMapKeyRef` (`name`, `key`, `optional`), `envFrom[].secretRef` and `configMapRef`
 *   (`name`, `optional`);
 * - an Ingress's `spec.tls[].secretName`.
 * A field of the same name anywhere else (`data`, `annotations`, `labels`, `nodeSelector`, a
 * resource of another kind) stays as redacted, as does anything else a reference holds.
 * @public
 */
export function keepKubeReferences(
  resource: string | undefined,
  original: unknown,
  redacted: unknown,
): unknown {
  const shape =
    resource && Object.prototype.hasOwnProperty.call(REFERENCES, resource)
      ? REFERENCES[resource]
      : undefined;
  return shape ? restored(original, redacted, shape) : redacted;
}

/** `shown` with what `original` holds where `shape` says put back, when it is a name or a setting. */
function restored(original: unknown, shown: unknown, shape: Shape): unknown {
  if (shape === 'boolean' || shape === 'number') {
    return typeof original === shape ? original : shown;
  }
  if (shape instanceof RegExp) {
    return typeof original === 'string' && shape.test(original)
      ? original
      : shown;
  }
  if ('each' in shape) {
    if (!Array.isArray(original) || !Array.isArray(shown)) return shown;
    return shown.map((s, i) => restored(original[i], s, shape.each));
  }
  if (!isJsonMap(original) || !isJsonMap(shown)) return shown;
  const out: Json = { ...shown };
  for (const [field, inner] of Object.entries(shape.fields)) {
    if (
      Object.prototype.hasOwnProperty.call(original, field) &&
      Object.prototype.hasOwnProperty.call(out, field)
    )
      out[field] = restored(original[field], out[field], inner);
  }
  return out;
}

/** An item of a list, in a path. */
const ITEM = Symbol('item');
/** Brackets around a key deeper than the deepest reference (a CronJob's projected item's `key`: 14). */
const MAX_DEPTH = 16;
/** Characters of blanks, and of a key, read back from a bracket. */
const MAX_GAP = 16;
const MAX_KEY = 64;
const isKeyChar = (c: string | undefined) => !!c && /[A-Za-z0-9_]/.test(c);
const isBlank = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isLineBlank = (c: string | undefined) => c === ' ' || c === '\t';
/** A quoted name or path, and a setting, as a reference's value is written in JSON text. */
const QUOTED = /"([^"\\]{1,4096})"/y;
const BOOLEAN = /(?:true|false)(?![A-Za-z0-9_])/y;
const NUMBER = /\d{1,10}(?![A-Za-z0-9_.])/y;
/** A member's key, as a reference's is written in JSON text: plain, no escape. */
const MEMBER_KEY = /"([A-Za-z]{1,64})"[ \t]*:[ \t]*/y;
/**
 * The fields whose value text keeps where a reference's is read: those that name the Secret. A
 * projected item's `key` is hidden in text, which cannot tell it from a secret (a custom
 * resource's `spec.volumes[].secret.items[].key` reads the same).
 */
const NAMES_THE_SECRET = new Set(['secretName', 'name']);

/** Where the last non-blank character before `at` stands (at most `MAX_GAP` blanks back), or -1. */
function back(text: string, at: number): number | undefined {
  let k = at - 1;
  for (let gap = 0; k >= 0 && isBlank(text[k]); gap++, k--)
    if (gap >= MAX_GAP) return undefined;
  return k;
}

/**
 * Whether the bracket at `at`, the outermost of its line still open, opens the text's own object:
 * nothing but blanks before it in the text (`{"spec":…}`), or a command's argument on its line,
 * after a quote or `=` (`-p '{"spec":…}'`, `--patch={…}`). Not one after a line break (the
 * brackets of the lines above are not read: an item of a list, `config.json: |`), nor a quoted
 * value of a key (`config: '{…}'`), nor anything else.
 */
function opensTheText(text: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && isLineBlank(text[k])) k--;
  if (k < 0) return true;
  const c = text[k];
  if (c === '\n' || c === '\r') {
    const before = back(text, k + 1);
    return before !== undefined && before < 0;
  }
  if (c === '=') return true;
  if (c !== "'" && c !== '"') return false;
  let q = k - 1;
  while (q >= 0 && isLineBlank(text[q])) q--;
  return q < 0 || (text[q] !== ':' && text[q] !== '\n' && text[q] !== '\r');
}

/**
 * What the bracket at `at` is the value of: the key before it (`"volumes": [`, `volumes: [`), an
 * item of the list around it (after `[` or `,`). Undefined when that cannot be read in a few
 * characters.
 */
function valueOf(
  text: string,
  at: number,
): { key: string } | typeof ITEM | undefined {
  const k = back(text, at);
  if (k === undefined || k < 0) return undefined;
  const c = text[k];
  if (c === '[' || c === ',') return ITEM;
  if (c !== ':') return undefined;
  let end = back(text, k);
  if (end === undefined || end < 0) return undefined;
  const quoted = text[end] === '"';
  if (quoted) end--;
  let start = end;
  while (start >= 0 && isKeyChar(text[start])) {
    if (end - start >= MAX_KEY) return undefined;
    start--;
  }
  if (start === end) return undefined;
  if (quoted ? text[start] !== '"' : isKeyChar(text[start])) return undefined;
  return { key: text.slice(start + 1, end + 1) };
}

/** The shape at `path` in `shape`, if the path is one of it. */
function shapeAt(
  shape: Shape,
  path: ReadonlyArray<string | typeof ITEM>,
): Shape | undefined {
  let at: Shape | undefined = shape;
  for (const step of path) {
    if (!at || typeof at !== 'object' || at instanceof RegExp) return undefined;
    if (step === ITEM) at = 'each' in at ? at.each : undefined;
    else
      at =
        'fields' in at && Object.prototype.hasOwnProperty.call(at.fields, step)
          ? at.fields[step]
          : undefined;
  }
  return at;
}

/** Where the blanks of a line from `at` end. */
function pastBlanks(text: string, at: number): number {
  let k = at;
  while (isLineBlank(text[k])) k++;
  return k;
}

/**
 * Where the JSON value at `from` ends when it is all and only what `shape` holds, on its line: a
 * name or path (quoted, no escape), a setting, a mapping of the shape's fields alone (each key
 * plain, each value so in turn), a list of such items. Undefined when anything else is there (an
 * unknown field, an escaped key, YAML flow text, a line break). Reads each character once.
 */
function jsonValueEnd(
  text: string,
  from: number,
  shape: Shape,
): number | undefined {
  if (shape === 'boolean' || shape === 'number') {
    const pattern = shape === 'boolean' ? BOOLEAN : NUMBER;
    pattern.lastIndex = from;
    return pattern.test(text) ? pattern.lastIndex : undefined;
  }
  if (shape instanceof RegExp) {
    QUOTED.lastIndex = from;
    const quoted = QUOTED.exec(text);
    return quoted && shape.test(quoted[1]) ? QUOTED.lastIndex : undefined;
  }
  const list = 'each' in shape;
  if (text[from] !== (list ? '[' : '{')) return undefined;
  const close = list ? ']' : '}';
  let k = pastBlanks(text, from + 1);
  if (text[k] === close) return k + 1;
  for (;;) {
    let inner: Shape;
    if ('each' in shape) inner = shape.each;
    else {
      MEMBER_KEY.lastIndex = k;
      const member = MEMBER_KEY.exec(text);
      if (
        !member ||
        !Object.prototype.hasOwnProperty.call(shape.fields, member[1])
      )
        return undefined;
      inner = shape.fields[member[1]];
      k = MEMBER_KEY.lastIndex;
    }
    const end = jsonValueEnd(text, k, inner);
    if (end === undefined) return undefined;
    k = pastBlanks(text, end);
    if (text[k] === close) return k + 1;
    if (text[k] !== ',') return undefined;
    k = pastBlanks(text, k + 1);
  }
}

/** Where the line of `at` ends. */
function lineEnd(text: string, at: number): number {
  let k = at;
  while (k < text.length && text[k] !== '\n' && text[k] !== '\r') k++;
  return k;
}

/**
 * Where the mapping or list at `from` ends: its closing bracket on its line (JSON strings read as
 * such); the line's end when it does not close there, or holds a single-quoted string (whose
 * brackets cannot be told from the mapping's).
 */
function wholeValueEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let k = from; k < text.length; k++) {
    const c = text[k];
    if (c === '\n' || c === '\r') return k;
    if (inString) {
      if (c === '\\' && text[k + 1] !== '\n' && text[k + 1] !== '\r') k++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "'") return lineEnd(text, k);
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return k + 1;
  }
  return text.length;
}

/**
 * For JSON text, what to make of a key whose value starts at `from` where Kubernetes reads a
 * reference (see {@link keepKubeReferences}): `true` to keep it, when it is one: a volume's
 * `secret` mapping and an `imagePullSecrets` list holding a reference's fields alone (their
 * fields then read one by one, a projected item's `key` hidden), a `secretName` or `name` that is
 * a name; where its value ends, to hide it whole, when such a mapping or list holds anything else
 * (`"secret":{"secretName":"db","content":"…"}` reads `"secret":[REDACTED]`); `false` elsewhere,
 * the other rules judging it. `brackets` are where the `{` and `[` around the key were opened on
 * its line, outermost first, the outermost the text's own object (`{"spec":…}`,
 * `-p '{"spec":…}'`). The text does not say which kind it is of, so a path counts when it is a
 * reference's in a kind's object or patch (`spec.volumes` of a Pod, `spec.template.spec.volumes`
 * of a Deployment, …). What it cannot read so is not kept: a key written with escapes, a
 * single-quoted string among the brackets (whose `}` or `,` the brackets do not see), YAML flow
 * values, a bracket that only looks like the text's own (on a line of a list, in a YAML block
 * scalar or quoted value). What each bracket is the value of is read once, in a bounded number of
 * characters, and each mapping or list checked is read once: linear in the text. `true` also for
 * a structural key of any kind's object or patch (a toleration's `key`, a selector requirement's;
 * see `structuralKeyReader`).
 */
export function referenceReader(text: string) {
  const read = new Map<number, ReturnType<typeof valueOf>>();
  const valueAt = (at: number) => {
    if (!read.has(at)) read.set(at, valueOf(text, at));
    return read.get(at);
  };
  /** The last `'` before `quotesRead` (found reading forwards once), or -1. */
  let lastQuote = -1;
  let quotesRead = 0;
  const quoteBetween = (from: number, to: number) => {
    for (; quotesRead < to; quotesRead++)
      if (text[quotesRead] === "'") lastQuote = quotesRead;
    return lastQuote >= from;
  };
  /** Where the last value checked was read to: none is read twice. */
  let checkedTo = 0;
  const isStructuralKey = structuralKeyReader(text);
  return (
    brackets: ReadonlyArray<number>,
    key: string,
    from: number,
  ): boolean | number => {
    if (brackets.length === 0 || brackets.length > MAX_DEPTH) return false;
    if (text[brackets[brackets.length - 1]] !== '{') return false;
    if (text[brackets[0]] !== '{' || !opensTheText(text, brackets[0]))
      return false;
    if (quoteBetween(brackets[0], from)) return false;
    const path: Array<string | typeof ITEM> = [];
    for (let d = 1; d < brackets.length; d++) {
      const at = brackets[d];
      if (text[at] !== '{' && text[at] !== '[') return false;
      const value = valueAt(at);
      if (value === undefined) return false;
      const parent = text[brackets[d - 1]];
      if (parent === '[' && value === ITEM) path.push(ITEM);
      else if (parent === '{' && typeof value === 'object')
        path.push(value.key);
      else return false;
    }
    path.push(key);
    // A toleration's, a selector requirement's, a ConfigMap item's key: a name, of every kind.
    if (
      isStructuralKey(
        path.map(step => (step === ITEM ? undefined : step)),
        brackets[brackets.length - 1],
        from,
      )
    )
      return true;
    // Kinds sharing a pod spec reach the same shape: each is tried once.
    const shapes = [
      ...new Set(EVERY_RESOURCE.map(resource => shapeAt(resource, path))),
    ].filter((shape): shape is Shape => !!shape);
    const scalars = shapes.filter(
      shape => typeof shape === 'string' || shape instanceof RegExp,
    );
    if (scalars.length > 0) {
      return (
        NAMES_THE_SECRET.has(key) &&
        scalars.some(shape => jsonValueEnd(text, from, shape) !== undefined)
      );
    }
    // A mapping or a list is read once, to its end or to what it should not hold: one met again
    // inside a value read already is left to the other rules.
    if (from < checkedTo || (text[from] !== '{' && text[from] !== '[')) {
      return false;
    }
    for (const shape of shapes) {
      const end = jsonValueEnd(text, from, shape);
      if (end !== undefined) {
        checkedTo = end;
        return true;
      }
    }
    checkedTo = wholeValueEnd(text, from);
    return checkedTo;
  };
}
