import { InputError } from '@backstage/errors';
import yaml from 'js-yaml';
import { describeYamlError } from './yamlErrors';
import { documentPieces } from './documentPieces';
import { Pausable, runAtOnce, runInTurns } from './turns';
import { HELM_YAML_SCHEMA, findMergeKey } from './helmYamlSchema';
import { isItemsKey, isList } from '../policy/validity';
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

/**
 * The objects helm creates from one document: none of an empty one, each item of a List, and as many
 * as the entries of its `items` (however spelt) of any other document with an `items` list, at least
 * one: client-go reads any document with an `items` field as a list, whatever its kind (the policy
 * refuses such a document, `valid-object`, and `parseManifests` keeps it whole for it to).
 */
function objectsOf(doc: unknown): number {
  if (doc === null || doc === undefined) return 0;
  if (isList(doc)) return doc.items.length;
  if (typeof doc !== 'object' || Array.isArray(doc)) return 1;
  let entries = 0;
  for (const key of Object.keys(doc)) {
    const value = (doc as Record<string, unknown>)[key];
    if (isItemsKey(key) && Array.isArray(value)) entries += value.length;
  }
  return Math.max(1, entries);
}

/** Thrown out of js-yaml by {@link objectCounter} once the stream holds more objects than allowed. */
class TooManyObjects extends Error {}

/** Thrown out of js-yaml once it read more nodes than `maxNodes` allows (see `parseYamlLimited`). */
class TooManyNodes extends Error {}

/** Thrown out of js-yaml once it read more nodes of one document than `maxDocumentNodes` allows. */
class TooManyDocumentNodes extends Error {}

/** Thrown out of js-yaml once the aliases read expand to more characters than `maxExpandedChars` allows. */
class TooManyExpandedChars extends Error {}

/** Thrown out of js-yaml at an alias to a node that holds it, found as the alias is read. */
class RecursiveAlias extends Error {}

/** Thrown out of js-yaml at a mapping key that is a sequence or a mapping; `line` is 0-based, in the piece. */
class NonScalarKey extends Error {
  constructor(readonly line: number) {
    super('non-scalar key');
  }
}

const isSpaceOrBreak = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const FLOW_INDICATORS = ',[]{}';
const INDICATORS = '-[{,:?';

/**
 * The indicators in `input[from, to)`, a stretch js-yaml read between two nodes: `-` `[` `{` `,` `:`
 * `?` as they are, `p` for each node property (a tag or an anchor); spaces, line breaks and comments
 * are skipped. Undefined when the stretch holds anything else, so nothing is concluded from it.
 * Linear in the stretch; every stretch is read once.
 */
function indicatorsBetween(
  input: string,
  from: number,
  to: number,
): string | undefined {
  let out = '';
  let i = from;
  while (i < to) {
    const c = input.charCodeAt(i);
    if (isSpaceOrBreak(c)) {
      i++;
    } else if (c === 0x23 /* # */) {
      while (i < to && input[i] !== '\n' && input[i] !== '\r') i++;
    } else if (c === 0x21 /* ! */ || c === 0x26 /* & */) {
      // A tag ends at a space (a verbatim `!<…>` at its `>`), an anchor also at a flow indicator.
      const verbatim = c === 0x21 && input[i + 1] === '<';
      i++;
      while (
        i < to &&
        (verbatim
          ? input[i - 1] !== '>'
          : !isSpaceOrBreak(input.charCodeAt(i)) &&
            (c === 0x21 || !FLOW_INDICATORS.includes(input[i])))
      )
        i++;
      out += 'p';
    } else if (INDICATORS.includes(input[i])) {
      out += input[i++];
    } else {
      return undefined;
    }
  }
  return out;
}

/**
 * Where the next node or indicator after `from` starts, spaces, line breaks and comments skipped
 * (a comment starts at a `#` at `from` or after a space or tab), and the line breaks skipped.
 */
function skipBlanks(
  input: string,
  from: number,
): { at: number; lines: number } {
  let i = from;
  let lines = 0;
  while (i < input.length) {
    const c = input.charCodeAt(i);
    if (c === 0x0a) lines++;
    if (isSpaceOrBreak(c)) i++;
    else if (
      c === 0x23 /* # */ &&
      (i === from || isSpaceOrBreak(input.charCodeAt(i - 1)))
    ) {
      const newline = input.indexOf('\n', i);
      i = newline < 0 ? input.length : newline;
    } else break;
  }
  return { at: i, lines };
}

/**
 * For each position of `input`, where the last character before it that is neither a blank nor in
 * a comment stands (-1: none): blank and comment-only lines count as nothing. A comment starts at a
 * `#` at a line's start or after a space or tab and runs to the line's end. One pass over the text,
 * so that a question about any position costs nothing more (a look back from each position asked
 * about read a long line again for every collection closing on it).
 */
function lastSignificantBefore(input: string): Int32Array {
  const before = new Int32Array(input.length + 1);
  let last = -1;
  let inComment = false;
  for (let i = 0; i < input.length; i++) {
    before[i] = last;
    const c = input.charCodeAt(i);
    if (c === 0x0a) inComment = false;
    else if (
      !inComment &&
      c === 0x23 /* # */ &&
      (i === 0 ||
        input.charCodeAt(i - 1) === 0x20 ||
        input.charCodeAt(i - 1) === 0x09 ||
        input.charCodeAt(i - 1) === 0x0a)
    )
      inComment = true;
    if (!inComment && !isSpaceOrBreak(c)) last = i;
  }
  before[input.length] = last;
  return before;
}

/**
 * Whether the last indicator before `end` in `input`, blanks, blank lines and comments skipped, is
 * an explicit key indicator (`?`: at a line's start, after a blank or after a flow indicator).
 * `before` is {@link lastSignificantBefore} of `input`.
 */
function endsWithExplicitKey(
  input: string,
  before: Int32Array,
  end: number,
): boolean {
  const last = before[end];
  if (last < 0 || input[last] !== '?') return false;
  const previous = last > 0 ? input[last - 1] : ' ';
  return (
    isSpaceOrBreak(previous.charCodeAt(0)) || FLOW_INDICATORS.includes(previous)
  );
}

/** Whether a node js-yaml read is, as a mapping's key, one of the spellings of `items` helm takes. */
const isItemsKeyNode = (node: unknown) =>
  typeof node === 'string'
    ? node.length <= 16 && isItemsKey(node)
    : // js-yaml writes a key that is a list of one string as that string
      Array.isArray(node) &&
      node.length === 1 &&
      typeof node[0] === 'string' &&
      isItemsKey(node[0]);

/** What js-yaml hands a listener (its typings do not declare it). */
type LoaderState = {
  input: string;
  position: number;
  line: number;
  depth: number;
  result: unknown;
};

/**
 * How a node is written, as the text between its start and its first child says: a block sequence
 * (`-`), a flow sequence (`[`) or mapping (`{`), a block mapping of explicit keys (`?`); `first` when
 * nothing but properties comes before the child, which is then the first key of a block mapping, or
 * the node's content when js-yaml read it so (a flow collection at the start of a document or on the
 * line after a key is read as a block mapping's first key, and kept as the content when no `:` follows).
 */
type Shape =
  | 'block-seq'
  | 'flow-seq'
  | 'flow-map'
  | 'block-map'
  | 'first'
  | 'other';

function shapeOf(between: string | undefined): Shape {
  if (between === undefined) return 'other';
  const opening = between.replace(/^p*/, '');
  if (opening === '') return 'first';
  if (/^-+$/.test(opening)) return 'block-seq';
  if (/^\[\??$/.test(opening)) return 'flow-seq';
  if (/^\{\??$/.test(opening)) return 'flow-map';
  if (opening === '?') return 'block-map';
  return 'other';
}

/**
 * The longest implicit key helm's YAML reader reads (go-yaml, as the YAML spec says: one line, at
 * most 1024 characters); js-yaml reads longer ones.
 */
const MAX_IMPLICIT_KEY = 1024;

/** A node {@link objectCounter} follows: what it is to the count. */
type Frame = {
  /**
   * `document`; `content?`, the first child of a document written `first`; `map`, the mapping of a
   * document; `items`, the value of its `items` key; `list?`, the first child of one written
   * `first`; `list`, the `items` list whose entries are counted.
   */
  role?: 'document' | 'content?' | 'map' | 'items' | 'list?' | 'list';
  depth: number;
  at: number;
  line: number;
  shape?: Shape;
  /** Of a list: its entries read, and where the last ended (before the first: where it starts). */
  entries: number;
  after: number;
  /** Of a map: its last child, where it ended, and whether it spells `items` (as a key). */
  last?: Frame;
  lastEnd: number;
  lastIsItems: boolean;
  /** Where it ended, once it did. */
  end?: number;
};

/**
 * A js-yaml listener counting the objects of a stream as it is read (see `InputLimits.maxObjects`),
 * throwing {@link TooManyObjects} once they are more than `max`, so nothing after the object over
 * the limit is read: each document is counted once read, as {@link objectsOf} counts it, and the
 * entries of the `items` list of a document that is a mapping as they are read, whatever its kind:
 * a List of 100,000 items is refused at the item over the limit, not once all of them are built.
 *
 * The listener sees nodes and their depth, not what holds them; that is read off the text js-yaml
 * read between two nodes ({@link indicatorsBetween}, {@link shapeOf}): the document is a mapping (or
 * holds one as its content), a node is the value of the key before it when a `:` alone is between
 * them, the value is a sequence, and each of its entries starts after a `-` (an empty entry's too),
 * after the `[` or a `,` (a pair's value, after its `:`, being none). An entry is counted only when
 * the text says so, and the list's exact length is taken when it closes, so no stream is refused that
 * the count of its documents would not refuse, with one exception: a flow collection that js-yaml may
 * yet read as a block mapping's first key (`{…}: x`, or `[…]: x` on the line after `items:`) counts
 * only once it is known to be content (it spans lines, or it closes and no `:` follows), or once it
 * is longer than a key helm reads ({@link MAX_IMPLICIT_KEY}): such a key holding more items than
 * allowed is refused for them.
 */
function objectCounter(max: number) {
  let read = 0; // objects of the documents read
  const frames: Array<Frame | undefined> = [];
  // Of the document being read: entries of its items lists read whole…
  let counted = 0;
  // …and of those within a candidate (a flow collection that may be a key), until it is known.
  let pending = 0;
  let list: Frame | undefined; // the items list being read
  let candidate: Frame | undefined;

  const frame = (role: Frame['role'], state: LoaderState): Frame => ({
    role,
    depth: state.depth,
    at: state.position,
    line: state.line,
    entries: 0,
    after: state.position,
    lastEnd: state.position,
    lastIsItems: false,
  });
  /** The candidate is content: what was counted within it counts. */
  const keep = () => {
    counted += pending;
    pending = 0;
    candidate = undefined;
  };
  /** The candidate was a key: nothing within it counts. */
  const drop = () => {
    pending = 0;
    if (list && candidate && list.depth >= candidate.depth) list = undefined;
    candidate = undefined;
  };
  const check = (state: LoaderState) => {
    if (read + counted + pending + (list?.entries ?? 0) <= max) return;
    if (
      candidate &&
      state.line === candidate.line &&
      state.position - candidate.at <= MAX_IMPLICIT_KEY
    )
      return; // it may yet be a key: known once it spans lines, ends or grows too long
    throw new TooManyObjects();
  };
  const colonBetween = (input: string, from: number, to: number) =>
    indicatorsBetween(input, from, to) === ':';

  /** The first child of `parent` opens: how `parent` is written tells what they are. */
  const firstChild = (parent: Frame, child: Frame, input: string) => {
    const between = indicatorsBetween(input, parent.at, child.at);
    const shape = shapeOf(between);
    parent.shape = shape;
    if (parent.role === 'document') {
      // A mapping, unless a first child is its content (then the child may be the mapping).
      parent.role =
        shape === 'first' || shape === 'block-map' || shape === 'flow-map'
          ? 'map'
          : undefined;
      if (shape === 'first') child.role = 'content?';
    } else if (parent.role === 'content?') {
      parent.role = shape === 'flow-map' ? 'map' : undefined;
      if (parent.role) candidate = parent;
    } else if (parent.role === 'items') {
      if (shape === 'block-seq' || shape === 'flow-seq') {
        parent.role = 'list';
        list = parent;
      } else if (shape === 'first') child.role = 'list?';
    } else if (parent.role === 'list?') {
      parent.role = shape === 'flow-seq' ? 'list' : undefined;
      if (parent.role) list = candidate = parent;
    }
    if (parent.role === 'list')
      parent.entries +=
        shape === 'block-seq' ? between!.replace(/^p*/, '').length : 1;
  };

  return (event: 'open' | 'close', state: LoaderState) => {
    const { depth, input } = state;
    if (depth > 4) return;
    const parent = frames[depth - 1];
    if (event === 'open') {
      frames[depth] = undefined;
      if (depth === 1) {
        counted = pending = 0;
        list = candidate = undefined;
        frames[1] = frame('document', state);
        return;
      }
      if (!parent?.role) return;
      // A node after a candidate that ended: it was a key when a `:` is between them.
      if (
        candidate?.end !== undefined &&
        frames[candidate.depth - 1] === parent
      ) {
        if (colonBetween(input, candidate.end, state.position)) {
          // a mapping's first key: an items value holding it is no list
          if (candidate.role === 'list') parent.role = undefined;
          drop();
        } else keep();
        check(state);
        if (!parent.role) return;
      }
      if (parent.role === 'list') {
        const between = indicatorsBetween(input, parent.after, state.position);
        if (parent.shape === 'block-seq')
          // every node at this depth is an entry, and the `-` of empty ones before it are too
          parent.entries +=
            between && /^-+$/.test(between) ? between.length : 1;
        else if (between !== undefined && /^,\??$/.test(between))
          parent.entries++;
        check(state);
        return;
      }
      // Past its first child, only a mapping's children tell anything.
      if (parent.shape !== undefined && parent.role !== 'map') return;
      const child = frame(undefined, state);
      frames[depth] = child;
      if (parent.shape === undefined) firstChild(parent, child, input);
      if (parent.role === 'map') {
        if (
          parent.lastIsItems &&
          parent.last !== undefined &&
          colonBetween(input, parent.lastEnd, state.position)
        )
          child.role = 'items';
        parent.lastIsItems = false;
      }
      check(state);
      return;
    }
    // close
    const self = frames[depth];
    frames[depth] = undefined;
    if (parent?.role === 'list') {
      parent.after = state.position; // an entry (none has a role)
      return;
    }
    if (self) self.end = state.position;
    if (
      self?.role === 'list' ||
      // read whole, as an alias is (a list written `first` is its child's)
      (self?.role === 'items' && self.shape !== 'first')
    ) {
      // its exact length, empty entries after the last node included
      const length = Array.isArray(state.result)
        ? state.result.length
        : self.entries;
      if (candidate) pending += length;
      else counted += length;
      if (self === list) list = undefined;
    }
    if (parent?.role === 'map' && self) {
      parent.last = self;
      parent.lastEnd = state.position;
      parent.lastIsItems = isItemsKeyNode(state.result);
    }
    // A candidate that ended with its parent, nothing after it: it was the content.
    if (candidate && self && candidate.depth === depth + 1) keep();
    if (depth === 1) {
      counted = pending = 0;
      read += objectsOf(state.result);
      if (read > max) throw new TooManyObjects();
      return;
    }
    check(state);
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

/** Options of {@link parseYamlLimited} and {@link parseYamlLimitedInTurns}. @public */
export type ParseYamlOptions = {
  /** Names the input in error messages, e.g. "Manifests". */
  what?: string;
  limits?: Partial<InputLimits>;
  /**
   * `helm` reads the text as helm and kubectl read manifests (YAML 1.1: `yes`/`on` are `true`,
   * `0644` is octal) and refuses merge keys (`<<`); by default js-yaml's YAML 1.2 core schema.
   */
  schema?: 'helm' | 'yaml-1.2';
};

/**
 * What {@link parseYamlLimited} and {@link parseYamlLimitedInTurns} share: every check of the text
 * first, then the pieces read one after the other (the whole text as one piece unless `inTurns`),
 * yielding after each piece but the last; returns the documents.
 */
function* readingYaml(
  text: string,
  options: ParseYamlOptions,
  inTurns: boolean,
): Pausable<unknown[]> {
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
  const { maxDocumentBytes } = limits;
  const pieces =
    inTurns || maxDocumentBytes !== undefined
      ? documentPieces(text)
      : [{ from: 0, to: text.length, line: 0, bytes: 0 }];
  if (maxDocumentBytes !== undefined) {
    const large = pieces.find(p => p.bytes > maxDocumentBytes);
    if (large) {
      throw new InputLimitError(
        'maxDocumentBytes',
        maxDocumentBytes,
        what,
        `the document starting on line ${
          large.line + 1
        } is larger than ${maxDocumentBytes} bytes`,
      );
    }
  }
  const { maxObjects, maxDocumentNodes } = limits;
  const tooManyObjects = () =>
    new InputLimitError(
      'maxObjects',
      maxObjects!,
      what,
      `more than ${maxObjects} objects (each item of a List counted)`,
    );
  const tooManyNodes = () =>
    new InputLimitError(
      'maxNodes',
      limits.maxNodes,
      what,
      `more than ${limits.maxNodes} nodes once aliases are expanded`,
    );
  const tooManyDocumentNodes = (index: number) =>
    new InputLimitError(
      'maxDocumentNodes',
      maxDocumentNodes!,
      what,
      `document ${
        index + 1
      } holds more than ${maxDocumentNodes} nodes once aliases are expanded`,
    );
  // js-yaml ≥ 4.2 stops at maxDepth (its typings do not list the option yet); older versions
  // overflow the stack instead, which is refused the same way.
  // Nodes are counted as they are read, keys too: a mapping's value is one node of the expanded
  // count and its key another, an alias one node however large, so more than twice maxNodes read
  // is over the limit whatever follows, and nothing after it is read. Both counts run on over the
  // pieces: each document is read whole within one piece (js-yaml forgets anchors and tags at a
  // document's end anyway).
  const objects =
    maxObjects !== undefined ? objectCounter(maxObjects) : undefined;
  let read = 0;
  let readInDocument = 0;
  let documentsOpened = 0;
  // js-yaml copies what an alias refers to into nothing but a key (a sequence as a key becomes one
  // string, each alias in it copied whole, before anything after it is read): a key that is a
  // sequence or a mapping is refused as it closes (helm's YAML reader refuses one too), and the
  // characters aliases add are counted as each alias is read (an object's once, memoised), so no
  // alias expands past maxExpandedChars unseen. An alias is a node read with no child whose text
  // starts with `*`; one to an object not yet read whole is one to a node holding it.
  const maxExpandedChars = limits.maxExpandedChars ?? limits.maxBytes;
  const opened: Array<{ at: number; line: number; children: boolean }> = [];
  const readWhole = new WeakSet<object>();
  const charsOf = new Map<object, number>();
  let aliasChars = 0;
  const expandedChars = (value: object): number => {
    const known = charsOf.get(value);
    if (known !== undefined) return known;
    let chars = 0;
    const children = Array.isArray(value)
      ? value
      : Object.values(value as Record<string, unknown>);
    if (!Array.isArray(value))
      for (const key of Object.keys(value)) chars += key.length;
    for (const child of children) {
      if (typeof child === 'string') chars += child.length;
      else if (child !== null && typeof child === 'object')
        chars += expandedChars(child);
    }
    charsOf.set(value, chars);
    return chars;
  };
  const isCollection = (value: unknown) =>
    Array.isArray(value) ||
    (value !== null &&
      typeof value === 'object' &&
      [Object.prototype, null].includes(Object.getPrototypeOf(value)));
  let explicitAt = -1;
  let explicitKey = false;
  // Computed once for each text js-yaml reads (one loader state each), when a key check first
  // needs it. Keyed on the state, not on its text: two documents of the same text are two strings
  // equal in value, and comparing them cost their length at every check.
  let significantOf: LoaderState | undefined;
  let significant: Int32Array = new Int32Array(0);
  /** Whether the node that opened at `at` and ends where `state` is, is a mapping's key. */
  const isKey = (at: number, state: LoaderState) => {
    const { input, position } = state;
    const next = skipBlanks(input, position);
    if (input[next.at] === ':') {
      const after = input.charCodeAt(next.at + 1);
      // After a line break `:` starts a value only when a space or line end follows (else a plain
      // scalar such as `:x` starts there), or after a flow collection (`[a]\n:1` in flow context).
      if (
        next.lines === 0 ||
        Number.isNaN(after) ||
        isSpaceOrBreak(after) ||
        ']}'.includes(input[position - 1])
      )
        return true;
    }
    // `? key`: the key opens just after the `?` (in flow context after blanks and comments).
    if (significantOf !== state || at !== explicitAt) {
      if (significantOf !== state) {
        significant = lastSignificantBefore(input);
        significantOf = state;
      }
      explicitAt = at;
      explicitKey = endsWithExplicitKey(input, significant, at);
    }
    return explicitKey;
  };
  const listener = (event: 'open' | 'close', state: LoaderState) => {
    if (event === 'open') {
      if (++read > 2 * limits.maxNodes) throw new TooManyNodes();
      if (state.depth === 1) {
        readInDocument = 0;
        documentsOpened++;
      }
      if (
        maxDocumentNodes !== undefined &&
        ++readInDocument > 2 * maxDocumentNodes
      )
        throw new TooManyDocumentNodes();
      const parent = opened[state.depth - 1];
      if (parent) parent.children = true;
      opened[state.depth] = {
        at: state.position,
        line: state.line,
        children: false,
      };
    } else {
      const node = opened[state.depth];
      const { result, input } = state;
      if (node && (typeof result === 'string' || isCollection(result))) {
        const alias =
          !node.children && input[skipBlanks(input, node.at).at] === '*';
        if (typeof result === 'string') {
          if (alias) aliasChars += result.length;
        } else if (alias) {
          if (!readWhole.has(result as object)) throw new RecursiveAlias();
          aliasChars += expandedChars(result as object);
        } else readWhole.add(result as object);
        if (aliasChars > maxExpandedChars) throw new TooManyExpandedChars();
        if (typeof result !== 'string' && isKey(node.at, state))
          throw new NonScalarKey(node.line + skipBlanks(input, node.at).lines);
      }
    }
    objects?.(event, state);
  };
  const loadOptions = {
    maxDepth: limits.maxDepth,
    ...(options.schema === 'helm' ? { schema: HELM_YAML_SCHEMA } : {}),
    listener,
  } as unknown as yaml.LoadOptions;
  const docs: unknown[] = [];
  let objectCount = 0;
  const budget = { nodes: 0, aliases: 0, chars: 0 };
  for (let k = 0; k < pieces.length; k++) {
    if (k > 0) yield undefined;
    const piece = pieces[k];
    let pieceDocs: unknown[];
    try {
      pieceDocs = yaml.loadAll(
        piece.from === 0 && piece.to === text.length
          ? text
          : text.slice(piece.from, piece.to),
        null,
        loadOptions,
      );
    } catch (e) {
      if (e instanceof TooManyObjects) throw tooManyObjects();
      if (e instanceof TooManyNodes) throw tooManyNodes();
      if (e instanceof TooManyDocumentNodes)
        throw tooManyDocumentNodes(documentsOpened - 1);
      if (e instanceof TooManyExpandedChars)
        throw new InputLimitError(
          'maxExpandedChars',
          maxExpandedChars,
          what,
          `more than ${maxExpandedChars} characters in its keys and strings once aliases are expanded`,
        );
      if (e instanceof RecursiveAlias)
        throw new InputLimitError(
          'maxAliases',
          limits.maxAliases,
          what,
          'an alias refers to a node that contains it (recursive alias)',
        );
      if (e instanceof NonScalarKey)
        throw new InputError(
          `${what} has a mapping key that is a sequence or a mapping on line ${
            e.line + piece.line + 1
          }: helm's YAML reader takes only strings, numbers and booleans as keys; write the key as a string`,
        );
      const message = (e as Error).message ?? String(e);
      if (/maxDepth/.test(message) || e instanceof RangeError) {
        throw new InputLimitError(
          'maxDepth',
          limits.maxDepth,
          what,
          `nesting deeper than ${limits.maxDepth}`,
        );
      }
      // Where in the whole text, not in the piece.
      if (e instanceof yaml.YAMLException && e.mark) e.mark.line += piece.line;
      // Nothing of the input: js-yaml's message quotes it (see describeYamlError).
      throw new InputError(
        `${what} is not valid YAML: ${describeYamlError(e)}`,
      );
    }
    for (const doc of pieceDocs) docs.push(doc);
    if (docs.length > limits.maxDocuments) {
      throw new InputLimitError(
        'maxDocuments',
        limits.maxDocuments,
        what,
        `more than ${limits.maxDocuments} documents`,
      );
    }
    // The same count as while reading, over the documents js-yaml returned.
    objectCount += pieceDocs.reduce<number>((n, doc) => n + objectsOf(doc), 0);
    if (maxObjects !== undefined && objectCount > maxObjects)
      throw tooManyObjects();
    const first = docs.length - pieceDocs.length;
    pieceDocs.forEach((doc, i) => {
      const nodes = measureValue(doc, limits, what, budget);
      if (maxDocumentNodes !== undefined && nodes > maxDocumentNodes)
        throw tooManyDocumentNodes(first + i);
    });
    if (options.schema === 'helm') {
      for (const doc of pieceDocs) {
        const at = findMergeKey(doc);
        if (at !== undefined) {
          throw new InputError(
            `${what} uses a YAML merge key (<<) at ${at}: helm's YAML reader lets it overwrite the keys written before it, so what helm applies cannot be judged exactly; write the fields out instead`,
          );
        }
      }
    }
  }
  return docs;
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
 * not (`---#`, `---` followed by a Unicode space such as U+00A0). With `maxDocumentBytes`, a
 * document whose text is larger is refused before anything is read ({@link documentPieces}).
 *
 * @public
 */
export function parseYamlLimited(
  text: string,
  options: ParseYamlOptions = {},
): unknown[] {
  return runAtOnce(readingYaml(text, options, false));
}

/**
 * {@link parseYamlLimited}, reading one document at a time (as {@link documentPieces} splits the
 * text, which is how helm splits it) with a turn of the event loop between documents, so the
 * longest the event loop is held is what the largest document costs (bounded by `maxDocumentBytes`
 * and `maxDocumentNodes`), not the whole stream. Same checks, same bounds, counted over the whole
 * stream, same errors; the documents of a piece are checked (nodes, aliases, merge keys) as it is
 * read, so a refusal comes at the document that breaks a bound.
 * @public
 */
export function parseYamlLimitedInTurns(
  text: string,
  options: ParseYamlOptions = {},
): Promise<unknown[]> {
  return runInTurns(readingYaml(text, options, true));
}
