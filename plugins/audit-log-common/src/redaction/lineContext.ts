/*
 * What surrounds a place of free text, and where values that run past a word end: the structure
 * the rules of `hideSecretPairs` read (brackets, strings, YAML lines and lists, argument lists).
 */
import { isKeyChar } from './textPatterns';

/** A `command:` key alone on its line (YAML, `kubectl describe`'s `Command:`), its indentation. */
const COMMAND_KEY = /([ \t]*)["']?command["']?[ \t]*:[ \t]*(?=\r?\n)/iy;
/** An `args:` key alone on its line (YAML, `kubectl describe`'s `Args:`). */
const ARGS_KEY = /[ \t]*["']?args["']?[ \t]*:[ \t]*(?=\r?\n)/iy;
/** At most this many lines of a command's list are passed over, upwards, to find its `command:` key. */
const MAX_COMMAND_LOOKBACK = 16;
/** Between a flag (`--password`) and its value as the next argument: blanks, a shell's `\`-newlines. */
const FLAG_GAP = /(?:[ \t]|\\\r?\n)+/y;
/** Between a flag and its value as the next item of a list (`"--password", "x"`), lines included. */
const LIST_GAP = /[ \t]*,\s*/y;
/** Nothing more on a flag's line: its value, if any, is the next line (`- --password` then `- x`). */
const LINE_REST = /[ \t]*(?=\r?\n)/y;
/** A line's indentation, and the `- ` of a YAML list item. */
export const LINE_PREFIX = /([ \t]*)(-[ \t]+)?/y;

/**
 * What surrounds a place of free text, read left to right once: its line's start, where the line's
 * first word starts (after indentation and a YAML list's `- `), the `{`, `[` and `(` of the line
 * still open, and whether it is inside a `"…"` string; so that a value ends where its object, list
 * or string does (`{password: a b, mode: c}`, `msg="password: a b" user=c`).
 */
export class LineContext {
  lineStart = 0;
  /** Where the line's first word starts: -1 while none was read, -2 when a hidden value took it. */
  firstWord = -1;
  inString = false;
  /** How many line breaks were passed. */
  line = 0;
  /** How many `}` were read (those of hidden values not counted). */
  closed = 0;
  /** The brackets of the line still open, each by the number it was opened with. */
  private readonly open: number[] = [];
  /** Where each of `open` was opened. */
  private readonly openAt: number[] = [];
  private opened = 0;
  private at = 0;

  constructor(private readonly text: string) {}

  /** How many brackets of the line are open. */
  get depth(): number {
    return this.open.length;
  }

  /** The innermost bracket open, by the number it was opened with (0 when none is). */
  get innermost(): number {
    return this.open.length ? this.open[this.open.length - 1] : 0;
  }

  /** Where the innermost bracket open was opened (-1 when none is). */
  get innermostAt(): number {
    return this.openAt.length ? this.openAt[this.openAt.length - 1] : -1;
  }

  /** Where each bracket of the line still open was opened, outermost first. */
  get openedAt(): ReadonlyArray<number> {
    return this.openAt;
  }

  /** Whether the bracket opened as `id` at `depth` is still open. */
  isOpen(id: number, depth: number): boolean {
    return this.open.length >= depth && this.open[depth - 1] === id;
  }

  /** Reads the text up to `to`. */
  moveTo(to: number) {
    const text = this.text;
    let i = this.at;
    for (; i < to; i++) {
      const c = text[i];
      if (c === '\n') {
        this.newLine(i + 1);
        continue;
      }
      if (
        this.firstWord === -1 &&
        c !== ' ' &&
        c !== '\t' &&
        c !== '\r' &&
        !(c === '-' && (text[i + 1] === ' ' || text[i + 1] === '\t'))
      ) {
        this.firstWord = i;
      }
      if (this.inString) {
        if (c === '\\' && text[i + 1] !== '\n') i++;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[' || c === '(') {
        this.open.push(++this.opened);
        this.openAt.push(i);
      } else if (c === '}' || c === ']' || c === ')') {
        this.open.pop();
        this.openAt.pop();
        if (c === '}') this.closed++;
      }
    }
    this.at = Math.max(this.at, i);
  }

  /**
   * Passes over a hidden value up to `to` without reading it. A value over lines leaves `to` on a
   * line of its own, inside a `"…"` string if `inString` (a double-quoted value's closing quote).
   */
  skip(to: number, inString = false) {
    const text = this.text;
    for (let i = this.at; i < to; i++) {
      if (text[i] === '\n') {
        this.newLine(i + 1);
        this.firstWord = -2;
        this.inString = inString;
      }
    }
    this.at = Math.max(this.at, to);
  }

  private newLine(start: number) {
    this.line++;
    this.lineStart = start;
    this.firstWord = -1;
    this.open.length = 0;
    this.openAt.length = 0;
    this.inString = false;
  }
}

/**
 * Where an unquoted value from `from` ends: with `line`, at its line's end (a YAML or log line's
 * `key: value`, an ini file's `key = value`); else at a blank (a word of a command line, its
 * quoted parts included: `--password=a"b c"`; a quote its line does not close runs to the line's
 * end). In a `"…"` string (`inString`) it ends at the string's closing quote at the latest, inside
 * brackets (`flow`) at a `,` or a closing bracket; with `pair` (a `key: value` or `key=value`
 * pair's value), at a `,` only before another pair (`{password: a,b c, mode: x}`), so a value
 * holding a comma is hidden whole, and at a blank only in a Go `%v` dump (`goDump`: `map[…]`,
 * `&{…}`) before its next field (`map[Password:a User:bob]`); else a blank does not end it
 * (`{password: correct horse:battery}` is hidden whole).
 */
export function unquotedValueEnd(
  text: string,
  from: number,
  line: boolean,
  inString: boolean,
  flow: boolean,
  pair = false,
  goDump = false,
): number {
  // A quote opened inside a word: `"`, `'`, or `\"` inside a string (`"cmd": "a --password=\"x y\""`).
  let quote = '';
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n' || c === '\r' || (c === '"' && inString)) break;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined || next === '\n' || next === '\r') {
        // A shell's line continuation ends the word; a YAML value keeps its backslash.
        if (line) i++;
        break;
      }
      if (quote === "'") i++;
      else if (quote.length === 2) {
        if (next === quote[1]) quote = '';
        i += 2;
      } else if (
        !quote &&
        !line &&
        inString &&
        (next === '"' || next === "'")
      ) {
        quote = `\\${next}`;
        i += 2;
      } else i += 2;
      continue;
    }
    if (quote) {
      if (c === quote) quote = '';
    } else if (
      (!line && (c === ' ' || c === '\t')) ||
      (flow && (c === ']' || c === '}' || c === ')')) ||
      (flow && c === ',' && !pair)
    ) {
      break;
    } else if (
      flow &&
      pair &&
      ((c === ',' && pairAt(text, i + 1)) ||
        (goDump && c === ' ' && goFieldAt(text, i + 1)))
    ) {
      // Each blank or token is looked at once more here, from the separator before it.
      break;
    } else if (!line && (c === '"' || c === "'")) quote = c;
    i++;
  }
  return Math.min(i, text.length);
}

/**
 * Whether another `key: value` or `key=value` pair starts at `from`, after blanks: a key, quoted
 * or not, then `:` (not a URL's `://`) or `=` (not `==`, a base64 value's padding).
 */
function pairAt(text: string, from: number): boolean {
  let k = from;
  while (text[k] === ' ' || text[k] === '\t') k++;
  const quote = text[k] === '"' || text[k] === "'" ? text[k] : '';
  if (quote) k++;
  const keyStart = k;
  while (k < text.length && isKeyChar(text.charCodeAt(k))) k++;
  if (k === keyStart) return false;
  if (quote && text[k++] !== quote) return false;
  while (text[k] === ' ' || text[k] === '\t') k++;
  if (text[k] === ':') return !text.startsWith('//', k + 1);
  return text[k] === '=' && text[k + 1] !== '=';
}

/**
 * Whether the bracket at `at` opens a Go `%v` dump whose pairs are split by one blank: a map's
 * `map[` or a struct pointer's `&{`.
 */
export function opensGoDump(text: string, at: number): boolean {
  if (text[at] === '{') return text[at - 1] === '&';
  return (
    text[at] === '[' &&
    text.startsWith('map', at - 3) &&
    !(at > 3 && isKeyChar(text.charCodeAt(at - 4)))
  );
}

/** Whether a Go dump's next field starts at `from`: a capitalised name, then `:` (not `://`). */
function goFieldAt(text: string, from: number): boolean {
  const first = text.charCodeAt(from);
  if (!(first >= 65 && first <= 90)) return false;
  let k = from + 1;
  while (
    k < text.length &&
    isKeyChar(text.charCodeAt(k)) &&
    text[k] !== '.' &&
    text[k] !== '-'
  )
    k++;
  return text[k] === ':' && !text.startsWith('//', k + 1);
}

/** The indentation of the line starting at `lineStart`, its `- ` list markers included. */
export function keyLineIndent(text: string, lineStart: number): number {
  let i = lineStart;
  while (
    text[i] === ' ' ||
    text[i] === '\t' ||
    (text[i] === '-' && /[ \t]/.test(text[i + 1] ?? ''))
  )
    i++;
  return i - lineStart;
}

/**
 * The lines that hold the value of a key indented `keyIndent` (whose own line ends at or after
 * `from`), as the [start, end) of their text: the non-blank lines below indented deeper (its
 * blanks and `- ` entries), and with `entries`, `- ` entries level with it (YAML lets a sequence
 * sit at its key's indentation).
 */
export function valueLines(
  text: string,
  keyIndent: number,
  from: number,
  entries: boolean,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let end = from; end < text.length; ) {
    const lineStart = text.indexOf('\n', end) + 1;
    if (lineStart === 0) break;
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    let content = lineStart;
    while (text[content] === ' ' || text[content] === '\t') content++;
    if (content < lineEnd) {
      const indent = content - lineStart;
      const entry =
        entries &&
        indent === keyIndent &&
        text[content] === '-' &&
        (content + 1 === lineEnd || /[ \t]/.test(text[content + 1]));
      if (indent <= keyIndent && !entry) break;
      out.push([content, lineEnd]);
    }
    end = lineEnd;
  }
  return out;
}

/**
 * Where the value of a flag (`--password` or `-password`, the key from `keyStart`, its opening quote
 * included, to `end`) given as the next argument starts: after blanks (`--password x`, a shell's
 * `\`-newlines), after a list's `,` (`["--password", "x"]`, `[--password, x]`, a JSON list over
 * lines), or on the next line level with the flag's when the flag is alone on its own (`- --password`
 * then `- x` in YAML, `kubectl describe`'s args), as `[start, whole line]`. Undefined when no value
 * follows, or the next argument is another flag, one starting with `flag` (`--` after a long flag:
 * `--password --username x`; `-` after a short one: `mysql -p -u root`).
 */
export function flagValueStart(
  text: string,
  ctx: LineContext,
  keyStart: number,
  end: number,
  flag = '--',
): [number, boolean] | undefined {
  ctx.moveTo(end);
  const quote = text[keyStart] === '"' || text[keyStart] === "'";
  let after = quote && text[end] === text[keyStart] ? end + 1 : end;
  if (quote && text[keyStart - 1] === '\\' && text[end] === '\\') {
    // A flag in escaped quotes (`[\"--token\", \"x\"]` in a JSON string).
    let k = end;
    while (text[k] === '\\') k++;
    if (text[k] === text[keyStart]) after = k + 1;
  }
  let at = -1;
  let line = false;
  if (ctx.depth > 0 || after > end) {
    LIST_GAP.lastIndex = after;
    if (LIST_GAP.test(text)) at = LIST_GAP.lastIndex;
  }
  if (at === -1) {
    FLAG_GAP.lastIndex = after;
    if (FLAG_GAP.test(text)) at = FLAG_GAP.lastIndex;
  }
  LINE_REST.lastIndex = after;
  if (
    (at === -1 || text[at] === '\n' || text[at] === '\r') &&
    ctx.firstWord === keyStart &&
    LINE_REST.test(text)
  ) {
    at = -1;
    let next = text.indexOf('\n', LINE_REST.lastIndex) + 1;
    for (let i = next; i < text.length; i++) {
      if (text[i] === '\n') next = i + 1;
      else if (text[i] !== ' ' && text[i] !== '\t' && text[i] !== '\r') break;
    }
    LINE_PREFIX.lastIndex = ctx.lineStart;
    const own = LINE_PREFIX.exec(text)!;
    LINE_PREFIX.lastIndex = next;
    const theirs = LINE_PREFIX.exec(text)!;
    if (theirs[1] === own[1] && !theirs[2] === !own[2]) {
      at = next + theirs[0].length;
      line = true;
    }
  }
  // A list's end, or a shell's operator (`--password-stdin < file`), is no value.
  if (at === -1 || at >= text.length || '\r\n,)]}<>|&;'.includes(text[at])) {
    return undefined;
  }
  let word = at;
  while (text[word] === '\\') word++;
  word = text[word] === '"' || text[word] === "'" ? word + 1 : at;
  return text.startsWith(flag, word) ? undefined : [at, line];
}

/**
 * Where the short flag of a command alone on its line counts: the lines below with indentation
 * `indent` and a `- ` marker or not (`marker`), checked up to `checked` (a line's end); `key`, the
 * indentation of the command's `command:` key while an `args:` key level with it may carry on.
 */
export type CommandList = {
  indent: string;
  marker: boolean;
  checked: number;
  key?: number;
};

/**
 * The indentation of the `command:` key a list of commands stands under (its items indented
 * `indent`, with a `- ` marker or not; the command's own line starts at `lineStart`), passing over
 * at most {@link MAX_COMMAND_LOOKBACK} items above it; undefined when there is none.
 */
export function commandKeyIndent(
  text: string,
  lineStart: number,
  indent: string,
  marker: boolean,
): number | undefined {
  let start = lineStart;
  for (let n = 0; n <= MAX_COMMAND_LOOKBACK && start > 0; n++) {
    const prevEnd = start - 1;
    const prev = prevEnd === 0 ? 0 : text.lastIndexOf('\n', prevEnd - 1) + 1;
    LINE_PREFIX.lastIndex = prev;
    const theirs = LINE_PREFIX.exec(text)!;
    if (
      theirs[1] === indent &&
      !theirs[2] === !marker &&
      prev + theirs[0].length < prevEnd
    ) {
      start = prev;
      continue;
    }
    COMMAND_KEY.lastIndex = prev;
    const key = COMMAND_KEY.exec(text);
    if (!key) return undefined;
    const at = key[1].length;
    return at < indent.length || (at === indent.length && marker)
      ? at
      : undefined;
  }
  return undefined;
}

/**
 * Whether the list of a command alone on its line (`list`) reaches the line of `lineStart`: its
 * lines below, with the same indentation and list marker, and the items under the `args:` key
 * next to its `command:` key (YAML's `command:`/`args:`, describe's `Command:`/`Args:`). Moves
 * `list.checked` on as it reads them; each line is read once.
 */
export function listReaches(
  text: string,
  list: CommandList,
  lineStart: number,
  pos: number,
): boolean {
  while (list.checked < lineStart) {
    if (text[list.checked] !== '\n') break;
    const next = list.checked + 1;
    LINE_PREFIX.lastIndex = next;
    const theirs = LINE_PREFIX.exec(text)!;
    const content = next + theirs[0].length;
    if (
      theirs[1] !== list.indent ||
      !theirs[2] !== !list.marker ||
      content >= text.length ||
      text[content] === '\n' ||
      text[content] === '\r'
    ) {
      // The `args:` key next to the command's `command:` key: its items are the command's too.
      if (!theirs[2] && theirs[1].length === list.key) {
        ARGS_KEY.lastIndex = next;
        const argsLineEnd = ARGS_KEY.test(text)
          ? text.indexOf('\n', ARGS_KEY.lastIndex)
          : -1;
        LINE_PREFIX.lastIndex = argsLineEnd + 1;
        const items = argsLineEnd === -1 ? null : LINE_PREFIX.exec(text);
        if (
          items &&
          (items[1].length > list.key ||
            (items[1].length === list.key && items[2]))
        ) {
          list.indent = items[1];
          list.marker = !!items[2];
          list.key = undefined;
          list.checked = argsLineEnd;
          continue;
        }
      }
      break;
    }
    const lineEnd = text.indexOf('\n', content);
    list.checked = lineEnd === -1 ? text.length : lineEnd;
  }
  return list.checked >= pos;
}
