import { InputError } from '@backstage/errors';
import yaml from 'js-yaml';
import { describeYamlError } from './yamlErrors';
import { HELM_YAML_SCHEMA, findMergeKey } from './helmYamlSchema';
import { isList } from '../policy/validity';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  InputLimits,
  measureValue,
} from './limits';

/**
 * An upper bound on the number of documents in a YAML stream, found without parsing: every
 * document after the first starts with a `---` or follows a `...` line. Linear, no regex.
 * @public
 */
export function countDocumentMarkers(text: string): number {
  let n = 1;
  let i = 0;
  while (i < text.length) {
    if (
      (text.startsWith('---', i) || text.startsWith('...', i)) &&
      (i === 0 || text.charCodeAt(i - 1) === 10)
    )
      n++;
    const next = text.indexOf('\n', i);
    if (next < 0) break;
    i = next + 1;
  }
  return n;
}

/** The objects helm creates from one document: none of an empty one, each item of a List. */
function objectsOf(doc: unknown): number {
  if (doc === null || doc === undefined) return 0;
  return isList(doc) ? doc.items.length : 1;
}

/** Thrown out of js-yaml by {@link objectCounter} once the stream holds more objects than allowed. */
class TooManyObjects extends Error {}

/**
 * A js-yaml listener counting the objects of a stream as it is read (see `InputLimits.maxObjects`):
 * each document is counted once read, as {@link objectsOf} counts it (its kind and every key known),
 * and the first document over `max` throws {@link TooManyObjects}, so the documents after it are
 * never read. js-yaml reads the node of a document at depth 1.
 */
function objectCounter(max: number) {
  let read = 0;
  return (
    event: 'open' | 'close',
    state: { depth: number; result: unknown },
  ) => {
    if (event === 'close' && state.depth === 1) {
      read += objectsOf(state.result);
      if (read > max) throw new TooManyObjects();
    }
  };
}

/** Characters go-yaml v2 (helm's YAML reader) reads as line breaks and js-yaml (YAML 1.2) as text. */
const HELM_ONLY_LINE_BREAKS = /[\u0085\u2028\u2029]/;
const LINE_BREAK_NAMES: Record<string, string> = {
  '\u0085': 'U+0085 (NEXT LINE)',
  '\u2028': 'U+2028 (LINE SEPARATOR)',
  '\u2029': 'U+2029 (PARAGRAPH SEPARATOR)',
};

/** Go's `unicode.IsSpace`, which `strings.TrimSpace` trims: the Unicode White_Space characters. */
const isGoSpace = (c: number) =>
  (c >= 0x09 && c <= 0x0d) ||
  c === 0x20 ||
  c === 0x85 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000;

const codePoint = (text: string, at: number) =>
  `U+${text.codePointAt(at)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * For a line starting with `---` whose rest is `text[from, end)`: how it follows the `---` when
 * apimachinery's YAMLReader ends a document there (the rest, with Go's Unicode spaces trimmed, is
 * empty or starts with `#`) and js-yaml does not read a document marker followed by nothing but
 * spaces, tabs and a comment to the line's end; else undefined.
 */
function separatorDifference(
  text: string,
  from: number,
  end: number,
): string | undefined {
  let first = from;
  while (first < end && isGoSpace(text.charCodeAt(first))) first++;
  if (first < end && text[first] !== '#') return undefined; // not a separator to helm
  // js-yaml reads a marker only when a space, tab or line end follows the `---`, then spaces and
  // tabs, and a comment that a carriage return ends (YAMLReader drops the line to its `\n`).
  if (first === from && first < end) return 'followed by #';
  for (let k = from; k < end; k++) {
    const c = text.charCodeAt(k);
    const lastCr = c === 0x0d && k === end - 1;
    if (k < first && c !== 0x20 && c !== 0x09 && !lastCr)
      return `followed by ${codePoint(text, k)}`;
    if (k >= first && c === 0x0d && !lastCr)
      return 'followed by a comment holding a carriage return';
  }
  return undefined;
}

/**
 * Why helm would read `text` otherwise than js-yaml does, or undefined. helm reads manifests (and
 * values) with go-yaml v2 behind sigs.k8s.io/yaml, the documents of a stream split by apimachinery's
 * YAMLReader (a rollback re-reads a stored release record so, helm 3 runs hooks so); the policy
 * reads them with js-yaml. Three places they part are found here, so the text is refused (fail closed)
 * instead of judged as something helm does not apply:
 * - go-yaml reads U+0085, U+2028 and U+2029 as line breaks, js-yaml as text: `# note<U+2028>  hostNetwork: true`
 *   is one comment to js-yaml and a comment and a key to helm. Refused anywhere, comments included.
 * - go-yaml drops a byte order mark (U+FEFF) at the start of each document YAMLReader hands it, js-yaml
 *   only at the start of the text: `\ufeffsubjects:` after a `---` line is an unknown key to js-yaml and
 *   a RoleBinding's subjects to helm. Refused at the start of any line but the first.
 * - YAMLReader starts a document at every line starting with `---` whose rest, with Unicode spaces
 *   trimmed, is empty or starts with `#`; js-yaml only when a space, tab or line end follows the
 *   `---`, and its comment ends at a carriage return. `---<U+00A0>#: |` starts a document for helm and
 *   is a key of the previous object (holding the next lines as a string) for js-yaml.
 * Linear, no regex that retries.
 */
function helmReadsOtherwise(text: string, what: string): string | undefined {
  const lineOf = (at: number) => {
    let line = 1;
    for (
      let i = text.indexOf('\n');
      i >= 0 && i < at;
      i = text.indexOf('\n', i + 1)
    )
      line++;
    return line;
  };
  const breakAt = text.search(HELM_ONLY_LINE_BREAKS);
  if (breakAt >= 0) {
    return `${what} holds ${LINE_BREAK_NAMES[text[breakAt]]} on line ${lineOf(
      breakAt,
    )}: helm's YAML reader reads it as a line break and js-yaml does not, so what helm applies cannot be judged exactly; remove it (in a double-quoted string, write it as an escape such as \\u2028)`;
  }
  let line = 1;
  for (let i = 0; i < text.length; line++) {
    const newline = text.indexOf('\n', i);
    const end = newline < 0 ? text.length : newline;
    // Both drop a byte order mark at the start of the text; a document of helm's may start on any line.
    if (i > 0 && text.charCodeAt(i) === 0xfeff) {
      return `${what} holds U+FEFF (BYTE ORDER MARK) at the start of line ${line}: helm's YAML reader drops it at the start of a document and js-yaml does not (it reads it as part of a key or value), so what helm applies cannot be judged exactly; remove it`;
    }
    const why = text.startsWith('---', i)
      ? separatorDifference(text, i + 3, end)
      : undefined;
    if (why) {
      return `${what} has a line starting with --- ${why} on line ${line}: helm's YAML reader starts a new document there and js-yaml does not, so what helm applies cannot be judged exactly; write --- alone on its line, or followed by a space and a comment`;
    }
    i = end + 1;
  }
  return undefined;
}

/**
 * Parses a multi-document YAML (or JSON) stream from an untrusted source with hard bounds on its
 * size, document count, nesting depth, aliases and the expanded node count (see
 * {@link DEFAULT_INPUT_LIMITS}). Refusals and syntax errors are `InputError`s (400): a refusal
 * names the limit. Every check is linear in the input, so no input can stall the event loop.
 * Text that helm's YAML reader reads otherwise than js-yaml is refused too (an `InputError` naming
 * the character and line), whatever the schema, since helm reads manifests and values alike: U+0085,
 * U+2028 or U+2029 anywhere (line breaks to helm, text to js-yaml, so a comment could hide a key),
 * a byte order mark (U+FEFF) at the start of a line but the first (helm drops one at the start of
 * each document), and a line starting with `---` at which helm starts a document and js-yaml does
 * not (`---#`, `---` followed by a Unicode space such as U+00A0).
 *
 * @param what - names the input in error messages, e.g. "Manifests".
 * @param schema - `helm` reads the text as helm and kubectl read manifests (YAML 1.1: `yes`/`on`
 *   are `true`, `0644` is octal) and refuses merge keys (`<<`); by default js-yaml's YAML 1.2 core schema.
 * @public
 */
export function parseYamlLimited(
  text: string,
  options: {
    what?: string;
    limits?: Partial<InputLimits>;
    schema?: 'helm' | 'yaml-1.2';
  } = {},
): unknown[] {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const what = options.what ?? 'YAML input';
  // UTF-8 never has fewer bytes than UTF-16 code units, so the cheap length check goes first.
  if (
    text.length > limits.maxBytes ||
    Buffer.byteLength(text, 'utf8') > limits.maxBytes
  ) {
    throw new InputLimitError(
      'maxBytes',
      limits.maxBytes,
      what,
      `larger than ${limits.maxBytes} bytes`,
    );
  }
  const otherwise = helmReadsOtherwise(text, what);
  if (otherwise) throw new InputError(otherwise);
  if (countDocumentMarkers(text) > limits.maxDocuments + 1) {
    throw new InputLimitError(
      'maxDocuments',
      limits.maxDocuments,
      what,
      `more than ${limits.maxDocuments} documents`,
    );
  }
  const { maxObjects } = limits;
  const tooManyObjects = () =>
    new InputLimitError(
      'maxObjects',
      maxObjects!,
      what,
      `more than ${maxObjects} objects (each item of a List counted)`,
    );
  let docs: unknown[];
  try {
    // js-yaml ≥ 4.2 stops at maxDepth (its typings do not list the option yet); older versions
    // overflow the stack instead, which is refused the same way.
    docs = yaml.loadAll(text, null, {
      maxDepth: limits.maxDepth,
      ...(options.schema === 'helm' ? { schema: HELM_YAML_SCHEMA } : {}),
      ...(maxObjects !== undefined
        ? { listener: objectCounter(maxObjects) }
        : {}),
    } as yaml.LoadOptions);
  } catch (e) {
    if (e instanceof TooManyObjects) throw tooManyObjects();
    const message = (e as Error).message ?? String(e);
    if (/maxDepth/.test(message) || e instanceof RangeError) {
      throw new InputLimitError(
        'maxDepth',
        limits.maxDepth,
        what,
        `nesting deeper than ${limits.maxDepth}`,
      );
    }
    // Nothing of the input: js-yaml's message quotes it (see describeYamlError).
    throw new InputError(`${what} is not valid YAML: ${describeYamlError(e)}`);
  }
  if (docs.length > limits.maxDocuments) {
    throw new InputLimitError(
      'maxDocuments',
      limits.maxDocuments,
      what,
      `more than ${limits.maxDocuments} documents`,
    );
  }
  // The same count as while reading, over the documents js-yaml returned.
  if (
    maxObjects !== undefined &&
    docs.reduce<number>((n, doc) => n + objectsOf(doc), 0) > maxObjects
  )
    throw tooManyObjects();
  const budget = { nodes: 0, aliases: 0 };
  for (const doc of docs) measureValue(doc, limits, what, budget);
  if (options.schema === 'helm') {
    for (const doc of docs) {
      const at = findMergeKey(doc);
      if (at !== undefined) {
        throw new InputError(
          `${what} uses a YAML merge key (<<) at ${at}: helm's YAML reader lets it overwrite the keys written before it, so what helm applies cannot be judged exactly; write the fields out instead`,
        );
      }
    }
  }
  return docs;
}
