import {
  goYamlEscaped,
  goYamlWritesAsIs,
} from '@kubechart/plugin-audit-log-common';

/**
 * One object as `kubectl get <kind> <name> -o json` and `-o yaml` print it, from the JSON the API
 * server sends: kubectl's JSON is Go's `encoding/json` of the object (keys in byte order, four
 * spaces, `<`, `>`, `&`, U+2028 and U+2029 escaped); its YAML is that JSON turned into YAML by
 * sigs.k8s.io/yaml (goyaml.v2: keys in its "natural" order, sequences not indented under their
 * key, strings quoted, folded at 80 columns and escaped by goyaml's rules). Compared with real
 * kubectl output in PlanExecutor.kubectlOutput.test.ts.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Orders strings by code point, as Go orders the UTF-8 bytes of map keys. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * JSON text with four spaces, keys in Go's order. Written out rather than through an object:
 * JavaScript lists integer-like keys ("9", "10") first, whatever order they were added in.
 */
function jsonText(value: Json, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const pad = '    '.repeat(depth + 1);
  const end = '    '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value
      .map(item => `${pad}${jsonText(item, depth + 1)}`)
      .join(',\n')}\n${end}]`;
  }
  const keys = Object.keys(value).sort(byCodePoint);
  if (keys.length === 0) return '{}';
  return `{\n${keys
    .map(
      key => `${pad}${JSON.stringify(key)}: ${jsonText(value[key], depth + 1)}`,
    )
    .join(',\n')}\n${end}}`;
}

/** `kubectl get … -o json`. */
export function kubectlJson(value: unknown): string {
  return `${jsonText(value as Json, 0).replace(
    /[<>&\u2028\u2029]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )}\n`;
}

// --- YAML -----------------------------------------------------------------------------------

const BEST_WIDTH = 80;
const BEST_INDENT = 2;
/** Longest key (in UTF-8 bytes) written as `key: value`; a longer one is written `? key`. */
const MAX_SIMPLE_KEY = 128;

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

const isLetter = (c: number) => LETTER.test(String.fromCodePoint(c));
const isDigit = (c: number) => DIGIT.test(String.fromCodePoint(c));

/** A key as {@link keyLess} reads it, worked out once per key of a sort. */
type KeyInfo = {
  /** Its code points. */
  cps: number[];
  /** Of each code point: 1 a letter, 2 a digit, 0 anything else. */
  cls: Uint8Array;
  /** The run of digits from a position: its end, and its value read from 0 and from 1. */
  runs: Map<number, { end: number; zero: bigint; one: bigint }>;
};

function keyInfo(key: string): KeyInfo {
  // Its code points, as `[...key]` has them (a lone surrogate is one), without a string for each.
  const cps: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const c = key.codePointAt(i)!;
    cps.push(c);
    if (c > 0xffff) i++;
  }
  const cls = new Uint8Array(cps.length);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    // ASCII first: the Unicode classes only for the rest.
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) cls[i] = 1;
    else if (c >= 48 && c <= 57) cls[i] = 2;
    else if (c > 127 && isLetter(c)) cls[i] = 1;
    else if (c > 127 && isDigit(c)) cls[i] = 2;
  }
  return { cps, cls, runs: new Map() };
}

const TWO_32 = 2 ** 32;
/** Digits read into one number before it is added to a run's value: 10^4 times 2^32 is exact. */
const DIGITS_AT_ONCE = 4;

/**
 * `n * m + a` modulo 2^64, for `n` given as its high and low 32 bits, `m` at most 10^4 and `a`
 * below 2^31: each product stays within what a number holds exactly (2^53).
 */
function timesPlus(n: [number, number], m: number, a: number) {
  const low = n[1] * m + a;
  const carry = Math.floor(low / TWO_32);
  n[1] = low - carry * TWO_32;
  n[0] = (n[0] * m + carry) % TWO_32;
}

/** The int64 whose 64 bits are `n`'s (high and low 32 bits). */
const int64 = (n: [number, number]) =>
  BigInt.asIntN(64, (BigInt(n[0]) << 32n) | BigInt(n[1]));

/**
 * goyaml.v2's value of the run of digits at `i` (int64, wrapping as Go's does: `n = n*10 + d`
 * with `d` the code point less 48), from 0 and from 1. Worked out in numbers, 32 bits at a time
 * and four digits at a time (the same value modulo 2^64), and made a BigInt once: a BigInt per
 * digit took most of the time of a sort of long runs.
 */
function runAt(info: KeyInfo, i: number) {
  let run = info.runs.get(i);
  if (!run) {
    const { cps, cls } = info;
    let end = i;
    const zero: [number, number] = [0, 0];
    const one: [number, number] = [0, 1];
    while (end < cps.length && cls[end] === 2) {
      let m = 1;
      let a = 0;
      for (
        let k = 0;
        k < DIGITS_AT_ONCE && end < cps.length && cls[end] === 2;
        k++, end++
      ) {
        a = a * 10 + (cps[end] - 48);
        m *= 10;
      }
      timesPlus(zero, m, a);
      timesPlus(one, m, a);
    }
    run = { end, zero: int64(zero), one: int64(one) };
    info.runs.set(i, run);
  }
  return run;
}

/**
 * goyaml.v2's order of map keys: letters after other characters, runs of digits by value. Each
 * key's code points, classes and digit runs are worked out once ({@link keyInfo}), not at every comparison:
 * 1,000 keys of 250 digits took seconds to sort.
 */
function keyLess(a: KeyInfo, b: KeyInfo): boolean {
  const ar = a.cps;
  const br = b.cps;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = a.cls[i] === 1;
    const bl = b.cls[i] === 1;
    if (al && bl) return ar[i] < br[i];
    if (al || bl) return bl;
    let fromOne = false;
    if (ar[i] === 48 || br[i] === 48) {
      for (let j = i - 1; j >= 0 && a.cls[j] === 2; j--) {
        if (ar[j] !== 48) {
          fromOne = true;
          break;
        }
      }
    }
    const ra = runAt(a, i);
    const rb = runAt(b, i);
    const an = fromOne ? ra.one : ra.zero;
    const bn = fromOne ? rb.one : rb.zero;
    if (an !== bn) return an < bn;
    if (ra.end !== rb.end) return ra.end < rb.end;
    return ar[i] < br[i];
  }
  return ar.length < br.length;
}

/**
 * Keys in goyaml.v2's order. For a few keys that order is not transitive (runs of digits with
 * leading zeros beside other digits: `0071B16`, `10034`, `935`), and kubectl's own order then
 * changes from run to run (it sorts Go's map keys, which come in random order); this one stays.
 */
export function sortedKeys(object: { [key: string]: Json }): string[] {
  return Object.keys(object)
    .map(key => ({ key, info: keyInfo(key) }))
    .sort((a, b) => {
      if (keyLess(a.info, b.info)) return -1;
      return keyLess(b.info, a.info) ? 1 : 0;
    })
    .map(({ key }) => key);
}

// The words goyaml.v2 reads as a bool, a null or a float unquoted, so writes quoted (it looks them
// up only for strings starting with one of `yYnNtTfFoO~.+-`, or empty: all of these do).
const RESOLVED_WORDS = new Set([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO'],
  ...['true', 'True', 'TRUE', 'false', 'False', 'FALSE'],
  ...['on', 'On', 'ON', 'off', 'Off', 'OFF'],
  ...['', '~', 'null', 'Null', 'NULL'],
  ...['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF'],
  ...['+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF'],
]);
const GO_INT =
  /^[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
/** goyaml.v2's timestamp forms (RFC 3339 with short fields, space separated, a date). */
const TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-](\d{2}):(\d{2}))| (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?)?$/;

function isTimestamp(s: string): boolean {
  const m = TIMESTAMP.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (day > days[month - 1]) return false;
  const hour = Number(m[4] ?? m[9] ?? 0);
  const minute = Number(m[5] ?? m[10] ?? 0);
  const second = Number(m[6] ?? m[11] ?? 0);
  const zoneHour = Number(m[7] ?? 0);
  const zoneMinute = Number(m[8] ?? 0);
  return (
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    zoneHour <= 24 &&
    zoneMinute <= 60
  );
}

/** Whether goyaml.v2 reads `s`, unquoted, as a string (else it quotes it). */
function resolvesToString(s: string): boolean {
  if (RESOLVED_WORDS.has(s)) return false;
  const first = s[0];
  if (first === '.') return !DOT_FLOAT.test(s);
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    if (isTimestamp(s)) return false;
    const plain = s.replace(/_/g, '');
    if (GO_INT.test(plain) || YAML_FLOAT.test(plain)) return false;
    if (/^-?0b[01]+$/.test(plain)) return false;
    return !BASE60_FLOAT.test(s);
  }
  return true;
}

/** strconv.FormatFloat(f, 'g', -1, 64), as goyaml.v2 writes a float. */
function goFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (!Number.isFinite(f)) return f > 0 ? '.inf' : '-.inf';
  const [mantissa, exponent] = f.toExponential().split('e');
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    const digits =
      Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${mantissa}e${exp < 0 ? '-' : '+'}${digits}`;
  }
  return String(f);
}

const isBreak = (c: string) =>
  c === '\n' ||
  c === '\r' ||
  c === '\u0085' ||
  c === '\u2028' ||
  c === '\u2029';
const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

type Analysis = {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
};

/** What a scalar may be written as (yaml_emitter_analyze_scalar). */
function analyze(chars: string[]): Analysis {
  if (chars.length === 0) {
    return {
      multiline: false,
      blockPlainAllowed: true,
      singleQuotedAllowed: true,
      blockAllowed: false,
    };
  }
  const value = chars.join('');
  let blockIndicators = value.startsWith('---') || value.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  chars.forEach((c, i) => {
    const next = chars[i + 1];
    const followedByWhitespace = next === undefined || isBlank(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      else if ((c === '?' || c === ':' || c === '-') && followedByWhitespace)
        blockIndicators = true;
    } else if (c === ':' && followedByWhitespace) {
      blockIndicators = true;
    } else if (c === '#' && precededByWhitespace) {
      blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlank(c) || isBreak(c) || c === '\0';
  });
  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    blockPlainAllowed = false;
  }
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (spaceBreak || special) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
    blockAllowed = false;
  }
  if (lineBreaks || blockIndicators) blockPlainAllowed = false;
  return {
    multiline: lineBreaks,
    blockPlainAllowed,
    singleQuotedAllowed,
    blockAllowed,
  };
}

type Style = 'plain' | 'single' | 'double' | 'literal';

/** goyaml.v2's block emitter, for the values JSON holds. */
class YamlEmitter {
  out = '';
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent = -1;
  private readonly indents: number[] = [];

  private put(text: string) {
    this.out += text;
    this.column += [...text].length;
  }

  private putBreak() {
    this.out += '\n';
    this.column = 0;
  }

  private writeBreak(c: string) {
    if (c === '\n') {
      this.putBreak();
    } else {
      this.out += c;
      this.column = 0;
    }
  }

  private writeIndent() {
    const indent = Math.max(this.indent, 0);
    if (
      !this.indention ||
      this.column > indent ||
      (this.column === indent && !this.whitespace)
    ) {
      this.putBreak();
    }
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  private indicator(
    text: string,
    needWhitespace: boolean,
    isWhitespace: boolean,
    isIndention: boolean,
  ) {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(text);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  private increaseIndent(flow: boolean, indentless: boolean) {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private popIndent() {
    this.indent = this.indents.pop()!;
  }

  /** The whole document: its root node and the line break after it. */
  document(value: Json) {
    this.node(value, false, false);
    this.indent = -1;
    this.writeIndent();
  }

  private node(value: Json, mapping: boolean, simpleKey: boolean) {
    if (value === null) this.scalar('null', 'plain', simpleKey);
    else if (typeof value === 'boolean')
      this.scalar(String(value), 'plain', simpleKey);
    else if (typeof value === 'number') {
      this.scalar(
        Number.isInteger(value) && Math.abs(value) < 1e21
          ? value.toFixed(0)
          : goFloat(value),
        'plain',
        simpleKey,
      );
    } else if (typeof value === 'string') this.string(value, simpleKey);
    else if (Array.isArray(value)) this.sequence(value, mapping);
    else this.mapping(value);
  }

  private string(value: string, simpleKey: boolean) {
    let style: Style = 'plain';
    if (value.includes('\n')) style = 'literal';
    else if (!resolvesToString(value)) style = 'double';
    this.scalar(value, style, simpleKey);
  }

  private scalar(value: string, requested: Style, simpleKey: boolean) {
    const chars = [...value];
    const analysis = analyze(chars);
    let style = requested;
    if (simpleKey && analysis.multiline) style = 'double';
    if (style === 'plain') {
      if (!analysis.blockPlainAllowed) style = 'single';
      if (chars.length === 0 && simpleKey) style = 'single';
    }
    if (style === 'single' && !analysis.singleQuotedAllowed) style = 'double';
    if (style === 'literal' && (!analysis.blockAllowed || simpleKey)) {
      style = 'double';
    }
    this.increaseIndent(true, false);
    const allowBreaks = !simpleKey;
    if (style === 'plain') this.plain(chars, allowBreaks);
    else if (style === 'single') this.single(chars, allowBreaks);
    else if (style === 'double') this.double(chars, allowBreaks);
    else this.literal(chars);
    this.popIndent();
  }

  private plain(chars: string[], allowBreaks: boolean) {
    if (!this.whitespace) this.put(' ');
    let spaces = false;
    let breaks = false;
    chars.forEach((c, i) => {
      if (c === ' ') {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          chars[i + 1] !== ' '
        ) {
          this.writeIndent();
        } else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    });
    this.whitespace = false;
    this.indention = false;
  }

  private single(chars: string[], allowBreaks: boolean) {
    this.indicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    chars.forEach((c, i) => {
      if (c === ' ') {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          i > 0 &&
          i < chars.length - 1 &&
          chars[i + 1] !== ' '
        ) {
          this.writeIndent();
        } else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    });
    this.indicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private double(chars: string[], allowBreaks: boolean) {
    let spaces = false;
    // goyaml.v2 asks whether the string starts with a BOM, not the character (its is_bom reads
    // the first bytes whatever the index): after a leading BOM every character is escaped.
    const bom = chars[0] === '\ufeff';
    this.indicator('"', true, false, false);
    chars.forEach((c, i) => {
      if (bom || !goYamlWritesAsIs(c)) {
        this.put(goYamlEscaped(c));
        spaces = false;
      } else if (c === ' ') {
        if (
          allowBreaks &&
          !spaces &&
          this.column > BEST_WIDTH &&
          i > 0 &&
          i < chars.length - 1
        ) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    });
    this.indicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private literal(chars: string[]) {
    this.indicator('|', true, false, false);
    if (chars[0] === ' ' || (chars.length > 0 && isBreak(chars[0]))) {
      this.indicator(String(BEST_INDENT), false, false, false);
    }
    let chomp = '';
    const last = chars.length - 1;
    if (chars.length === 0 || !isBreak(chars[last])) chomp = '-';
    else if (last === 0 || isBreak(chars[last - 1])) chomp = '+';
    if (chomp) this.indicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of chars) {
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        breaks = false;
      }
    }
  }

  private sequence(items: Json[], mapping: boolean) {
    if (items.length === 0) {
      this.indicator('[]', true, false, false);
      return;
    }
    this.increaseIndent(false, mapping && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.indicator('-', true, false, true);
      this.node(item, false, false);
    }
    this.popIndent();
  }

  private mapping(object: { [key: string]: Json }) {
    const keys = sortedKeys(object);
    if (keys.length === 0) {
      this.indicator('{}', true, false, false);
      return;
    }
    this.increaseIndent(false, false);
    for (const key of keys) {
      this.writeIndent();
      const simple =
        !analyze([...key]).multiline &&
        Buffer.byteLength(key) <= MAX_SIMPLE_KEY;
      if (simple) {
        this.string(key, true);
        this.indicator(':', false, false, false);
      } else {
        this.indicator('?', true, false, true);
        this.string(key, false);
        this.writeIndent();
        this.indicator(':', true, false, true);
      }
      this.node(object[key], true, false);
    }
    this.popIndent();
  }
}

/**
 * Characters goyaml.v2's reader refuses. kubectl reads the JSON of an object as YAML to print it
 * as YAML, and its JSON carries them as they are (it escapes only those below U+0020).
 */
const UNREADABLE = /[\u007f-\u0084\u0086-\u009f\ufffe\uffff]/;

/** Whether a key or a string value of `value` matches `pattern`. */
function holds(value: unknown, pattern: RegExp): boolean {
  if (typeof value === 'string') return pattern.test(value);
  if (Array.isArray(value)) return value.some(v => holds(v, pattern));
  if (value && typeof value === 'object') {
    return Object.entries(value).some(
      ([key, item]) => pattern.test(key) || holds(item, pattern),
    );
  }
  return false;
}

/**
 * What `kubectl get … -o yaml` prints instead of the object when it cannot turn the object's JSON
 * into YAML (a key or value holding a character goyaml.v2 does not read); undefined when it can.
 */
export function kubectlYamlError(value: unknown): string | undefined {
  return holds(value, UNREADABLE)
    ? 'error: yaml: control characters are not allowed'
    : undefined;
}

/**
 * Why {@link kubectlYaml} would not print what kubectl prints, when it would not: kubectl's JSON
 * carries NEL (U+0085) unescaped, and reading it as YAML folds it and the blanks around it into a
 * space or line breaks (or fails); that reading is not reproduced here.
 */
export function kubectlYamlUnsupported(value: unknown): string | undefined {
  return holds(value, /\u0085/)
    ? 'a key or value of this object holds a NEL character (U+0085), which kubectl folds into a space or a line break when it prints YAML, and the assistant does not reproduce that: ask for -o json'
    : undefined;
}

/** `kubectl get … -o yaml` (see {@link kubectlYamlError} for the objects it cannot print). */
export function kubectlYaml(value: unknown): string {
  const emitter = new YamlEmitter();
  emitter.document(value as Json);
  return emitter.out;
}
