import { Plan } from '@kubechart/plugin-assistant-common';

/**
 * Redaction of what the assistant shows and records. The rules mirror those of the KubeChart family
 * (`isSecretKey`/`redactObject` of `@kubechart/plugin-kubechart-node`); the two families install
 * separately, so the assistant keeps its own copy rather than depending on KubeChart's packages.
 */

/** What replaces a hidden value. */
export const REDACTED = '***';

const SECRET_KEY = /password|passwd|token|secret|key|credential/i;

/** Whether a key or env name holds a secret (password, passwd, token, secret, key, credential). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** kubectl's copy of the whole object as last applied: values in clear, whatever the kind. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** `<123 bytes, hidden on a Secret>`: the size of a value that is not shown. */
export function hiddenSize(value: unknown, why?: string): string {
  return `<${Buffer.byteLength(String(value))} bytes, hidden${
    why ? ` ${why}` : ''
  }>`;
}

/** Characters that end the authority (`user:pass@host`) of a URL. */
const AUTHORITY_END = /[\/?#\s"'<>`\\]/;
/** Characters that end a word of text. */
const WORD_END = /\s/;

/**
 * `scheme://user:pass@host` → `scheme://user:***@host`, for every URL of the text. A password may
 * hold what ends an authority (`https://app:a/b@host`, `redis://:a#b@redis`): when a `user:` has
 * no `@` before its authority ends, the password runs to the last `@` of the same word (a word
 * without one is a `host:port` and its path, shown). One pass: each character is looked at a
 * bounded number of times (the last `@` of a word is looked for once), so any text costs linear time.
 */
export function hideUrlCredentials(text: string): string {
  let out = '';
  let copied = 0;
  let from = 0;
  // The last word looked through for an `@`: where it ends, and its last `@` (-1 when none).
  let wordEnd = -1;
  let wordAt = -1;
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', from)) {
    const start = i + 3;
    let end = start;
    let at = -1;
    let colon = -1;
    while (end < text.length && !AUTHORITY_END.test(text[end])) {
      if (text[end] === '@') at = end;
      else if (text[end] === ':' && colon === -1) colon = end;
      end++;
    }
    from = end;
    if (
      at === -1 &&
      colon !== -1 &&
      end < text.length &&
      !WORD_END.test(text[end])
    ) {
      // `user:` then a character that ends an authority: the password may run on to an `@`.
      if (end >= wordEnd) {
        wordEnd = end;
        wordAt = -1;
        while (wordEnd < text.length && !WORD_END.test(text[wordEnd])) {
          if (text[wordEnd] === '@') wordAt = wordEnd;
          wordEnd++;
        }
      }
      if (wordAt > end) {
        at = wordAt;
        from = wordAt;
      }
    }
    // `user:pass@host`: a colon before the last `@`, and something between them.
    if (at === -1 || colon === -1 || colon + 1 >= at) continue;
    out += text.slice(copied, colon + 1) + REDACTED;
    copied = at;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Commands whose short flag takes a password (a command is found in any case, `MYSQL`), and that
 * flag (case counts: `mysql -P 3306` is a port): `mysql -phunter2`, `mysqldump -p hunter2`, `sshpass -p x`, `redis-cli -a x`, `zip -P x`.
 * Such a flag counts only in the command's context (see the pass over free text below), as elsewhere
 * `-p` is a port (`ssh -p 2222`, `docker run -p8080:80`) or `mkdir -p`.
 */
const SECRET_SHORT_FLAGS = new Map<string, string>([
  ...[
    'mysql',
    'mysqldump',
    'mysqladmin',
    'mysqlimport',
    'mysqlcheck',
    'mysqlshow',
    'mysqlpump',
    'mysqlslap',
    'mariadb',
    'mariadb-dump',
    'mariadb-admin',
    'mariadb-import',
    'mariadb-check',
    'mariadb-show',
    'sshpass',
    'mongo',
    'mongosh',
    'mongodump',
    'mongorestore',
    'mongoexport',
    'mongoimport',
    'mongostat',
    'mongotop',
    'mongofiles',
    '7z',
    '7za',
  ].map(c => [c, '-p'] as [string, string]),
  ['redis-cli', '-a'],
  ['valkey-cli', '-a'],
  ['zip', '-P'],
  ['unzip', '-P'],
]);
/**
 * What the pass over free text looks for, leftmost first: (1) a command of `SECRET_SHORT_FLAGS` as
 * a word of its own (after a blank, a quote, `[`, `,`, `(`, `=` or a path's `/`), (2) `--pass`, and
 * openssl's `-pass`, `-passin`, `-passout`, as whole flags, (3) a short flag `-p`, `-P` or `-a`
 * (both after a blank, a quote, `[`, `,` or `(`), else a word holding one `isSecretKey` looks for.
 * The character before a command or flag is part of the match: a lookbehind makes the scan of
 * ordinary text twice as slow.
 */
const PAIR_SCAN = new RegExp(
  `(?:^|[\\s"'\\[,(=/])(${[...SECRET_SHORT_FLAGS.keys()]
    .sort((a, b) => b.length - a.length)
    .map(c => c.replace(/[-.]/g, '\\$&'))
    .join(
      '|',
    )})(?=[\\s"',\\]);|&]|$)|(?:^|[\\s"'\\[,(])(?:(--?pass(?:in|out)?)(?![\\w.-])|(-[pPa]))|${
    SECRET_KEY.source
  }`,
  'gi',
);
/**
 * Flags named after a secret that take no value, so their next argument is not one:
 * `--password-stdin` (the secret is read from stdin), `--no-password`, `--ask-password`.
 */
const NO_VALUE_FLAG = /^--?(?:no|ask|prompt)[-_]|[-_]stdin$/i;
/** The rest of a command's line when nothing follows the command (`- mysqldump`, `"mysqldump",`). */
const COMMAND_ALONE = /["']?,?[ \t]*(?=\r?\n|$)/y;
/** A `command:` key alone on its line (YAML, `kubectl describe`'s `Command:`), its indentation. */
const COMMAND_KEY = /([ \t]*)["']?command["']?[ \t]*:[ \t]*(?=\r?\n)/iy;
/** An `args:` key alone on its line (YAML, `kubectl describe`'s `Args:`). */
const ARGS_KEY = /[ \t]*["']?args["']?[ \t]*:[ \t]*(?=\r?\n)/iy;
/** At most this many lines of a command's list are passed over, upwards, to find its `command:` key. */
const MAX_COMMAND_LOOKBACK = 16;
/** `export ` before the first key of a shell-sourced env file's line. */
const EXPORT = /export[ \t]+/y;
/**
 * Ordinary words holding `key` that name no secret, left out of a key of free text before it is
 * judged: `keyboard: us` is shown, `keyboard.password`, `api-key` and `keypass` are not.
 */
const ORDINARY_WORDS =
  /keyboard|keyword|keyframe|keystroke|monkey|donkey|turkey|hockey|jockey|whiskey/gi;
const KEY_CHAR = /[\w.-]/;
/** A key's closing quote, then `:` or `=` on the same line, then a value's opening quote. */
const PAIR_SEPARATOR = /["']?[ \t]*([:=])[ \t]*(["']?)/y;
/** A YAML block scalar's header up to its line end: `|`, `>-`, `!!binary |`, `| # comment`. */
const BLOCK_HEADER =
  /(?:[!&]\S*[ \t]+){0,2}[|>][-+1-9]{0,2}[ \t]*(?:#[^\r\n]*)?(?=\r?\n|$)/y;
/** Between a flag (`--password`) and its value as the next argument: blanks, a shell's `\`-newlines. */
const FLAG_GAP = /(?:[ \t]|\\\r?\n)+/y;
/** Between a flag and its value as the next item of a list (`"--password", "x"`), lines included. */
const LIST_GAP = /[ \t]*,\s*/y;
/** Nothing more on a flag's line: its value, if any, is the next line (`- --password` then `- x`). */
const LINE_REST = /[ \t]*(?=\r?\n)/y;
/** A line's indentation, and the `- ` of a YAML list item. */
const LINE_PREFIX = /([ \t]*)(-[ \t]+)?/y;

/**
 * Whether the key at `keyStart` is the user of a URL: the start of its authority (`https://key:`),
 * looked for back to `scanned` at the latest.
 */
function urlUserAt(text: string, keyStart: number, scanned: number): boolean {
  let i = keyStart;
  while (
    i > scanned &&
    !AUTHORITY_END.test(text[i - 1]) &&
    text[i - 1] !== ':' &&
    text[i - 1] !== '@'
  )
    i--;
  return i >= 3 && text.startsWith('://', i - 3);
}

/** Whether `key`, a whole key of free text (`stripe.api-key`), is secret by {@link isSecretKey}. */
function isSecretPairKey(key: string): boolean {
  return isSecretKey(key.replace(ORDINARY_WORDS, ''));
}

/** A key whose last word is one {@link isSecretKey} looks for: `db.password`, `API_TOKEN`, `apiKey`. */
const WHOLE_SECRET_KEY = new RegExp(
  `(?:${SECRET_KEY.source}|credentials)$`,
  'i',
);
/** A boolean, which is a setting whatever its key: `automountServiceAccountToken: false`. */
const BOOLEAN = /^(?:true|false)$/i;

/**
 * Whether `key`, a whole key of free text, names a secret as a whole: its last word does
 * (`db.password`, `API_TOKEN`, `--db-password`, `apiKey`), not a setting that only mentions one
 * (`auth.token.ttl`, `--authentication-token-webhook`, `--secret-name`, `--token-auth-file`).
 */
function isWholeSecretKey(key: string): boolean {
  return WHOLE_SECRET_KEY.test(key.replace(ORDINARY_WORDS, ''));
}

/**
 * The indentation of the `command:` key a list of commands stands under (its items indented
 * `indent`, with a `- ` marker or not; the command's own line starts at `lineStart`), passing over
 * at most {@link MAX_COMMAND_LOOKBACK} items above it; undefined when there is none.
 */
function commandKeyIndent(
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
 * What surrounds a place of free text, read left to right once: its line's start, where the line's
 * first word starts (after indentation and a YAML list's `- `), how many `{`, `[` and `(` of the line
 * are open, and whether it is inside a `"…"` string; so that a value ends where its object, list or
 * string does (`{password: a b, mode: c}`, `msg="password: a b" user=c`).
 */
class LineContext {
  lineStart = 0;
  /** Where the line's first word starts: -1 while none was read, -2 when a hidden value took it. */
  firstWord = -1;
  depth = 0;
  inString = false;
  private at = 0;

  constructor(private readonly text: string) {}

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
      else if (c === '{' || c === '[' || c === '(') this.depth++;
      else if ((c === '}' || c === ']' || c === ')') && this.depth > 0)
        this.depth--;
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
    this.lineStart = start;
    this.firstWord = -1;
    this.depth = 0;
    this.inString = false;
  }
}

/**
 * Where the value quoted by `quote` from `from` ends: at its closing quote, on a later line if the
 * value runs over lines (a YAML quoted scalar, a value printed with its line breaks). When it never
 * closes, where it ends cannot be known, and the value runs to the end of the text.
 */
function quotedValueEnd(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === quote) {
      // YAML doubles a quote inside a single-quoted value (`'it''s'`, `'''quoted'''`).
      if (quote === "'" && text[i + 1] === "'") i += 2;
      else return i;
    } else i += quote === '"' && text[i] === '\\' ? 2 : 1;
  }
  return text.length;
}

/**
 * Where an unquoted value from `from` ends: with `line`, at its line's end (a YAML or log line's
 * `key: value`, an ini file's `key = value`); else at a blank (a word of a command line, its
 * quoted parts included: `--password=a"b c"`; a quote its line does not close runs to the line's
 * end). In a `"…"` string (`inString`) it ends at the string's closing quote at the latest, inside
 * brackets (`flow`) at a `,` or a closing bracket.
 */
function unquotedValueEnd(
  text: string,
  from: number,
  line: boolean,
  inString: boolean,
  flow: boolean,
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
      (flow && (c === ',' || c === ']' || c === '}' || c === ')'))
    ) {
      break;
    } else if (!line && (c === '"' || c === "'")) quote = c;
    i++;
  }
  return i;
}

/** The indentation of the line starting at `lineStart`, its `- ` list markers included. */
function keyLineIndent(text: string, lineStart: number): number {
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
function valueLines(
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
function flagValueStart(
  text: string,
  ctx: LineContext,
  keyStart: number,
  end: number,
  flag = '--',
): [number, boolean] | undefined {
  ctx.moveTo(end);
  const quote = text[keyStart] === '"' || text[keyStart] === "'";
  const after = quote && text[end] === text[keyStart] ? end + 1 : end;
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
  const word = text[at] === '"' || text[at] === "'" ? at + 1 : at;
  return text.startsWith(flag, word) ? undefined : [at, line];
}

/**
 * Where the short flag of a command alone on its line counts: the lines below with indentation
 * `indent` and a `- ` marker or not (`marker`), checked up to `checked` (a line's end); `key`, the
 * indentation of the command's `command:` key while an `args:` key level with it may carry on.
 */
type CommandList = {
  indent: string;
  marker: boolean;
  checked: number;
  key?: number;
};

/**
 * Replaces the values of secret-looking pairs of free text (a config file kept in a ConfigMap key, a
 * log, a command line) whose whole key {@link isSecretKey} calls secret, as `***`:
 * - a quoted value whole, over lines if it runs over them, and to the end of the text if its quote
 *   never closes (`password: "a b"`, `token: 'x\n y'`, `--password="a b"`);
 * - `key: value` and `key = value` to the end of the line (`password: correct horse battery`), and a
 *   plain YAML value's lines below indented deeper than its key;
 * - `key=value` as the first word of its line (a properties or env file: `db.password=a b`, also
 *   after `export ` or a YAML list's `- `) to the end of the line, and on over the lines below while
 *   a line ends with `\` (a properties file's continued value); as one quoted argument of a list
 *   (`["--password=a b"]`, `'DB_PASSWORD=a b'`) to its closing quote; elsewhere (a command line, a
 *   log's `token=x done`) to the next blank, its quoted parts included (`--password=a"b c"`);
 * - a flag's value given as the next argument: `--password x`, `--password "x y"`, `["--password",
 *   "x"]`, `- --password` then `- x`; not after a flag that takes none (`--password-stdin`,
 *   `--no-password`, see `NO_VALUE_FLAG`) or when the next argument is another `--flag`;
 * - `--pass x`, `--pass=x`, openssl's `-pass`/`-passin`/`-passout x`, anywhere;
 * - the short flag of a command of `SECRET_SHORT_FLAGS` (`mysql -phunter2`, `mysql -p hunter2`,
 *   `redis-cli -a x`), when it follows the command on its line, or, when the command is alone on
 *   its line (`- mysqldump`, `"mysqldump",`, describe's `Command:` list), on the lines below with
 *   the same indentation and list marker, and on under the `args:` key next to its `command:` key
 *   (YAML's `command:`/`args:`, describe's `Command:`/`Args:`); only its first such flag, and as
 *   the next argument only when that does not start with `-` (`mysql -p -u root` prompts);
 * - the lines below a `key:` that ends its line or a `key: |` block header (a nested value, a block
 *   scalar), each line as `***`.
 * Inside brackets a value ends at `,` or the closing bracket, inside a `"…"` string at its closing
 * quote. With `wholeKeys` (the text of an ordinary values key, a setting unless it says otherwise),
 * a key counts only when its last word names a secret (see `isWholeSecretKey`: `db.password`, not
 * `auth.token.ttl` or `--secret-name`), and a value `true` or `false` is shown. One left-to-right pass: each character is looked at a bounded number of times, so any text
 * costs linear time (a regex with `[\w.-]*` on both sides of the keyword is quadratic on `a-a-a…`).
 */
export function hideSecretPairs(text: string, wholeKeys = false): string {
  let out = '';
  let copied = 0;
  const hide = (from: number, to: number) => {
    if (to <= from || text.slice(from, to) === REDACTED) return;
    if (wholeKeys && BOOLEAN.test(text.slice(from, to))) return;
    out += text.slice(copied, from) + REDACTED;
    copied = to;
  };
  const ctx = new LineContext(text);
  /** Hides the value after its opening `quote`, which ends at `from`; returns its closing quote. */
  const hideQuoted = (from: number, quote: string) => {
    ctx.moveTo(from);
    const end = quotedValueEnd(text, from, quote);
    hide(from, end);
    ctx.skip(end, quote === '"');
    return end;
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
    ctx.skip(end);
    return end;
  };
  /** Where the value from `from` to `end` ends, its trailing blanks left out. */
  const trimmedEnd = (from: number, end: number) => {
    let valueEnd = end;
    while (
      valueEnd > from &&
      (text[valueEnd - 1] === ' ' || text[valueEnd - 1] === '\t')
    )
      valueEnd--;
    return valueEnd;
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
      while (text[from] === ' ' || text[from] === '\t') from++;
      const to = unquotedValueEnd(text, from, true, false, false);
      const value = trimmedEnd(from, to);
      if (value === from) break;
      hide(from, value);
      ctx.skip(to);
      last = value;
      lineEnd = to;
    }
    return lineEnd;
  };
  /**
   * Hides the unquoted value from `from` (see {@link unquotedValueEnd}; inside brackets, to the
   * end of its item); with `continued`, a plain YAML value, also the lines below indented deeper
   * than its key at `keyColumn`; with `backslash`, a properties value, the lines it continues on
   * with a trailing `\`. Returns where it ends.
   */
  const hideUnquoted = (
    from: number,
    line: boolean,
    continued = false,
    keyColumn = 0,
    backslash = false,
  ) => {
    ctx.moveTo(from);
    const flow = ctx.depth > 0;
    let end = unquotedValueEnd(text, from, line || flow, ctx.inString, flow);
    const lineEnds =
      end === text.length || text[end] === '\n' || text[end] === '\r';
    const valueEnd = line || flow ? trimmedEnd(from, end) : end;
    hide(from, valueEnd);
    ctx.skip(end);
    if (lineEnds && !flow && !ctx.inString) {
      if (continued) end = hideLines(keyColumn, end, false);
      else if (backslash) end = hideContinuedLines(valueEnd, end);
    }
    return end;
  };
  /** Hides a flag's value at `value` (see {@link flagValueStart}); returns where it ends. */
  const hideFlagValue = ([at, line]: [number, boolean]) =>
    text[at] === '"' || text[at] === "'"
      ? hideQuoted(at + 1, text[at])
      : hideUnquoted(at, line);
  /** The flag from `start` with its opening quote, if any (`"--password"`, `'-p'`). */
  const quotedStart = (start: number, scanned: number) =>
    start > scanned && (text[start - 1] === '"' || text[start - 1] === "'")
      ? start - 1
      : start;
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
   * The command of `SECRET_SHORT_FLAGS` last seen, its flag and where that flag counts: the rest of
   * its line (from `lineStart`), and, when `list` is set (the command alone on its line), the lines
   * below with the same indentation and list marker, checked up to `list.checked` (a line's end).
   */
  let command:
    | {
        flag: string;
        lineStart: number;
        list?: CommandList;
      }
    | undefined;
  const noteCommand = (wordStart: number, wordEnd: number, flag: string) => {
    ctx.moveTo(wordEnd);
    // The start of the command's word, its path and opening quote included.
    let word = wordStart;
    while (word > ctx.lineStart && /[\w.~/-]/.test(text[word - 1])) word--;
    if (
      word > ctx.lineStart &&
      (text[word - 1] === '"' || text[word - 1] === "'")
    )
      word--;
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
    const list = command.list;
    while (list && list.checked < ctx.lineStart) {
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
    if (list && list.checked >= pos) return true;
    command.list = undefined;
    return false;
  };
  // Where the last key or value looked at ended: the next key starts no earlier.
  let scanned = 0;
  PAIR_SCAN.lastIndex = 0;
  for (let m = PAIR_SCAN.exec(text); m !== null; m = PAIR_SCAN.exec(text)) {
    let end = m.index + m[0].length;
    // A command or flag starts after the character before it, which the match holds.
    let start = end - (m[1] ?? m[2] ?? m[3] ?? m[0]).length;
    if (m[1] !== undefined) {
      // A command whose short flag takes a password.
      const flag = SECRET_SHORT_FLAGS.get(m[1].toLowerCase());
      if (flag) noteCommand(start, end, flag);
      PAIR_SCAN.lastIndex = end;
      continue;
    }
    if (m[2] !== undefined) {
      // `--pass x`, `--pass=x`, `-passin pass:x`.
      if (text[end] === '=') {
        const quote = text[end + 1];
        end =
          quote === '"' || quote === "'"
            ? hideQuoted(end + 2, quote)
            : hideUnquoted(end + 1, false);
      } else {
        const value = flagValueStart(
          text,
          ctx,
          quotedStart(start, scanned),
          end,
        );
        if (value) end = hideFlagValue(value);
      }
      scanned = end;
      PAIR_SCAN.lastIndex = end;
      continue;
    }
    if (m[3] !== undefined) {
      if (command?.flag !== m[3] || !inCommand(start)) {
        // Not a secret flag here; a key may start right after its `-` (`-password x`).
        PAIR_SCAN.lastIndex = start + 1;
        continue;
      }
      command = undefined;
      const next = text[end];
      const keyStart = quotedStart(start, scanned);
      if (
        next === undefined ||
        /[\s,)\]}]/.test(next) ||
        (keyStart < start && next === text[keyStart])
      ) {
        // `-p hunter2`, `"-p", "hunter2"`, `- -p` then `- hunter2`.
        const value = flagValueStart(text, ctx, keyStart, end, '-');
        if (value) end = hideFlagValue(value);
      } else {
        // `-phunter2`, `-p"two words"`.
        end = hideUnquoted(end, false);
      }
      scanned = end;
      PAIR_SCAN.lastIndex = end;
      continue;
    }
    while (start > scanned && KEY_CHAR.test(text[start - 1])) start--;
    while (end < text.length && KEY_CHAR.test(text[end])) end++;
    const key = text.slice(start, end);
    if (wholeKeys ? isWholeSecretKey(key) : isSecretPairKey(key)) {
      // The key with its opening quote (`"password": …`, `- "--password"`).
      const keyStart = quotedStart(start, scanned);
      PAIR_SEPARATOR.lastIndex = end;
      const sep = PAIR_SEPARATOR.exec(text);
      if (
        sep?.[0] === ':' &&
        text.startsWith(`${REDACTED}@`, end + 1) &&
        urlUserAt(text, start, scanned)
      ) {
        // The user of a URL (`https://gitlab-ci-token:***@gitlab.example.com/g/r.git`), its
        // password hidden by `hideUrlCredentials`: the host and path after it are shown.
        end += 1 + REDACTED.length;
      } else if (sep) {
        const from = end + sep[0].length;
        ctx.moveTo(from);
        const lineEnds =
          from === text.length || text[from] === '\n' || text[from] === '\r';
        BLOCK_HEADER.lastIndex = from;
        const spaced = /[ \t]/.test(sep[0][sep[0].length - 1]);
        if (sep[2]) {
          end = hideQuoted(from, sep[2]);
        } else if (sep[1] === ':' && (lineEnds || BLOCK_HEADER.test(text))) {
          end = hideLines(
            keyLineIndent(text, ctx.lineStart),
            lineEnds ? from : BLOCK_HEADER.lastIndex,
            lineEnds,
          );
        } else if (!lineEnds) {
          if (keyStart < start && sep[0][0] === '=') {
            // One quoted argument (`["--password=a b"]`, `'DB_PASSWORD=a b'`): to its closing quote.
            end = hideQuoted(from, text[keyStart]);
          } else {
            // `key: value` and `key = value` (a YAML or log line, an ini file) run to the line end,
            // and so does `key=value` starting its line (a properties or env file); elsewhere
            // `key=value` and `key:value` (a command line, a log's `token=x done`) are one word.
            const properties =
              sep[1] === '=' &&
              (spaced || (text[start] !== '-' && startsLine(keyStart)));
            end = hideUnquoted(
              from,
              spaced || properties,
              spaced && sep[1] === ':',
              keyStart - ctx.lineStart,
              properties,
            );
          }
        }
      } else if (text[start] === '-' && !NO_VALUE_FLAG.test(key)) {
        const value = flagValueStart(text, ctx, keyStart, end);
        if (value) end = hideFlagValue(value);
      }
    }
    scanned = end;
    PAIR_SCAN.lastIndex = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
/**
 * The items of a list of strings (a container's `args` in values, an exec's command) as `shown`
 * (each scrubbed alone by `scrub`), and each item `scrub` left alone hidden where `scrub` hides it
 * in the list written as JSON: a flag's value given as the next item (`["--token", "x"]`), the
 * short flag of a command (`["mysql", "-p", "x"]`). When what comes back is not such a list (a
 * quote left open), every item left alone is hidden (fail closed).
 */
function hideListedValues(
  given: string[],
  shown: string[],
  scrub: (text: string) => string,
): string[] {
  const json = JSON.stringify(given);
  const listed = scrub(json);
  if (listed === json) return shown;
  let items: unknown;
  try {
    items = JSON.parse(listed);
  } catch {
    items = undefined;
  }
  const read =
    Array.isArray(items) &&
    items.length === given.length &&
    items.every(i => typeof i === 'string')
      ? (items as string[])
      : undefined;
  return shown.map((item, i) => {
    if (item !== given[i] || !item) return item;
    return read ? read[i] : REDACTED;
  });
}

/** At most this many places of one line's text are kept among the lines of the known secrets. */
const MAX_LINE_PLACES = 16;

/**
 * Where each line of the known secrets that run over lines (two non-blank lines or more) stands:
 * its trimmed text → [which secret, which of its non-blank lines], at most
 * {@link MAX_LINE_PLACES} places a text; to find such a secret where it is written otherwise than
 * as given (re-indented in a YAML block, printed line by line with a prefix, only its last lines).
 */
type SecretLines = Map<string, Array<[number, number]>>;

function secretLines(secrets: Iterable<string>): SecretLines {
  const out: SecretLines = new Map();
  let index = 0;
  for (const secret of secrets) {
    if (!secret.includes('\n')) continue;
    const lines = secret
      .split('\n')
      .map(l => l.trim())
      .filter(l => l && l !== REDACTED);
    if (lines.length < 2) continue;
    for (let j = 0; j < lines.length; j++) {
      const places = out.get(lines[j]) ?? [];
      if (places.length < MAX_LINE_PLACES) places.push([index, j]);
      out.set(lines[j], places);
    }
    index++;
  }
  return out;
}

/** PEM armour (`-----BEGIN CERTIFICATE-----`): the same in every certificate and key. */
const PEM_ARMOUR = /^-----(?:BEGIN|END) [A-Z0-9 ]+-----$/;
/** A run of base64 or token characters long enough to be a secret's own content. */
const CONTENT_RUN = /[A-Za-z0-9+/=_-]{16,}/g;

/**
 * Whether a line of a secret carries its own content, not text any file of its kind holds: a run
 * of 16 base64 or token characters or more mixing two of lower case, upper case and digits
 * (a PEM body line, `slack_api_url: https://…/T0AB12CD/B0EF…`); not PEM armour, nor common
 * `key: value` lines (`receiver: slack`, `group_wait: 30s`, `"type": "service_account",`).
 */
function holdsSecretContent(line: string): boolean {
  if (PEM_ARMOUR.test(line)) return false;
  for (const [run] of line.matchAll(CONTENT_RUN)) {
    const kinds =
      Number(/[a-z]/.test(run)) +
      Number(/[A-Z]/.test(run)) +
      Number(/[0-9]/.test(run));
    if (kinds >= 2) return true;
  }
  return false;
}

/**
 * `text` with each run of its lines that are lines of a known secret over lines, in the secret's
 * order (blank lines apart), hidden when it holds two lines or more, 8 characters or more
 * together, and a line that carries the secret's own content (see `holdsSecretContent`): each
 * line's text as `***`, its indentation kept. So a short line of a secret (`ab==`, `}`) is hidden
 * where it stands in the secret's text, and a lone `}` or `x=1` elsewhere is not, nor a PEM
 * chain's `-----END …-----`/`-----BEGIN …-----` in another bundle, nor a config's common lines.
 * One pass over the lines: linear in the text for a fixed set of secrets.
 */
function hideSecretLineBlocks(text: string, lines: SecretLines): string {
  if (lines.size === 0 || !text.includes('\n')) return text;
  // The lines of the text found among the secrets' lines, as [start, end) of their trimmed text.
  const found: Array<[number, number]> = [];
  // The runs ending at the last line found: secret, its line, their first line (of `found`),
  // characters, and 1 when one of their lines carries the secret's content.
  let runs: Array<[number, number, number, number, number]> = [];
  // The runs to hide, as [first, last] of `found`.
  const hidden: Array<[number, number]> = [];
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    const content = line.trim();
    const places = content ? lines.get(content) : undefined;
    if (places) {
      const at = start + line.length - line.trimStart().length;
      const n = found.push([at, at + content.length]) - 1;
      const own = holdsSecretContent(content) ? 1 : 0;
      const next: typeof runs = [];
      for (const [secret, j] of places) {
        const before = runs.find(r => r[0] === secret && r[1] === j - 1);
        const first = before ? before[2] : n;
        const chars = (before ? before[3] : 0) + content.length;
        const meant = before ? before[4] | own : own;
        if (first < n && chars >= 8 && meant) hidden.push([first, n]);
        next.push([secret, j, first, chars, meant]);
      }
      runs = next;
    } else if (content) runs = [];
    start = end + 1;
  }
  if (hidden.length === 0) return text;
  // Each line found is hidden when a run to hide covers it.
  const cover = new Array<number>(found.length + 1).fill(0);
  for (const [first, last] of hidden) {
    cover[first]++;
    cover[last + 1]--;
  }
  let out = '';
  let copied = 0;
  let depth = 0;
  found.forEach(([from, to], i) => {
    depth += cover[i];
    if (depth === 0) return;
    out += text.slice(copied, from) + REDACTED;
    copied = to;
  });
  return out + text.slice(copied);
}

/** The automaton that finds known values holds at most this many of each one's first characters. */
const NEEDLE_HEAD = 32;
/** Up to this many needles, a text is first searched for each in turn: most hold none. */
const FEW_NEEDLES = 8;
/** In `only` of {@link needleReplacer}: the node has several children, kept in a map. */
const MANY_CHILDREN = -2;

/**
 * Returns a function that replaces the places of `needles` in a text with `***` as replacing each in
 * turn, longest first (those of one length in the given order), with `text.split(needle).join('***')`
 * does: a place is hidden unless it overlaps one hidden before it, of a longer needle or of the same
 * needle to its left. (Places are those of the text as given: a needle holding `*` is not looked for
 * across the `***` that replaced another.)
 *
 * One pass over the text, whatever the number of needles: an Aho–Corasick automaton of the needles'
 * first {@link NEEDLE_HEAD} characters finds where each may start, and the rest of a longer one is
 * compared there. The cost is the text and the places found, not needles × text (one Secret of 8000
 * values took seconds a manifest); building it, the needles' first characters. When needles overlap
 * so much in one text that telling their places apart would cost over twice its length (`aaaa…` and
 * many needles of `a`s), each stretch that may hold a place is hidden whole instead, from where a
 * needle's head stands to as far as the longest needle with that head would reach: more than the
 * exact answer, never less, still linear.
 */
function needleReplacer(given: Iterable<string>): (text: string) => string {
  const needles = [...given]
    .filter(n => n.length > 0)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return text => text;
  // The trie of the needles' heads, node 0 its root, in arrays as long as it may grow.
  let capacity = 1;
  for (const needle of needles)
    capacity += Math.min(needle.length, NEEDLE_HEAD);
  let nodes = 1;
  const depth = new Uint8Array(capacity);
  /** The character to a node's only child, -1 when it has none, or MANY_CHILDREN. */
  const only = new Int32Array(capacity).fill(-1);
  const onlyChild = new Int32Array(capacity);
  const manyChildren = new Map<number, Map<number, number>>();
  const rootAscii = new Int32Array(128).fill(-1);
  const rootOther = new Map<number, number>();
  /** The needles whose head ends at a node, as a list: the first (its place in `needles`), the next. */
  const ending = new Int32Array(capacity).fill(-1);
  const nextEnding = new Int32Array(needles.length);
  /** The length of the longest needle whose head ends at a node. */
  const longest = new Int32Array(capacity);
  const step = (node: number, c: number): number => {
    if (node === 0) return c < 128 ? rootAscii[c] : rootOther.get(c) ?? -1;
    const o = only[node];
    if (o === c) return onlyChild[node];
    return o === MANY_CHILDREN ? manyChildren.get(node)!.get(c) ?? -1 : -1;
  };
  const addChild = (node: number, c: number): number => {
    const id = nodes++;
    depth[id] = depth[node] + 1;
    if (node === 0) {
      if (c < 128) rootAscii[c] = id;
      else rootOther.set(c, id);
    } else if (only[node] === -1) {
      only[node] = c;
      onlyChild[node] = id;
    } else if (only[node] === MANY_CHILDREN) {
      manyChildren.get(node)!.set(c, id);
    } else {
      manyChildren.set(
        node,
        new Map([
          [only[node], onlyChild[node]],
          [c, id],
        ]),
      );
      only[node] = MANY_CHILDREN;
    }
    return id;
  };
  // Inserted last to first, so that each node's list of needles runs in their order.
  for (let index = needles.length - 1; index >= 0; index--) {
    const needle = needles[index];
    let node = 0;
    const head = Math.min(needle.length, NEEDLE_HEAD);
    for (let i = 0; i < head; i++) {
      const c = needle.charCodeAt(i);
      const next = step(node, c);
      node = next === -1 ? addChild(node, c) : next;
    }
    nextEnding[index] = ending[node];
    ending[node] = index;
    longest[node] = Math.max(longest[node], needle.length);
  }
  /** Where the automaton goes on a character no child of a node takes: its longest proper suffix in the trie. */
  const fail = new Int32Array(nodes);
  /** The state after `c` from `state`: its child on `c`, else its fail links' (the root when none). */
  const advance = (state: number, c: number): number => {
    for (let s = state; ; s = fail[s]) {
      const next = step(s, c);
      if (next !== -1) return next;
      if (s === 0) return 0;
    }
  };
  /** The nearest node, the node itself or down its `fail` chain, where heads end; -1 for none. */
  const found = new Int32Array(nodes).fill(-1);
  /** How far past the end of a place any head ending there, or a shorter one ending there too, may reach. */
  const ahead = new Int32Array(nodes);
  // Breadth first (a node's fail is shallower), each node with the character to it and its parent.
  const queue = new Int32Array(nodes);
  const charTo = new Int32Array(nodes);
  const parentOf = new Int32Array(nodes);
  let queued = 0;
  const enqueue = (child: number, c: number, parent: number) => {
    queue[queued++] = child;
    charTo[child] = c;
    parentOf[child] = parent;
  };
  rootAscii.forEach((child, c) => {
    if (child !== -1) enqueue(child, c, 0);
  });
  rootOther.forEach((child, c) => enqueue(child, c, 0));
  for (let q = 0; q < queued; q++) {
    const node = queue[q];
    const parent = parentOf[node];
    const c = charTo[node];
    const to = parent === 0 ? 0 : advance(fail[parent], c);
    fail[node] = to;
    found[node] = ending[node] !== -1 ? node : found[to];
    ahead[node] = Math.max(ahead[to], longest[node] - depth[node]);
    if (only[node] >= 0) enqueue(onlyChild[node], only[node], node);
    else if (only[node] === MANY_CHILDREN)
      manyChildren.get(node)!.forEach((child, k) => enqueue(child, k, node));
  }

  /** Each stretch where a needle may stand hidden whole (see above): linear, whatever the needles. */
  const hideAround = (text: string): string => {
    const length = text.length;
    const cover = new Int32Array(length + 1);
    let state = 0;
    for (let i = 0; i < length; i++) {
      state = advance(state, text.charCodeAt(i));
      const at = found[state];
      if (at !== -1) {
        cover[i + 1 - depth[at]]++;
        cover[Math.min(length, i + 1 + ahead[state])]--;
      }
    }
    let out = '';
    let copied = 0;
    let covers = 0;
    for (let i = 0; i < length; i++) {
      const before = covers;
      covers += cover[i];
      if (before === 0 && covers > 0) out += text.slice(copied, i) + REDACTED;
      else if (before > 0 && covers === 0) copied = i;
    }
    return out + (covers > 0 ? '' : text.slice(copied));
  };

  // Few needles: the engine's own search tells quicker that a text holds none of them (most texts).
  const few = needles.length <= FEW_NEEDLES ? needles : undefined;
  return text => {
    if (few && !few.some(n => text.includes(n))) return text;
    const length = text.length;
    let budget = 2 * length + 1024;
    // The places found, each as (which needle, its place in `needles`) × (length + 1) + where it starts.
    const stride = length + 1;
    let places = new Float64Array(0);
    let count = 0;
    let state = 0;
    for (let i = 0; i < length; i++) {
      state = advance(state, text.charCodeAt(i));
      for (let at = found[state]; at !== -1; at = found[fail[at]]) {
        const head = depth[at];
        const start = i + 1 - head;
        for (let index = ending[at]; index !== -1; index = nextEnding[index]) {
          const needle = needles[index];
          budget--;
          if (needle.length > head) {
            // A needle longer than its head: the rest compared where the head stands.
            if (start + needle.length > length) continue;
            let k = head;
            while (
              k < needle.length &&
              text.charCodeAt(start + k) === needle.charCodeAt(k)
            )
              k++;
            budget -= k - head;
            if (k < needle.length) continue;
          }
          if (count === places.length) {
            const more = new Float64Array(Math.max(16, 2 * count));
            more.set(places);
            places = more;
          }
          places[count++] = index * stride + start;
        }
        if (budget < 0) return hideAround(text);
      }
    }
    if (count === 0) return text;
    const hidden = new Uint8Array(length);
    const ends = new Map<number, number>();
    // The places by needle (longest first), each needle's from left to right.
    for (const place of places.subarray(0, count).sort()) {
      const index = Math.floor(place / stride);
      const start = place - index * stride;
      const end = start + needles[index].length;
      // Places hidden before are as long or longer: one that overlaps this one holds its first or last character.
      if (hidden[start] || hidden[end - 1]) continue;
      hidden.fill(1, start, end);
      ends.set(start, end);
    }
    let out = '';
    let copied = 0;
    for (const start of Int32Array.from(ends.keys()).sort()) {
      out += text.slice(copied, start) + REDACTED;
      copied = ends.get(start)!;
    }
    return out + text.slice(copied);
  };
}

/** Free text with URL credentials and secret-looking `key=value` pairs hidden. */
export function scrubText(text: string): string {
  return hideSecretPairs(hideUrlCredentials(text));
}

/** A deep copy of a JSON-like value with every string value (not key) passed through `scrub`. */
function scrubValues<T>(value: T, scrub: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          k,
          walk(c),
        ]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/** Hides `env[].value` of every container of a pod spec whose env name looks secret. */
function redactPodSpec(spec: any) {
  if (!spec || typeof spec !== 'object') return;
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const c of Array.isArray(spec[list]) ? spec[list] : []) {
      for (const e of Array.isArray(c?.env) ? c.env : []) {
        if (
          typeof e?.value === 'string' &&
          e.value &&
          isSecretKey(String(e.name ?? ''))
        ) {
          e.value = REDACTED;
        }
      }
    }
  }
}

type KubeObjectLike = { [key: string]: any };

/**
 * A copy of a Kubernetes object that is safe to show: `managedFields` dropped;
 * - a Secret's `data` as sizes, its `stringData` dropped, its annotations as sizes;
 * - on every kind, the last-applied annotation as its size, and annotations whose key looks secret
 *   as `***`;
 * - ConfigMap `data`/`binaryData` entries whose key looks secret as `***`;
 * - container `env[].value` whose `env[].name` looks secret as `***` (pods, pod templates,
 *   job templates of CronJobs);
 * - in every remaining string, URL credentials and secret-looking `key=value` pairs as `***`.
 *
 * `kind` is the object's kind when the object does not say (items of a list carry none).
 */
export function redactObject<T extends KubeObjectLike>(
  obj: T,
  kind?: string,
): T {
  const copy = JSON.parse(JSON.stringify(obj));
  const k = typeof copy.kind === 'string' ? copy.kind : kind;
  if (copy.metadata) delete copy.metadata.managedFields;
  const annotations: Record<string, unknown> | undefined =
    copy.metadata?.annotations && typeof copy.metadata.annotations === 'object'
      ? copy.metadata.annotations
      : undefined;
  // Data with a type is a Secret's, whatever the object says it is.
  if (k === 'Secret' || (copy.data && copy.type)) {
    // Secret values never leave the backend; show the keys and sizes.
    for (const key of Object.keys(copy.data ?? {})) {
      copy.data[key] = `<${
        Buffer.from(String(copy.data[key]), 'base64').length
      } bytes>`;
    }
    delete copy.stringData;
    // Any annotation of a Secret may hold a value: names and sizes only.
    for (const key of Object.keys(annotations ?? {})) {
      annotations![key] = hiddenSize(annotations![key], 'on a Secret');
    }
    return copy;
  }
  for (const key of Object.keys(annotations ?? {})) {
    if (key === LAST_APPLIED) {
      annotations![key] = hiddenSize(annotations![key]);
    } else if (isSecretKey(key) && annotations![key]) {
      annotations![key] = REDACTED;
    }
  }
  if (k === 'ConfigMap' || !k) {
    for (const field of ['data', 'binaryData']) {
      const entries = copy[field];
      if (!entries || typeof entries !== 'object') continue;
      for (const key of Object.keys(entries)) {
        if (isSecretKey(key) && entries[key]) entries[key] = REDACTED;
      }
    }
  }
  redactPodSpec(copy.spec);
  redactPodSpec(copy.spec?.template?.spec);
  redactPodSpec(copy.spec?.jobTemplate?.spec?.template?.spec);
  return scrubValues(copy, scrubText);
}

/**
 * A copy of a JSON-like value with every scalar under a secret-looking key, and the `value` of
 * every `{ name, value }` whose name looks secret (an env entry), as `***`; other strings scrubbed
 * of URL credentials and of the values of pairs whose whole key names a secret (`hideSecretPairs`
 * with `wholeKeys`: `db.password=x`, not `--authentication-token-webhook=true`, `true`/`false`
 * never), and a list of strings also of a flag's value given as the next item (`["--token", "x"]`).
 */
export function redactValues<T>(value: T): T {
  const scrub = (text: string) =>
    hideSecretPairs(hideUrlCredentials(text), true);
  const walk = (v: unknown, secret: boolean): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(i => walk(i, secret));
      return !secret && v.length > 1 && v.every(i => typeof i === 'string')
        ? hideListedValues(v, items as string[], scrub)
        : items;
    }
    if (v && typeof v === 'object') {
      const record = v as Record<string, unknown>;
      const namedSecret =
        typeof record.name === 'string' && isSecretKey(record.name);
      return Object.fromEntries(
        Object.entries(record).map(([k, c]) => [
          k,
          walk(c, secret || isSecretKey(k) || (namedSecret && k === 'value')),
        ]),
      );
    }
    if (secret && v !== null && v !== '' && typeof v !== 'boolean') {
      return REDACTED;
    }
    return typeof v === 'string' ? scrub(v) : v;
  };
  return walk(value, false) as T;
}

/**
 * The plan as the audit trail records it: values of secret-looking label and annotation keys, and
 * of a patch's secret-looking keys and env entries, as `***`. The plan that runs is not changed.
 */
export function redactPlan(plan: Plan): Plan {
  const copy: Plan = { ...plan };
  if (copy.labels) copy.labels = redactValues(copy.labels);
  if (copy.annotations) copy.annotations = redactValues(copy.annotations);
  if (typeof copy.patch === 'string') {
    let body: unknown;
    try {
      body = JSON.parse(copy.patch);
    } catch {
      body = undefined;
    }
    if (body && typeof body === 'object') {
      // A Secret's data and stringData are secret whatever their keys are called (`DB_PASS`, `dsn`).
      const hidden =
        plan.resource === 'secrets' ? redactSecretData(body) : body;
      // Rewritten only when something was hidden: otherwise the text is kept as it was planned.
      const redacted = JSON.stringify(redactValues(hidden));
      if (redacted !== JSON.stringify(body)) copy.patch = redacted;
    } else {
      copy.patch = scrubText(copy.patch);
    }
  }
  // An exec's arguments (`env DB_PASSWORD=…`, `mysql -p x`): secret-looking pairs, flag values
  // given as the next argument and URL credentials.
  if (copy.command)
    copy.command = hideListedValues(
      copy.command,
      copy.command.map(scrubText),
      scrubText,
    );
  return copy;
}

/** A Secret patch with every value of its `data` and `stringData` as `***`. */
function redactSecretData(body: object): unknown {
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of ['data', 'stringData']) {
    const values = out[field];
    if (values && typeof values === 'object' && !Array.isArray(values)) {
      out[field] = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [
          k,
          v === null ? null : REDACTED,
        ]),
      );
    } else if (values !== undefined && values !== null) {
      out[field] = REDACTED;
    }
  }
  return out;
}

/**
 * The strings `plan` holds where `shown` (its {@link redactPlan}) holds `***` or other text: the
 * secret values the redaction hid, so that they can be removed from text written about the plan
 * (the model's explanation), which names them in words no rule recognizes ("sets it to hunter22").
 */
export function hiddenPlanValues(plan: Plan, shown: Plan): string[] {
  const found = new Set<string>();
  const walk = (a: unknown, b: unknown) => {
    if (typeof a === 'string') {
      if (a !== b && a.length > 0) {
        if (typeof b === 'string' && b.includes(REDACTED)) {
          // scrubText hid part of the text: the words it replaced are the secret.
          for (const part of a.split(/[\s=:,;"'&?]+/))
            if (part.length > 0 && !b.includes(part)) found.add(part);
        } else found.add(a);
      }
      return;
    }
    if (Array.isArray(a)) {
      a.forEach((v, i) => walk(v, Array.isArray(b) ? b[i] : undefined));
      return;
    }
    if (a && typeof a === 'object') {
      const other = (b && typeof b === 'object' ? b : {}) as Record<
        string,
        unknown
      >;
      for (const [k, v] of Object.entries(a)) walk(v, other[k]);
    }
  };
  const parsed = (patch?: string) => {
    try {
      return patch ? JSON.parse(patch) : undefined;
    } catch {
      return patch;
    }
  };
  walk(plan.labels, shown.labels);
  walk(plan.annotations, shown.annotations);
  walk(parsed(plan.patch), parsed(shown.patch));
  walk(plan.command, shown.command);
  return [...found];
}

/**
 * `text` with each of `values` replaced by `***` (longest first; also as a JSON or YAML
 * double-quoted string writes it, `"line1\nline2"`), and the lines of a value over lines where
 * they stand otherwise (see `hideSecretLineBlocks`), then {@link scrubText}. All values are found
 * in one pass over the text (see `needleReplacer`), whatever their number.
 */
export function withoutValues(text: string, values: string[]): string {
  const needles = new Set<string>();
  for (const v of values) {
    if (!v) continue;
    needles.add(v);
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) needles.add(escaped);
  }
  // Lines first: a value would cut a line of a block out before the block is seen.
  const out = hideSecretLineBlocks(text, secretLines(values));
  return scrubText(needleReplacer(needles)(out));
}
