import {
  CommandList,
  LINE_PREFIX,
  LineContext,
  commandKeyIndent,
  flagValueStart,
  keyLineIndent,
  listReaches,
  opensGoDump,
  unquotedValueEnd,
  valueLines,
} from './lineContext';
import { referenceReader } from './kubeReferences';
import { holdsSecretWord, isReferenceKey, isSecretName } from './names';
import { namesSecretPath } from './secretPaths';
import {
  AFTER_COMMAND,
  AUTH_SCHEME,
  BLOCK_HEADER,
  BOOLEAN,
  COMMAND_ALONE,
  endsToken,
  escapeDepth,
  EXPORT,
  isBasicCredential,
  isAlphanumeric,
  isBlank,
  isKeyChar,
  isQuote,
  isSpace,
  isTokenChar,
  isWordStart,
  MAX_PARENT_LOOKBACK,
  NAME_LOOKAHEAD_CHARS,
  NAME_LOOKAHEAD_LINES,
  NEXT,
  NO_VALUE_FLAG,
  PASS_FLAGS,
  PEM_END,
  PLAIN_WORD,
  PRIVATE_KEY_BEGIN,
  SECRET_SHORT_FLAGS,
  WRAPPED_ERROR,
} from './textPatterns';

/** A character written as a JSON escape of its code (`\u0077`). */
const UNICODE_ESCAPE = /\\u([0-9a-fA-F]{4})/y;
/** Characters of a key written with escapes read back from its last part. */
const MAX_ESCAPED_KEY = 256;

/**
 * The key characters and JSON `\u` escapes from `from` up to `to` at most, read as what they stand
 * for (`pass\u0077ord` is `password`): where they end and the key they make.
 */
function unescapedKey(
  text: string,
  from: number,
  to: number,
): { end: number; key: string } {
  let key = '';
  let k = from;
  while (k < to) {
    if (isKeyChar(text.charCodeAt(k))) {
      key += text[k++];
      continue;
    }
    UNICODE_ESCAPE.lastIndex = k;
    const escape = text[k] === '\\' ? UNICODE_ESCAPE.exec(text) : null;
    if (!escape) break;
    key += String.fromCharCode(parseInt(escape[1], 16));
    k = UNICODE_ESCAPE.lastIndex;
  }
  return { end: k, key };
}

/**
 * The key whose last part, after a JSON `\u` escape, runs from `start` (just after its `\`) to
 * `end` (`"pass\u0077ord":`, `"\u0070assword":`): where it starts and the key it stands for, read
 * back at most {@link MAX_ESCAPED_KEY} characters; undefined when `start` follows no such escape.
 */
function escapedKeyEndingAt(
  text: string,
  start: number,
  end: number,
): { start: number; key: string } | undefined {
  UNICODE_ESCAPE.lastIndex = start - 1;
  if (start === 0 || !UNICODE_ESCAPE.test(text)) return undefined;
  let from = start - 1;
  const limit = Math.max(0, end - MAX_ESCAPED_KEY);
  while (
    from > limit &&
    (isKeyChar(text.charCodeAt(from - 1)) || text[from - 1] === '\\')
  )
    from--;
  let read = unescapedKey(text, from, end);
  // Another escape before it (`\npass\u0077ord`): the key starts after it.
  while (read.end < end && text[read.end] === '\\') {
    from = read.end + 2;
    read = unescapedKey(text, from, end);
  }
  return read.end === end ? { start: from, key: read.key } : undefined;
}

/** How the pass over free text judges keys and ends values (see `TextRedactionOptions`). */
export type PairRules = {
  placeholder: string;
  cut: boolean;
  /** A key holding a secret word anywhere counts (`tokenCount`), and `true`/`false` are hidden. */
  anyWord: boolean;
  /** `key: value` further right on its line hides one word, not the rest of the line. */
  oneWord: boolean;
};

/**
 * The values of secrets written in free text hidden as `rules.placeholder`, in one left-to-right
 * pass (each character looked at a bounded number of times: linear in the text):
 * - `key: value` and `key=value` whose key names a secret (by its last word: `db.password=x`,
 *   `API_TOKEN: x`, `"clientSecret": "x"`, `"Client Secret": "x"`, not `tokenCount: 3` or
 *   `password-policy updated`; with `anyWord`, by a secret word anywhere); a key closed by a
 *   quote, a JSON-escaped one too (`\"password\":\"x\"`). A quoted value to its closing quote, at
 *   its escape depth, over lines (to the end of the text if it never closes). An unquoted value:
 *   inside brackets to its closing bracket or a `,` before the next `key:`/`key=` pair (at a blank
 *   only before a Go `map[…]`/`&{…}` dump's next `Field:`), inside a `"…"` string (one the key's
 *   own quote opened: `"Authorization: Bearer x"`) to its closing quote; after `: ` to the line
 *   end (and on over the lines below indented deeper than its key), or with `oneWord`, when the
 *   key does not start its line, one word (`with its own credentials: choose the cluster` hides
 *   `choose`); a `Cookie:` to the line end; `key:` alone or with a block header `|`, the lines
 *   below indented deeper (and `- ` entries level with it). `key=value` starting its line (a
 *   properties or env file, after `export ` too) to the line end and its `\`-continued lines,
 *   else one word (`--password=x --port=80`, a log's `token=x done`). Without `anyWord`, `true`
 *   and `false` are settings, kept. The scheme of an `Authorization` value stays:
 *   `Authorization: Bearer x`;
 * - the `value:` of an env entry whose `name:` names a secret, before or after it in the same
 *   entry (`- name: DB_PASSWORD\n  value: x`, `{"value":"x","name":"DB_PASSWORD"}`);
 * - not the names a reference holds (`secretKeyRef: {name: db, key: password}`), nor, in JSON
 *   text, what stands where Kubernetes reads a reference to a Secret and is one (a volume's
 *   `secret` mapping of a reference's fields alone, a `secretName`; see `referenceReader`), nor a
 *   structural key of any kind (a toleration's `key`: see `structuralKeyReader`); such a mapping
 *   holding anything else is hidden whole; nor the Vault path a
 *   `vault.hashicorp.com/agent-inject-secret-<name>` annotation names (`namesSecretPath`);
 * - the body of a private key's PEM block, its armour lines kept (to the end of the text if its
 *   `-----END` line is missing);
 * - a secret flag's next argument (`--password x`, `["--token", "x"]`, `- --token` then `- x`,
 *   openssl's `-pass x`, over a shell's `\`-newline), not after a flag that takes none
 *   (`--password-stdin`) or when it is another flag;
 * - the password short flag of a known command on its line or in its list (`mysql -phunter2`,
 *   `mysql -p x`, `redis-cli -a x`, `zip -P x`, `command:\n- mysql\n- -px`);
 * - `Bearer <token>` (not a word of prose: `bearer tokens`) and `Basic <base64 of user:pass>`.
 * Not a name in a sentence (see `inProse`): a quoted name after a word (`volume "secret-vol" : …`),
 * nor a key ending a phrase before the error it wraps and nothing more (`failed to fetch oauth
 * token: connection refused`, `…: secret "tls-secret" not found`); what follows is read on, its
 * secrets hidden.
 * A URL's scheme and authority are not keys (`https://gitlab-ci-token:…@host`), nor its query and
 * fragment (the URL rules' part). With `cut`, a token running to the end of the text is hidden,
 * whatever it looks like.
 */
/** Characters the look-ahead for a `name:` after a `value:` has read, all texts together. */
let lookaheadSteps = 0;

/**
 * How many characters the look-ahead for a `name:` after a `value:` has read so far, all texts
 * together: what its tests count.
 *
 * @internal
 */
export const nameLookaheadSteps = () => lookaheadSteps;

export function hideSecretPairs(text: string, rules: PairRules): string {
  const { placeholder, cut, anyWord, oneWord } = rules;
  const isKey = anyWord ? holdsSecretWord : isSecretName;
  const n = text.length;
  const ctx = new LineContext(text);
  const isReference = referenceReader(text);
  let out = '';
  let copied = 0;
  // Where the last value hidden ended: a quote before it is not a key's.
  let scanned = 0;
  const hide = (from: number, to: number) => {
    if (to <= from) return;
    const len = placeholder.length;
    // Already hidden, by an earlier pass or a URL's parameters (`token=[REDACTED]&page=2`).
    if (
      text.startsWith(placeholder, from) &&
      (from + len === to || '&#'.includes(text[from + len]))
    )
      return;
    if (!anyWord && to - from <= 5 && BOOLEAN.test(text.slice(from, to)))
      return;
    out += text.slice(copied, from) + placeholder;
    copied = to;
    scanned = to;
  };
  /** Passes over `from` to `to` without reading it (a hidden value), minding its line breaks. */
  const pass = (from: number, to: number, inString = false) => {
    ctx.moveTo(from);
    ctx.skip(to, inString);
    scanned = Math.max(scanned, to);
    return to;
  };
  /**
   * The quote at `k`, if any: `"` or `'`, or a `"` escaped by backslashes (`\"`), with how deep
   * it is escaped and where it ends.
   */
  const quoteAt = (k: number) => {
    const c = text[k];
    if (c === '"' || c === "'") return { quote: c, depth: 0, end: k + 1 };
    if (c !== '\\') return undefined;
    let r = 0;
    while (text[k + r] === '\\') r++;
    if (text[k + r] !== '"') return undefined;
    return { quote: '"', depth: escapeDepth(r), end: k + r + 1 };
  };
  /**
   * Where a quoted value from `from` (after its opening `quote`, escaped `depth` deep) ends: at
   * its closing quote (the backslashes escaping it included), or the end.
   */
  const quotedEnd = (from: number, quote: string, depth: number) => {
    let k = from;
    while (k < n) {
      const c = text[k];
      if (quote === "'") {
        if (c === "'") {
          // YAML doubles a quote inside a single-quoted value (`'it''s'`).
          if (text[k + 1] === "'") k += 2;
          else return k;
        } else k += c === '\\' ? 2 : 1;
      } else if (c === '"') {
        return k;
      } else if (c === '\\') {
        let r = 0;
        while (text[k + r] === '\\') r++;
        if (text[k + r] === '"') {
          // A quote escaped no deeper than the value's closes it (a shallower one ends the
          // string around it); a deeper one is part of it.
          const d = escapeDepth(r);
          if (d <= depth) return k + r - ((1 << d) - 1);
          k += r + 1;
        } else k += r;
      } else k++;
    }
    return n;
  };
  /** Hides the value after its opening `quote` (escaped `depth` deep), which ends at `from`. */
  const hideQuoted = (from: number, quote: string, depth = 0) => {
    const end = quotedEnd(from, quote, depth);
    ctx.moveTo(from);
    hide(from, end);
    return pass(from, end, quote === '"' && depth === 0);
  };
  /** Where the value from `from` to `end` ends, its trailing blanks left out. */
  const trimmedEnd = (from: number, end: number) => {
    let valueEnd = end;
    while (valueEnd > from && isBlank(text[valueEnd - 1])) valueEnd--;
    return valueEnd;
  };
  /** Hides the lines of a value below its key's line (ending at `from`); returns where they end. */
  const hideLines = (keyIndent: number, from: number, entries: boolean) => {
    let end = from;
    for (const [lineStart, lineEnd] of valueLines(
      text,
      keyIndent,
      from,
      entries,
    )) {
      hide(lineStart, lineEnd);
      end = lineEnd;
    }
    return pass(from, end);
  };
  /**
   * Hides the lines that continue a properties value, the one before ending at `valueEnd` (its line
   * at `end`) with an odd number of `\`: each line below, up to one that does not end so or is
   * blank. Returns where the last one ends.
   */
  const hideContinuedLines = (valueEnd: number, end: number) => {
    let last = valueEnd;
    let lineEnd = end;
    for (;;) {
      let slashes = 0;
      while (last - slashes > 0 && text[last - slashes - 1] === '\\') slashes++;
      if (slashes % 2 === 0) break;
      const next = text.indexOf('\n', lineEnd) + 1;
      if (next === 0) break;
      let from = next;
      while (isBlank(text[from])) from++;
      const to = unquotedValueEnd(text, from, true, false, false);
      const value = trimmedEnd(from, to);
      if (value === from) break;
      hide(from, value);
      pass(from, to);
      last = value;
      lineEnd = to;
    }
    return lineEnd;
  };
  /**
   * Hides the unquoted value from `from`: with `line` to its line's end, else one word (inside
   * brackets, to the end of its item: with `pair`, a key's value, up to the next pair (after a
   * `,`, or a blank in a Go `map[…]`/`&{…}` dump); in a string, to its closing quote at the
   * latest); with `continued` (a plain YAML value), also the lines below indented deeper than its
   * key at `keyColumn`; with `backslash` (a properties value), the lines it continues on with a
   * trailing `\`. Returns where it ends.
   */
  const hideUnquoted = (
    from: number,
    line: boolean,
    continued = false,
    keyColumn = 0,
    backslash = false,
    pair = false,
  ) => {
    ctx.moveTo(from);
    const flow = ctx.depth > 0;
    const inString = ctx.inString;
    // A value hidden already: its placeholder's `]` does not end it (`[password=[REDACTED]]`).
    const start = text.startsWith(placeholder, from)
      ? from + placeholder.length
      : from;
    let end = unquotedValueEnd(
      text,
      start,
      line || flow,
      inString,
      flow,
      pair,
      flow && opensGoDump(text, ctx.innermostAt),
    );
    const lineEnds = end === n || text[end] === '\n' || text[end] === '\r';
    const valueEnd = line || flow ? trimmedEnd(from, end) : end;
    hide(from, valueEnd);
    pass(from, end);
    if (lineEnds && !flow && !inString) {
      if (continued) end = hideLines(keyColumn, end, false);
      else if (backslash) end = hideContinuedLines(valueEnd, end);
    }
    return end;
  };
  /** Hides a flag's value at `value` (see `flagValueStart`); returns where it ends. */
  const hideFlagValue = ([at, line]: [number, boolean]) => {
    const quote = quoteAt(at);
    return quote
      ? hideQuoted(quote.end, quote.quote, quote.depth)
      : hideUnquoted(at, line);
  };
  /** Whether `k` follows a string's escape of a line break or tab (`\n`, `\r`, `\t`). */
  const afterEscape = (k: number) =>
    k >= 2 && text[k - 2] === '\\' && 'nrt'.includes(text[k - 1]);
  /** The key or flag from `start` with its opening quote, if any (`"password"`, `'-p'`). */
  const quotedStart = (start: number) =>
    start > scanned && isQuote(text[start - 1]) ? start - 1 : start;
  /** Whether the key from `keyStart` starts its line: its first word, or the one after `export `. */
  let exportLine = -1;
  let exportEnd = -1;
  const startsLine = (keyStart: number) => {
    if (ctx.firstWord === keyStart) return true;
    if (ctx.firstWord < 0) return false;
    if (exportLine !== ctx.lineStart) {
      exportLine = ctx.lineStart;
      EXPORT.lastIndex = ctx.firstWord;
      exportEnd = EXPORT.test(text) ? EXPORT.lastIndex : -1;
    }
    return exportEnd === keyStart;
  };
  /**
   * After a `name` key ending at `end`: whether it is `name: <whole name>` (undefined when it is
   * not such a pair), and whether that name names a secret.
   */
  const readName = (end: number): boolean | undefined => {
    let sep = end;
    const closing = quoteAt(end);
    if (closing) sep = closing.end;
    while (isBlank(text[sep])) sep++;
    if (text[sep] !== ':') return undefined;
    let k = sep + 1;
    while (isBlank(text[k])) k++;
    const quote = quoteAt(k);
    const from = quote ? quote.end : k;
    // A name written with JSON escapes (`DB_P\u0041SSWORD`) is the name it stands for.
    const read = unescapedKey(text, from, Math.min(n, from + MAX_ESCAPED_KEY));
    const to = read.end;
    const whole =
      to > from &&
      (quote
        ? quoteAt(to) !== undefined
        : to === n || isSpace(text[to]) || ',}]'.includes(text[to]));
    return whole && isKey(read.key);
  };
  /**
   * Whether the entry of a `value:` whose value starts at `from` names a secret after it: a
   * `name:` later on its line or on the next one, before its mapping, list or list item ends and
   * before another `value:`, within {@link NAME_LOOKAHEAD_CHARS}.
   *
   * The look-aheads of one text read at most {@link lookaheadBudget} characters in all: text dense
   * in `value:` keys it does not stop at (`value:\nvalue:\n…` written with escapes, `value:[value:[…`)
   * had each read 512 characters on, 64 times the text. A look-ahead the budget cuts short finds a
   * name (fail closed: its value is hidden).
   */
  /** What the look-aheads for a `name:` may still read: four times the text, and 4 KiB. */
  let lookaheadBudget = 4 * n + 4096;
  const nameFollows = (from: number): boolean => {
    const reach = Math.min(n, from + NAME_LOOKAHEAD_CHARS);
    const limit = Math.min(reach, from + lookaheadBudget);
    /** What a look-ahead that reaches `limit` answers: a name when the budget cut it short (`cutShort`). */
    const cutShort = limit < reach;
    let newlines = 0;
    let k = from;
    try {
      return lookFrom();
    } finally {
      const read = Math.max(0, Math.min(k, limit) - from);
      lookaheadSteps += read;
      lookaheadBudget -= read;
    }
    function lookFrom(): boolean {
      while (k < limit) {
        const c = text[k];
        if (c === '\n') {
          if (++newlines > NAME_LOOKAHEAD_LINES) return false;
          LINE_PREFIX.lastIndex = k + 1;
          const prefix = LINE_PREFIX.exec(text)!;
          if (prefix[2]) return false;
          k += 1 + prefix[0].length;
        } else if (c === '}' || c === ']') {
          return false;
        } else if (c === '{' || c === '[') {
          // A mapping or list inside the entry (`"valueFrom":{"secretKeyRef":{…}}`): passed over on
          // its line, the names it holds its own.
          let depth = 0;
          let inString = false;
          for (; k < limit; k++) {
            const d = text[k];
            if (inString) {
              if (d === '\\') k++;
              else if (d === '"') inString = false;
            } else if (d === '"') inString = true;
            else if (d === '\n') return false;
            else if (d === '{' || d === '[') depth++;
            else if ((d === '}' || d === ']') && --depth === 0) break;
          }
          if (k >= limit) return cutShort;
          k++;
        } else if (isKeyChar(text.charCodeAt(k))) {
          let e = k;
          while (e < limit && isKeyChar(text.charCodeAt(e))) e++;
          const word = text.slice(k, e).toLowerCase();
          if (word === 'value') return false;
          if (word === 'name') {
            const secret = readName(e);
            if (secret !== undefined) return secret;
          }
          k = e;
        } else k++;
      }
      return cutShort;
    }
  };
  /**
   * Whether the `key:` from `keyStart` (starting its line) belongs to a reference's block mapping
   * (`secretKeyRef:\n  name: db\n  key: password`): the first line above indented less than it,
   * over at most {@link MAX_PARENT_LOOKBACK} lines, is a reference key alone on its line.
   */
  const inReferenceBlock = (keyStart: number): boolean => {
    const column = keyStart - ctx.lineStart;
    let start = ctx.lineStart;
    for (let m = 0; m < MAX_PARENT_LOOKBACK && start > 0; m++) {
      const prevEnd = start - 1;
      const prev = prevEnd === 0 ? 0 : text.lastIndexOf('\n', prevEnd - 1) + 1;
      let c = prev;
      while (isBlank(text[c])) c++;
      start = prev;
      if (c >= prevEnd || text[c] === '\r') continue;
      if (c - prev >= column) continue;
      if (text[c] === '-' && isBlank(text[c + 1])) c += 2;
      if (isQuote(text[c])) c++;
      let e = c;
      while (e < prevEnd && isKeyChar(text.charCodeAt(e))) e++;
      if (!isReferenceKey(text.slice(c, e))) return false;
      if (isQuote(text[e])) e++;
      while (isBlank(text[e])) e++;
      if (text[e] !== ':') return false;
      e++;
      while (e < prevEnd && isSpace(text[e])) e++;
      return e >= prevEnd;
    }
    return false;
  };
  /**
   * Whether the phrase ending at `phraseEnd` ends the value it stands in, which starts at `from`:
   * nothing but blanks follows it on its line (and no line below is indented deeper than the
   * key's line, a value's continuation), or the closing quote of the string the value is in (or
   * a quote or `)` ending its line). In a text cut short, one that runs to the cut may be the
   * start of a value (`Invalid…`, `EOF …`).
   */
  const endsValue = (from: number, phraseEnd: number): boolean => {
    let k = phraseEnd;
    while (isBlank(text[k])) k++;
    let c = text[k];
    if (k < n && c !== '\n' && c !== '\r') {
      ctx.moveTo(from);
      // Whether `k` is in the string the value is in, its quotes read as `LineContext` reads them.
      let inString = ctx.inString;
      for (let q = from; q < k; q++) {
        if (inString && text[q] === '\\') q++;
        else if (text[q] === '"') inString = !inString;
      }
      if (c === '"' && inString) return true;
      while (k < n && (c === '"' || c === "'" || c === ')')) c = text[++k];
      while (isBlank(text[k])) k++;
      c = text[k];
      if (k < n && c !== '\n' && c !== '\r') return false;
    }
    if (k >= n) return !cut;
    // A line below indented deeper than the key's carries its value on.
    ctx.moveTo(from);
    const indent = keyLineIndent(text, ctx.lineStart);
    let next = text.indexOf('\n', k);
    while (next !== -1) {
      let c2 = next + 1;
      while (isBlank(text[c2])) c2++;
      if (c2 < n && text[c2] !== '\n' && text[c2] !== '\r')
        return c2 - (next + 1) <= indent;
      next = text.indexOf('\n', c2);
    }
    return true;
  };
  /** Each place a chain of wrapped errors was read from, and whether it ended its value. */
  const chains = new Map<number, boolean>();
  /**
   * Whether what starts at `from`, after a blank following the `:` at `sep`, is an error the text
   * wraps (`connection refused`, `secret "tls-secret" not found`, see `WRAPPED_ERROR`), not a
   * value: phrases joined by `: ` (`oauth2: cannot fetch token: 401 Unauthorized`), each complete
   * (`dial tcp ` and `Post "https://…": ` only before another), the last ending the value (see
   * `endsValue`). Whatever else follows is a value, hidden with the phrase. Each place is read
   * once.
   */
  const wrapsError = (sep: number, from: number): boolean => {
    if (from === sep + 1) return false;
    const read: number[] = [];
    let at = from;
    let ends: boolean | undefined;
    while (ends === undefined) {
      ends = chains.get(at);
      if (ends !== undefined) break;
      read.push(at);
      WRAPPED_ERROR.lastIndex = at;
      if (!WRAPPED_ERROR.test(text)) ends = false;
      else {
        const k = WRAPPED_ERROR.lastIndex;
        if (isBlank(text[k - 1])) at = k;
        else if (text[k] === ':' && text[k + 1] === ' ') at = k + 2;
        else ends = endsValue(from, k);
      }
    }
    for (const k of read) chains.set(k, ends);
    return ends;
  };
  /**
   * Whether the `key:` from `keyStart` (its `:` at `sep`, its value at `from`) names something in
   * a sentence, not a key: it follows a word and a blank (a key of JSON, YAML or a Go dump follows
   * a bracket, a `,`, a `:` or its line's start), and what follows is the error it wraps: a quoted
   * name (`volume "secret-vol" : secret "tls-secret" not found`) or a phrase's end (`failed to
   * fetch oauth token: connection refused`). A quoted key whose value is not such an error is a
   * key (`request body "password": "x"`). The blanks before a key are read once, by it.
   */
  const inProse = (keyStart: number, sep: number, from: number): boolean => {
    let k = keyStart;
    while (k > 0 && text[k - 1] === '\\') k--;
    if (k === 0 || !isBlank(text[k - 1])) return false;
    while (k > 0 && isBlank(text[k - 1])) k--;
    if (k === 0 || !isAlphanumeric(text.charCodeAt(k - 1))) return false;
    return wrapsError(sep, from);
  };
  /** The flow mapping a reference key opened (`secretKeyRef: {`), while it is open. */
  let reference: { id: number; depth: number } | undefined;
  /** The `name:` of an env entry that named a secret, where it stood, for the `value:` after it. */
  let secretName: { line: number; id: number; closed: number } | undefined;
  /**
   * The flow mappings (by the number each was opened with) whose `name` names a secret: their
   * `value` is hidden wherever it stands in them, after a reference's mapping too
   * (`{"name":"DB_PASSWORD","valueFrom":{…},"value":"x"}`).
   */
  const secretMappings = new Set<number>();
  /** Whether a `value:` at the current place belongs to the entry `secretName` stands in. */
  const sameEntry = (named: NonNullable<typeof secretName>) => {
    if (ctx.closed !== named.closed) return false;
    if (ctx.line === named.line) return ctx.innermost === named.id;
    if (ctx.line - named.line > NAME_LOOKAHEAD_LINES || ctx.depth > 0)
      return false;
    LINE_PREFIX.lastIndex = ctx.lineStart;
    return !LINE_PREFIX.exec(text)![2];
  };
  /**
   * The command of `SECRET_SHORT_FLAGS` last seen, its flag and where that flag counts: the rest of
   * its line (from `lineStart`), and, when `list` is set (the command alone on its line), the lines
   * below with the same indentation and list marker.
   */
  let command:
    | { flag: string; lineStart: number; list?: CommandList }
    | undefined;
  const noteCommand = (wordStart: number, wordEnd: number, flag: string) => {
    ctx.moveTo(wordEnd);
    // The start of the command's word, its path and opening quote included.
    let word = wordStart;
    while (word > ctx.lineStart && /[\w.~/-]/.test(text[word - 1])) word--;
    if (word > ctx.lineStart && isQuote(text[word - 1])) word--;
    COMMAND_ALONE.lastIndex = wordEnd;
    let list: CommandList | undefined;
    if (word === ctx.firstWord && COMMAND_ALONE.test(text)) {
      LINE_PREFIX.lastIndex = ctx.lineStart;
      const own = LINE_PREFIX.exec(text)!;
      const end = COMMAND_ALONE.lastIndex;
      list = {
        indent: own[1],
        marker: !!own[2],
        checked: text[end] === '\r' ? end + 1 : end,
        key: commandKeyIndent(text, ctx.lineStart, own[1], !!own[2]),
      };
    }
    command = { flag, lineStart: ctx.lineStart, list };
  };
  /** Whether `pos` is where the last command's flag counts (see `command`). */
  const inCommand = (pos: number) => {
    if (!command) return false;
    ctx.moveTo(pos);
    if (ctx.lineStart === command.lineStart) return true;
    if (command.list && listReaches(text, command.list, ctx.lineStart, pos))
      return true;
    command.list = undefined;
    return false;
  };
  /** Where the token of the last URL seen starts, and how far it is known to run on. */
  let urlAt = -1;
  let urlChecked = -1;
  /** Whether the last URL seen has a scheme (`https://h/x`), not a path alone (`/x`). */
  let urlScheme = false;
  /**
   * Whether `k` ends the token of a URL: a blank, a quote, `<`, `>`, a backtick, or a backslash (an
   * escape of a string holding the URL: `\n`, `\"`, after which another line's key follows).
   */
  const endsUrl = (k: number) => endsToken(text[k]) || text[k] === '\\';
  /**
   * Whether the word at `pos`, right after a `/`, is in the token of the last URL with a scheme
   * seen: the last segment of its path (`Post "https://h/oauth/token": EOF`), not a key. Each
   * character is read once.
   */
  const inUrl = (pos: number) => {
    if (urlAt === -1 || !urlScheme || text[pos - 1] !== '/') return false;
    let k = Math.max(urlChecked, urlAt);
    while (k < pos && !endsUrl(k)) k++;
    urlChecked = k;
    if (k < pos) urlAt = -1;
    return k === pos;
  };

  /** Reads what `NEXT` found from `at` to `end` (`match`); returns where the pass goes on. */
  const visit = (at: number, end: number, match: string): number => {
    // A word after a string's escape (`\npassword:`): the escape's letter is not part of it,
    // unless it makes a secret key (`\token:`).
    const escaped =
      afterEscape(at + 1) &&
      end - at > 1 &&
      !match.includes('://') &&
      !isKey(match);
    const start = escaped ? at + 1 : at;
    const found = escaped ? match.slice(1) : match;
    let i = end;
    if (end - start === 1 && !isKeyChar(text.charCodeAt(start))) {
      const c = text[start];
      // A shell's `;`, `|` or `&` ends the command whose flag counts.
      if (c === ';' || c === '|' || c === '&') {
        if (command && !command.list) command = undefined;
      } else if (c === '/') {
        if (start === 0 || endsToken(text[start - 1])) {
          // A path (`GET /cb?code=x`): its query is the URL rules'.
          urlAt = start;
          urlChecked = start;
          urlScheme = false;
        }
      } else if (urlAt !== -1) {
        // `?` or `#`: in a URL's token, its query and fragment, to the token's end, whose
        // secrets the URL rules hid.
        let k = Math.max(urlChecked, urlAt);
        while (k < start && !endsUrl(k)) k++;
        urlChecked = k;
        urlAt = -1;
        if (k === start) {
          while (i < n && !endsUrl(i)) i++;
        }
      }
      return i;
    }
    if (found.includes('://')) {
      // A URL's scheme and authority (`https://gitlab-ci-token:x@host`) hold no key.
      urlAt = start;
      urlChecked = start;
      urlScheme = true;
      return i;
    }
    // A key written with JSON escapes (`"pass\u0077ord":`): judged as the key it stands for, and
    // never as a reference's (what such a key holds is not kept as a name).
    const escapedKey = escapedKeyEndingAt(text, start, end);
    const word = escapedKey ? escapedKey.key : text.slice(start, end);
    const lower = word.toLowerCase();
    const before = start > 0 ? text[start - 1] : undefined;

    if (word === '-----BEGIN') {
      PRIVATE_KEY_BEGIN.lastIndex = end;
      if (PRIVATE_KEY_BEGIN.test(text)) {
        const body = PRIVATE_KEY_BEGIN.lastIndex;
        const close = text.indexOf(PEM_END, body);
        const bodyEnd = close === -1 ? n : close;
        let from = body;
        while (isSpace(text[from])) from++;
        let to = bodyEnd;
        while (to > from && isSpace(text[to - 1])) to--;
        hide(from, to);
        i = pass(body, bodyEnd);
        return i;
      }
    }

    // `key: value`, `key=value`, `"key": "value"`, `"Client Secret": "value"`, `\"key\":\"value\"`.
    let sep = end;
    const closing = quoteAt(end);
    if (closing) sep = closing.end;
    while (isBlank(text[sep])) sep++;
    if (text[sep] === ':' || text[sep] === '=') {
      const colon = text[sep] === ':';
      const isReferenceName = !escapedKey && isReferenceKey(word);
      const named =
        colon &&
        (lower === 'key' ||
          lower === 'name' ||
          lower === 'value' ||
          isReferenceName);
      const secretWord =
        isKey(word) ||
        (word.startsWith('-') && PASS_FLAGS.has(word.replace(/^--?/, '')));
      if (!named && !secretWord) {
        // An ordinary key (most of them): what surrounds it is not read.
        i = sep + 1;
        return i;
      }
      let from = sep + 1;
      while (isBlank(text[from])) from++;
      if (colon && inUrl(start) && wrapsError(sep, from)) {
        // A URL's path before the error its request met (`Post "https://h/oauth/token": EOF`).
        i = sep + 1;
        return i;
      }
      ctx.moveTo(end);
      const keyStart = quotedStart(escapedKey ? escapedKey.start : start);
      if (reference && !ctx.isOpen(reference.id, reference.depth))
        reference = undefined;
      // The names a reference holds: `secretKeyRef: {name: db, key: password}`.
      const inReference =
        colon &&
        !escapedKey &&
        (lower === 'key' || lower === 'name') &&
        (reference !== undefined ||
          (startsLine(keyStart) && inReferenceBlock(keyStart)));
      if (colon && isReferenceName) {
        if (text[from] === '{') {
          ctx.moveTo(from + 1);
          reference = { id: ctx.innermost, depth: ctx.depth };
        }
        i = sep + 1;
        return i;
      }
      if (colon && lower === 'name') {
        // `name: DB_PASSWORD`: the `value:` of its entry, on its line or the next, is that variable's.
        // A reference's own `name` (`secretKeyRef: {name: db}`) leaves its variable's as it was.
        if (!inReference) {
          const names = readName(end);
          secretName = names
            ? { line: ctx.line, id: ctx.innermost, closed: ctx.closed }
            : undefined;
          if (names && ctx.depth > 0) secretMappings.add(ctx.innermost);
        }
        i = sep + 1;
        return i;
      }
      let secret: boolean;
      if (colon && lower === 'value') {
        secret =
          (ctx.depth > 0 && secretMappings.has(ctx.innermost)) ||
          (secretName !== undefined && sameEntry(secretName)) ||
          nameFollows(from);
        secretName = undefined;
      } else {
        secret = !inReference && secretWord;
      }
      if (!secret) {
        i = sep + 1;
        return i;
      }
      if (!escapedKey && namesSecretPath(text, start, end, from)) {
        // An annotation naming where a secret is kept (a Vault path), not the secret: read on.
        i = sep + 1;
        return i;
      }
      const asReference =
        colon && !escapedKey && isReference(ctx.openedAt, word, from);
      if (asReference === true) {
        // Where Kubernetes reads a reference (a volume's `secret`, a `secretName`), a name, or a
        // mapping of a reference's fields alone: read on, key by key.
        i = sep + 1;
        return i;
      }
      if (typeof asReference === 'number') {
        // Such a mapping or list holding anything else: hidden whole.
        ctx.moveTo(from);
        hide(from, asReference);
        i = pass(from, asReference);
        return i;
      }
      if (colon && lower !== 'value' && inProse(keyStart, sep, from)) {
        i = sep + 1;
        return i;
      }
      if (text.startsWith('-----BEGIN', from)) {
        // A private key as the value (`key: -----BEGIN RSA PRIVATE KEY-----` and its lines): hidden
        // from its armour to its END line, not only to the end of the key's line, which left the
        // key's body, on the lines below, in clear.
        PRIVATE_KEY_BEGIN.lastIndex = from + '-----BEGIN'.length;
        if (PRIVATE_KEY_BEGIN.test(text)) {
          const close = text.indexOf(PEM_END, PRIVATE_KEY_BEGIN.lastIndex);
          let to = close === -1 ? n : close;
          while (to > from && isSpace(text[to - 1])) to--;
          ctx.moveTo(from);
          hide(from, to);
          i = pass(from, to);
          return i;
        }
      }
      const quote = quoteAt(from);
      if (quote) {
        i = hideQuoted(quote.end, quote.quote, quote.depth);
        return i;
      }
      const lineEnds = from >= n || text[from] === '\n' || text[from] === '\r';
      BLOCK_HEADER.lastIndex = from;
      if (colon && (lineEnds || BLOCK_HEADER.test(text))) {
        // `credentials:` or `password: |`: its value is the lines below, indented deeper.
        ctx.moveTo(from);
        i = hideLines(
          keyLineIndent(text, ctx.lineStart),
          lineEnds ? from : BLOCK_HEADER.lastIndex,
          lineEnds,
        );
        return i;
      }
      if (lineEnds) {
        i = from;
        return i;
      }
      if (lower.endsWith('authorization')) {
        AUTH_SCHEME.lastIndex = from;
        if (AUTH_SCHEME.test(text)) from = AUTH_SCHEME.lastIndex;
      }
      ctx.moveTo(from);
      if (isQuote(before) && keyStart < start && !closing) {
        // In a string the key's quote opened: `"Authorization: Bearer x"`, `'DB_PASSWORD=a b'`,
        // `["--password=a b"]`: to its closing quote.
        i = hideQuoted(from, before);
        return i;
      }
      const spaced = from > sep + 1;
      const atLineStart = startsLine(keyStart);
      if (colon) {
        // A key that starts its line (YAML, a header) to its end, and the lines below indented
        // deeper; further right, to the end too, or one word with `oneWord`
        // (`with its own credentials: choose …`); a cookie's list of pairs to the line end;
        // `key:value` is one word, but with `oneWord` (the audit trail's rule) one that starts its
        // line runs to its end too (`PASSWORD:correct horse`).
        const line =
          lower.endsWith('cookie') ||
          (atLineStart && (spaced || oneWord)) ||
          (spaced && (!oneWord || ctx.inString));
        i = hideUnquoted(
          from,
          line,
          line && spaced,
          keyStart - ctx.lineStart,
          false,
          true,
        );
      } else {
        // A properties or env file's line (`DB_PASSWORD=a b`) to its end; else one word
        // (`--password=x --port=80`, a log's `token=x done`).
        const properties =
          (atLineStart && !word.startsWith('-')) || (spaced && !oneWord);
        i = hideUnquoted(from, properties, false, 0, properties, true);
      }
      return i;
    }

    const flag = SECRET_SHORT_FLAGS.get(lower);
    if (
      flag &&
      (before === undefined ||
        isWordStart(before) ||
        '=/'.includes(before) ||
        afterEscape(start)) &&
      (end === n || AFTER_COMMAND.test(text[end]))
    ) {
      noteCommand(start, end, flag);
      return i;
    }

    if (word.startsWith('-') && (isWordStart(before) || afterEscape(start))) {
      const keyStart = quotedStart(start);
      if (command && word.startsWith(command.flag) && inCommand(start)) {
        // Only the command's first such flag: `mysql -p -u root` prompts.
        const rest = start + command.flag.length;
        command = undefined;
        const next = text[rest];
        if (
          next === undefined ||
          isSpace(next) ||
          ',)]}'.includes(next) ||
          (keyStart < start && next === text[keyStart])
        ) {
          // `-p hunter2`, `"-p", "hunter2"`, `- -p` then `- hunter2`.
          const value = flagValueStart(text, ctx, keyStart, rest, '-');
          i = value ? hideFlagValue(value) : rest;
        } else {
          // `-phunter2`, `-p"two words"`, `"-phunter2"` (to its closing quote).
          i = hideUnquoted(rest, false);
        }
        return i;
      }
      const name = word.replace(/^--?/, '');
      if ((PASS_FLAGS.has(name) || isKey(name)) && !NO_VALUE_FLAG.test(word)) {
        const value = flagValueStart(text, ctx, keyStart, end);
        if (value) i = hideFlagValue(value);
        return i;
      }
    }

    if ((lower === 'bearer' || lower === 'basic') && isBlank(text[end])) {
      let from = end;
      while (isBlank(text[from])) from++;
      let to = from;
      while (to < n && isTokenChar(text[to])) to++;
      while (text[to] === '=') to++;
      const token = text.slice(from, to);
      const atCut = cut && to === n;
      if (
        token &&
        (atCut ||
          (lower === 'bearer'
            ? !PLAIN_WORD.test(token)
            : isBasicCredential(token)))
      ) {
        hide(from, to);
        i = to;
        return i;
      }
    }

    return i;
  };

  // The loop stays small (what it finds is read by `visit`): the engine optimises it early.
  for (let i = 0; i < n; ) {
    // The next word, or the next character that ends a command or starts a path or a query.
    NEXT.lastIndex = i;
    const next = NEXT.exec(text);
    if (!next) break;
    i = visit(next.index, NEXT.lastIndex, next[0]);
  }
  return copied === 0 ? text : out + text.slice(copied);
}
