/**
 * Placeholder stored instead of a secret value.
 * @public
 */
export const REDACTED = '[REDACTED]';

/*
 * Free-text rules for the strings of an audit event. They follow the rules of the KubeChart and
 * assistant families' redaction (`createTextRedactor`, `scrubText`), cut down to a small, exact
 * set: the audit-log family installs without those packages, so it keeps its own.
 */

/** Characters that end the authority (`user:pass@host`) of a URL. */
const AUTHORITY_END = /[\/?#\s"'<>`\\]/;
/** Characters that end a whitespace-delimited token holding a URL (a quote or `<>` around it too). */
const TOKEN_END = /[\s"'<>`]/;
/** What a colon in an authority before its `/`, `?` or `#` is followed by when it is a port. */
const PORT = /^\d*$/;

/**
 * `scheme://user:pass@host` → `scheme://user:[REDACTED]@host`, for every URL of the text. A
 * password holding `/`, `?` or `#` (`https://app:pa/ss@host`), where the authority seems to end
 * before its `@`, is hidden up to the `@` later in the same whitespace-delimited token, unless what
 * follows the colon is a port (`https://host:8443/users/@me`). In a text `cut` short, an
 * authority (or such a token) running to its end is hidden after its first colon: it may be a
 * password cut before its `@`. One pass: linear in the text.
 */
export function hideUrlCredentials(text: string, cut: boolean): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  let from = 0;
  // The first token end and `@` at or after where they were last looked for: each looked for
  // again only from past the last one found, so the text is read once for each.
  let tokenEnd = -1;
  let nextAt = -1;
  const firstFrom = (
    pos: number,
    found: number,
    test: (c: string) => boolean,
  ) => {
    if (found >= pos) return found;
    let k = pos;
    while (k < n && !test(text[k])) k++;
    return k;
  };
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', from)) {
    const start = i + 3;
    let end = start;
    let at = -1;
    let colon = -1;
    while (end < n && !AUTHORITY_END.test(text[end])) {
      if (text[end] === '@') at = end;
      else if (text[end] === ':' && colon === -1) colon = end;
      end++;
    }
    from = end;
    if (colon === -1) continue;
    let to: number;
    if (cut && end === n) to = end;
    // `user:pass@host`: a colon before the last `@`, and something between them.
    else if (at > colon) to = at;
    else if (
      at === -1 &&
      text[start] !== '[' &&
      '/?#'.includes(text[end]) &&
      !PORT.test(text.slice(colon + 1, end))
    ) {
      // `user:pa/ss@host`: the `@` later in the token, and the host's last `@` after it.
      tokenEnd = firstFrom(end, tokenEnd, c => TOKEN_END.test(c));
      nextAt = firstFrom(end, nextAt, c => c === '@');
      if (nextAt < tokenEnd) {
        to = nextAt;
        let k = nextAt + 1;
        while (k < n && !AUTHORITY_END.test(text[k])) {
          if (text[k] === '@') to = k;
          k++;
        }
        from = k;
      } else if (cut && tokenEnd === n) {
        to = n;
        from = n;
      } else continue;
    } else continue;
    if (colon + 1 >= to) continue;
    out += text.slice(copied, colon + 1) + REDACTED;
    copied = to;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** A key's last word that names a secret (`db.password`, `API_TOKEN`, `apiKey`, `Set-Cookie`). */
const SECRET_WORDS = [
  'password',
  'passwd',
  'token',
  'secret',
  'key',
  'credential',
  'credentials',
  'authorization',
  'cookie',
];
/**
 * Ordinary words and names ending in `key` that name no secret (`monkey: 3`, `?sortKey=name`),
 * matched without their separators (`sort_key`, `partition-key`).
 */
const ORDINARY_WORDS = [
  'monkey',
  'donkey',
  'turkey',
  'hockey',
  'jockey',
  'whiskey',
  'hotkey',
  'turnkey',
  'sortkey',
  'partitionkey',
  'primarykey',
  'foreignkey',
  'groupkey',
  'cachekey',
  'routingkey',
  'lookupkey',
];

/** openssl's password flags, which name no secret word: `-pass`, `-passin`, `-passout`. */
const PASS_FLAGS = new Set(['pass', 'passin', 'passout']);

/**
 * Flags named after a secret that take no value, so their next argument is not one:
 * `--password-stdin`, `--no-password`, `--ask-password`.
 */
const NO_VALUE_FLAG = /^--?(?:no|ask|prompt)[-_]|[-_]stdin$/i;

/**
 * Commands whose short flag takes a password (a command in any case; the flag's case counts:
 * `mysql -P 3306` is a port), as in the other families' rules. The flag counts only after its
 * command on the same line: elsewhere `-p` is a port (`ssh -p 2222`) or `mkdir -p`.
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

/** The scheme an `Authorization` value starts with, kept in view: `Bearer [REDACTED]`. */
const AUTH_SCHEME =
  /(?:bearer|basic|digest|token|negotiate|ntlm)[ \t]+(?=\S)/iy;
/** A `Bearer` token that is an ordinary word of prose (`bearer tokens`), not a credential. */
const PLAIN_WORD = /^[A-Za-z][a-z]*(?:-[a-z]+)*$/;
/** What `Basic` credentials are: base64 of `user:password`. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PRINTABLE = /^[\x20-\x7e]+$/;
/** A boolean, which is a setting whatever its key: `automountServiceAccountToken: false`. */
const BOOLEAN = /^(?:true|false)$/i;
/** A YAML block scalar's header after `key:`, up to its line end: `|`, `>-`, `|2`. */
const BLOCK_HEADER_LINE = /[|>][-+1-9]{0,2}[ \t]*(?=\r?\n|$)/y;
/**
 * The armour line that opens a private key (`-----BEGIN RSA PRIVATE KEY-----`,
 * `-----BEGIN OPENSSH PRIVATE KEY-----`, PGP's `PRIVATE KEY BLOCK`), after its `-----BEGIN`.
 */
const PRIVATE_KEY_BEGIN = / (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;
const PEM_END = '-----END ';
/** The env variable names a `name:` may give its `value:` looked for on its line or the next. */
const NAME_LOOKAHEAD_LINES = 1;
/** Quotes escaped deeper than this are taken as this deep. */
const MAX_ESCAPE_DEPTH = 16;

/**
 * Whether a key of free text (or a URL's parameter name) names a secret as a whole: its last
 * word does (`db.password`, `API_TOKEN`, `apiKey`, `client_secret`), not a name that only
 * mentions one (`token_type`, `secretName`, `sortKey`, `keyboard`).
 */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (!SECRET_WORDS.some(w => lower.endsWith(w))) return false;
  const bare = lower.replace(/[-_.\s]/g, '');
  return !ORDINARY_WORDS.some(w => bare.endsWith(w));
}

/**
 * How deep a `"` after `run` backslashes is escaped: `"` 0, `\"` 1 (JSON in a JSON string),
 * `\\\"` 2; after an even run (`\\"`, an escaped backslash) the quote is not escaped. That is
 * the number of trailing ones of `run`.
 */
function escapeDepth(run: number): number {
  let depth = 0;
  for (let r = run; r & 1 && depth < MAX_ESCAPE_DEPTH; r >>>= 1) depth++;
  return depth;
}

/** A character of a key or word: letters, digits, `_`, `.` and `-`. */
function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 95 ||
    code === 46 ||
    code === 45
  );
}

/** A character of a token (RFC 7235 token68). */
function isTokenChar(c: string): boolean {
  return isKeyChar(c.charCodeAt(0)) || c === '~' || c === '+' || c === '/';
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function isQuote(c: string | undefined): c is '"' | "'" {
  return c === '"' || c === "'";
}

/** Where a command or flag may start: after a blank, a quote, `[`, `,` or `(` (or at the start). */
function isWordStart(c: string | undefined): boolean {
  return c === undefined || isSpace(c) || isQuote(c) || '[,('.includes(c);
}

/** Whether `token`, after `Basic`, is base64 of `user:password`. */
function isBasicCredential(token: string): boolean {
  if (token.length % 4 !== 0 || !BASE64.test(token)) return false;
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  return PRINTABLE.test(decoded) && decoded.includes(':');
}

/**
 * The values of secrets written in free text hidden, in one left-to-right pass (each character
 * looked at a bounded number of times: linear in the text):
 * - `key: value` and `key=value` whose key's last word names a secret (`password`, `passwd`,
 *   `token`, `secret`, `key`, `credential(s)`, `authorization`, `cookie`: `db.password=x`,
 *   `API_TOKEN: x`, `"clientSecret": "x"`, `"Client Secret": "x"`, not `tokenCount: 3` or
 *   `password-policy updated`); a key closed by a quote, a JSON-escaped one too
 *   (`\"password\":\"x\"`, a manifest's last-applied-configuration inside JSON). A quoted value
 *   to its closing quote, at its escape depth (to the end of the text if it never closes). After
 *   `:`, when the key starts its line (after its indentation, a list's `-` or its quote), to the
 *   line end (and a `key:` alone or with a block header `|`, the lines below indented deeper);
 *   elsewhere one word (`with its own credentials: choose the cluster` hides `choose`), a
 *   `Cookie:` to the line end. After `=` to the line end when the key starts its line, else to
 *   the next blank. In a string the key's quote opened (`"Authorization: Bearer x"`), to that
 *   string's end. `true` and `false` are settings, kept. The scheme of an `Authorization` value
 *   stays: `Authorization: Bearer [REDACTED]`;
 * - the `value:` of an env entry whose `name:` names a secret, on that line or the next
 *   (`- name: DB_PASSWORD\n  value: x`, `{"name":"DB_PASSWORD","value":"x"}`);
 * - the body of a private key's PEM block, its armour lines kept (to the end of the text if its
 *   `-----END` line is missing);
 * - a secret flag's next argument (`--password x`, `["--token", "x"]`, openssl's `-pass x`), not
 *   after a flag that takes none (`--password-stdin`) or when it is another flag;
 * - the password short flag of a known command on its line (`mysql -phunter2`, `mysql -p x`,
 *   `redis-cli -a x`, `zip -P x`);
 * - `Bearer <token>` (not a word of prose: `bearer tokens`) and `Basic <base64 of user:pass>`.
 * A URL's scheme and authority are not keys (`https://gitlab-ci-token:…@host` is the URL pass's).
 * With `cut`, a token running to the end of the text is hidden, whatever it looks like.
 */
function hideSecretPairs(text: string, cut: boolean): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  const hide = (from: number, to: number) => {
    if (to <= from || text.slice(from, to) === REDACTED) return;
    out += text.slice(copied, from) + REDACTED;
    copied = to;
  };
  let lineStart = 0;
  /** Line breaks passed so far (those of lines hidden below a key not counted). */
  let lines = 0;
  /** Moves from `from` to `to` over text not read key by key, minding its line breaks. */
  const skip = (from: number, to: number) => {
    for (let k = from; k < to; k++) {
      if (text[k] === '\n') {
        lineStart = k + 1;
        lines++;
      }
    }
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
  /** Where a word from `from` ends: at a blank, its quoted parts (to their quote on the line) included. */
  const wordEnd = (from: number, list: boolean) => {
    let k = from;
    while (k < n && !isSpace(text[k])) {
      const c = text[k];
      if (list && ',)]}'.includes(c)) break;
      if (isQuote(c)) {
        k++;
        while (k < n && text[k] !== c && text[k] !== '\n') k++;
        if (text[k] === c) k++;
      } else k++;
    }
    return Math.min(k, n);
  };
  /** Where a value from `from` ends at its line's end (or `quote`'s), trailing blanks left out. */
  const lineValueEnd = (from: number, quote?: string) => {
    let k = from;
    while (k < n && text[k] !== '\n' && text[k] !== '\r' && text[k] !== quote)
      k++;
    let end = k;
    while (end > from && isBlank(text[end - 1])) end--;
    return end;
  };
  /** Hides the non-blank lines below the line of `from` indented deeper than `indent`; returns their end. */
  const hideLinesBelow = (from: number, indent: number) => {
    let end = from;
    for (let k = from; k < n && text[k] === '\n'; ) {
      let content = k + 1;
      while (isBlank(text[content])) content++;
      const lineEnd = lineValueEnd(content);
      let next = lineEnd;
      while (next < n && text[next] !== '\n') next++;
      if (lineEnd > content) {
        if (content - (k + 1) <= indent) break;
        hide(content, lineEnd);
      }
      end = next;
      k = next;
    }
    return end;
  };
  /**
   * Hides a flag's value given as the next argument, the flag ending at `end` (its opening quote,
   * if any, `quote`): after blanks, or after a list's `,`. None when it starts with `another`
   * (`--` after a long flag, `-` after a short one), or the line or list ends. Returns where it ends.
   */
  const hideNextArgument = (end: number, quote: string, another: string) => {
    let k = end;
    if (quote && text[k] === quote) k++;
    let list = false;
    if (text[k] === ',') {
      list = true;
      k++;
    }
    const gap = k;
    while (isBlank(text[k])) k++;
    if ((k === gap && !list) || k >= n || '\r\n,)]}<>|&;'.includes(text[k]))
      return end;
    const arg = isQuote(text[k]) ? k + 1 : k;
    if (text.startsWith(another, arg)) return end;
    if (arg > k) {
      const close = quotedEnd(arg, text[k], 0);
      hide(arg, close);
      return skip(arg, close);
    }
    const to = wordEnd(k, list);
    hide(k, to);
    return to;
  };
  /** The command of `SECRET_SHORT_FLAGS` last seen on the current line, and its flag. */
  let command: { flag: string; lineStart: number } | undefined;
  /** The line count when a `name:` last named a secret, whose `value:` is to be hidden. */
  let secretName: number | undefined;

  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (!isKeyChar(code)) {
      if (code === 10) {
        lineStart = i + 1;
        lines++;
      }
      // A shell's `;`, `|` or `&` ends the command whose flag counts.
      else if (code === 59 || code === 124 || code === 38) command = undefined;
      i++;
      continue;
    }
    const start = i;
    while (i < n && isKeyChar(text.charCodeAt(i))) i++;
    const end = i;
    const word = text.slice(start, end);
    const lower = word.toLowerCase();
    const before = start > 0 ? text[start - 1] : undefined;

    if (text.startsWith('://', end)) {
      // A URL's scheme and authority (`https://gitlab-ci-token:x@host`) hold no key.
      i = end + 3;
      while (i < n && !AUTHORITY_END.test(text[i])) i++;
      continue;
    }

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
        i = skip(body, bodyEnd);
        continue;
      }
    }

    // `key: value`, `key=value`, `"key": "value"`, `"Client Secret": "value"`, `\"key\":\"value\"`.
    let sep = end;
    const closing = quoteAt(end);
    if (closing) sep = closing.end;
    while (isBlank(text[sep])) sep++;
    if (text[sep] === ':' || text[sep] === '=') {
      const colon = text[sep] === ':';
      if (
        secretName !== undefined &&
        lines - secretName > NAME_LOOKAHEAD_LINES
      ) {
        secretName = undefined;
      }
      const envValue = colon && secretName !== undefined && lower === 'value';
      if (colon && lower === 'name') {
        // `name: DB_PASSWORD`: the `value:` on its line or the next is that variable's value.
        let k = sep + 1;
        while (isBlank(text[k])) k++;
        const quote = quoteAt(k);
        const from = quote ? quote.end : k;
        let to = from;
        while (to < n && isKeyChar(text.charCodeAt(to))) to++;
        const whole =
          to > from &&
          (quote
            ? quoteAt(to) !== undefined
            : to === n || isSpace(text[to]) || ',}]'.includes(text[to]));
        secretName =
          whole && isSecretName(text.slice(from, to)) ? lines : undefined;
      }
      if (!envValue && !isSecretName(word)) {
        i = sep + 1;
        continue;
      }
      if (envValue) secretName = undefined;
      let from = sep + 1;
      while (isBlank(text[from])) from++;
      const quote = quoteAt(from);
      if (quote) {
        const close = quotedEnd(quote.end, quote.quote, quote.depth);
        hide(quote.end, close);
        i = skip(quote.end, close);
        continue;
      }
      if (lower.endsWith('authorization')) {
        AUTH_SCHEME.lastIndex = from;
        if (AUTH_SCHEME.test(text)) from = AUTH_SCHEME.lastIndex;
      }
      // Whether the key starts its line: after its indentation, a list's `-`, its quote.
      let k = start;
      if (isQuote(before)) {
        k--;
        while (k > lineStart && text[k - 1] === '\\') k--;
      }
      while (k > lineStart && (isBlank(text[k - 1]) || text[k - 1] === '-'))
        k--;
      const startsLine = k === lineStart;
      let valueEnd: number;
      if (isQuote(before) && !closing) {
        // In a string the key's quote opened: `"Authorization: Bearer x"`, `'DB_PASSWORD=a b'`.
        valueEnd = lineValueEnd(from, before);
      } else if (colon) {
        BLOCK_HEADER_LINE.lastIndex = from;
        if (
          from >= n ||
          text[from] === '\n' ||
          text[from] === '\r' ||
          BLOCK_HEADER_LINE.test(text)
        ) {
          // `credentials:` or `password: |`: its value is the lines below, indented deeper.
          let indent = lineStart;
          while (isBlank(text[indent])) indent++;
          let lineEnd = from;
          while (lineEnd < n && text[lineEnd] !== '\n') lineEnd++;
          i = hideLinesBelow(lineEnd, indent - lineStart);
          continue;
        }
        // A key that starts its line (YAML, a header) to its end; in a sentence one word
        // (`with its own credentials: choose …`); a cookie's list of pairs to the line end.
        valueEnd =
          startsLine || lower.endsWith('cookie')
            ? lineValueEnd(from)
            : wordEnd(from, false);
      } else {
        // A properties or env file's line (`DB_PASSWORD=a b`) to its end; else one word
        // (`--password=x --port=80`, a log's `token=x done`).
        valueEnd =
          startsLine && !word.startsWith('-')
            ? lineValueEnd(from)
            : wordEnd(from, false);
      }
      if (valueEnd - from <= 5 && BOOLEAN.test(text.slice(from, valueEnd))) {
        i = valueEnd;
        continue;
      }
      hide(from, valueEnd);
      i = skip(from, valueEnd);
      continue;
    }

    const flag = SECRET_SHORT_FLAGS.get(lower);
    if (
      flag &&
      (before === undefined || isWordStart(before) || '=/'.includes(before)) &&
      (end === n || isWordStart(text[end]) || ';|&)]'.includes(text[end]))
    ) {
      command = { flag, lineStart };
      continue;
    }

    if (word.startsWith('-') && isWordStart(before)) {
      const quote = isQuote(before) ? before : '';
      if (
        command &&
        command.lineStart === lineStart &&
        word.startsWith(command.flag)
      ) {
        // Only the command's first such flag: `mysql -p -u root` prompts.
        const rest = start + command.flag.length;
        command = undefined;
        if (
          rest < n &&
          !isSpace(text[rest]) &&
          !',)]}'.includes(text[rest]) &&
          text[rest] !== quote
        ) {
          // `-phunter2`, `-p"two words"`, `"-phunter2"` (to its closing quote).
          const to = quote ? lineValueEnd(rest, quote) : wordEnd(rest, false);
          hide(rest, to);
          i = to;
        } else {
          // `-p hunter2`, `"-p", "hunter2"`.
          i = hideNextArgument(end, quote, '-');
        }
        continue;
      }
      const name = word.replace(/^--?/, '');
      if (
        (PASS_FLAGS.has(name) || isSecretName(name)) &&
        !NO_VALUE_FLAG.test(word)
      ) {
        i = hideNextArgument(end, quote, '--');
        continue;
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
        continue;
      }
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * `text` with the secrets written in it hidden as {@link REDACTED}: URL credentials
 * (`postgres://app:[REDACTED]@db/x`), the values of `key: value` / `key=value` pairs whose key's
 * last word names a secret (`password: [REDACTED]`, `DB_PASSWORD=[REDACTED]`, not
 * `tokenCount: 3`), `Authorization` values (`Authorization: Bearer [REDACTED]`), `Bearer` and
 * `Basic` credentials, a secret flag's value (`--password [REDACTED]`) and known password flags
 * (`mysql -p[REDACTED]`, `redis-cli -a [REDACTED]`). Prose stays readable
 * (`password-policy updated`). Linear in the text; the caller bounds it. With `cut` (the text is
 * the start of a longer one), what runs to its end and may be a secret cut short (a URL's
 * authority, a token) is hidden too.
 * @public
 */
export function redactText(text: string, options?: { cut?: boolean }): string {
  const cut = options?.cut ?? false;
  return hideSecretPairs(hideUrlCredentials(text, cut), cut);
}
