import { SecretDetectionOptions } from './types';

/** Words and phrases that mark a key or env name as secret, matched as whole words. @public */
export const DEFAULT_SECRET_KEY_NAMES = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'credential',
  'credentials',
  'apikey',
  'api_key',
  'private_key',
  'access_key',
  'secret_key',
  'ssh_key',
  'signing_key',
  'encryption_key',
  'master_key',
  'client_secret',
  'auth_key',
  'dsn',
];

/**
 * Splits a name into lower-case words: at `_`, `-`, `.`, `/`, spaces and camelCase boundaries.
 * `DB_PASSWORD` → [db, password]; `apiKey` → [api, key]; `cache_key_prefix` → [cache, key, prefix];
 * letters and digits part too: `password2` → [password, 2].
 */
export function nameWords(name: string): string[] {
  const words: string[] = [];
  let cur = '';
  const flush = () => {
    if (cur) words.push(cur.toLowerCase());
    cur = '';
  };
  for (let i = 0; i < name.length && i < 256; i++) {
    const ch = name[i];
    const lower = ch >= 'a' && ch <= 'z';
    const upper = ch >= 'A' && ch <= 'Z';
    const digit = ch >= '0' && ch <= '9';
    if (!lower && !upper && !digit) {
      flush();
      continue;
    }
    // camelCase: a capital after a lower-case letter or digit starts a word; in "APIKey" the "K" before "e" does.
    const prev = name[i - 1] ?? '';
    const next = name[i + 1] ?? '';
    const prevLetter =
      (prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z');
    const prevDigit = prev >= '0' && prev <= '9';
    if (
      cur &&
      ((upper &&
        ((prev >= 'a' && prev <= 'z') ||
          prevDigit ||
          (next >= 'a' && next <= 'z' && prev >= 'A' && prev <= 'Z'))) ||
        (digit && prevLetter) ||
        (!digit && prevDigit))
    ) {
      flush();
    }
    cur += ch;
  }
  flush();
  return words;
}

/** Compiles the configured key names into word sequences. */
export function compileKeyNames(names: string[]): string[][] {
  return names.map(nameWords).filter(w => w.length > 0);
}

/**
 * Whether `name` holds a secret by its whole words: one of the configured words or phrases occurs as
 * consecutive words of it (`secret_token`, `API_KEY`, `dbPassword`), and `name` is not ignored.
 * @public
 */
export function isSecretName(
  name: string,
  options: SecretDetectionOptions,
  compiled = compileKeyNames(options.keyNames),
): boolean {
  if (options.ignoreKeys.some(k => k.toLowerCase() === name.toLowerCase()))
    return false;
  const words = nameWords(name);
  for (const phrase of compiled) {
    for (let i = 0; i + phrase.length <= words.length; i++) {
      let ok = true;
      for (let j = 0; j < phrase.length && ok; j++)
        ok = words[i + j] === phrase[j];
      if (ok) return true;
      // A phrase written as one word in the name: `apikey` for [api, key].
      if (phrase.length > 1 && words[i] === phrase.join('')) return true;
    }
  }
  return false;
}

/** Longest header or payload of a JSON Web Token that counts as one. */
const MAX_JWT_PART = 8192;

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLetterOrDigit = (c: number) => isLetter(c) || (c >= 48 && c <= 57);
/** `A-Z a-z 0-9 _`: what `\b` counts as a word character. */
const isWordChar = (c: number) => isLetterOrDigit(c) || c === 95;
/** `A-Z a-z 0-9 _ -`: what a JSON Web Token's parts are written in. */
const isBase64Url = (c: number) => isWordChar(c) || c === 45;
/** `A-Z a-z 0-9 + . -`: what a URL scheme is written in. */
const isSchemeChar = (c: number) =>
  isLetterOrDigit(c) || c === 43 || c === 46 || c === 45;

/**
 * Whether `text` holds a JSON Web Token: `eyJ` at the start of a word, 8 to 8192 base64url
 * characters, `.eyJ`, 8 to 8192 more, then `.` (what `\beyJ[A-Za-z0-9_-]{8,8192}\.eyJ[A-Za-z0-9_-]{8,8192}\.`
 * matches). That regex retried its 8192-character run from every `eyJ` of `-eyJ-eyJ…`, seconds for
 * a megabyte. Here each `.eyJ` (the start of a payload) is looked at once: the payload is read
 * forward and the header backward from it, neither past a dot, so every character is read at most
 * twice.
 */
function holdsJsonWebToken(text: string): boolean {
  for (
    let dot = text.indexOf('.eyJ');
    dot !== -1;
    dot = text.indexOf('.eyJ', dot + 1)
  ) {
    // The payload after `.eyJ`: 8 to 8192 characters, then a dot.
    const payload = dot + 4;
    let end = payload;
    while (
      end - payload <= MAX_JWT_PART &&
      end < text.length &&
      isBase64Url(text.charCodeAt(end))
    )
      end++;
    const payloadLength = end - payload;
    if (payloadLength < 8 || payloadLength > MAX_JWT_PART || text[end] !== '.')
      continue;
    // The header before the dot: an `eyJ` that starts a word, 8 to 8192 characters before the dot,
    // with only base64url characters between.
    let start = dot;
    while (
      start > 0 &&
      dot - start < MAX_JWT_PART + 3 &&
      isBase64Url(text.charCodeAt(start - 1))
    )
      start--;
    for (
      let at = text.indexOf('eyJ', start);
      at !== -1 && at <= dot - 11;
      at = text.indexOf('eyJ', at + 1)
    ) {
      if (at === 0 || !isWordChar(text.charCodeAt(at - 1))) return true;
    }
  }
  return false;
}

/**
 * Shapes of secret values, in the order they are told apart. Every regex is linear-time: no nested
 * quantifiers, a literal prefix so a scan does not retry at every position, and no repeat longer
 * than 255 characters that something must still follow, so a failed attempt backs off at most that
 * far. A JSON Web Token, whose parts run to 8192 characters, is found without a regex (see
 * {@link holdsJsonWebToken}). secretValueScan.test.ts times each on 1 MB of near misses.
 */
const SECRET_VALUE_PATTERNS: Array<
  | { what: string; re: RegExp }
  | { what: string; found: (text: string) => boolean }
> = [
  {
    what: 'a PEM private key',
    re: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----/,
  },
  {
    what: 'an AWS access key id',
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/,
  },
  {
    what: 'a GitHub token',
    re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})\b/,
  },
  {
    what: 'a GitLab token',
    re: /\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,255}/,
  },
  { what: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,255}/ },
  {
    what: 'a Slack webhook URL',
    re: /hooks\.slack\.com\/services\/T[A-Za-z0-9]{4,32}\/B[A-Za-z0-9]{4,32}\/[A-Za-z0-9]{8,64}/,
  },
  { what: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a Stripe live key', re: /\b[rs]k_live_[0-9A-Za-z]{16,255}/ },
  { what: 'a JSON Web Token', found: holdsJsonWebToken },
  { what: 'a bearer token', re: /\bBearer [A-Za-z0-9._~+/-]{20,4096}/ },
];

/** The alternation of the regexes above: still linear, each branch is. */
const ANY_SECRET_VALUE = new RegExp(
  SECRET_VALUE_PATTERNS.flatMap(p =>
    're' in p ? [`(?:${p.re.source})`] : [],
  ).join('|'),
);

/**
 * `user:password@` right after a URL's `://` (the user may be empty, `redis://:password@`); the password
 * is captured to skip `$(VAR)` and `${VAR}` references. It may hold `/`, `?` or `#` (a generated one
 * often does); what starts with digits and then one of them is a port followed by a path, query or
 * fragment (`host:8443/users?email=a@b`), not a password.
 */
const URL_USER_PASSWORD = /[^\s:@/]{0,256}:([^\s@]{1,256})@/y;
const PORT_THEN_PATH = /^\d+[/?#]/;
/** `password=…` in a connection string or command line (`;Password=`, `--password=`, `?password=`). */
const PASSWORD_ASSIGNMENT =
  /\b(?:password|passwd|pwd)\s{0,4}=\s{0,4}([^\s;&'",]{1,256})/gi;

const isReference = (v: string) =>
  /^(?:\$\(|\$\{|\{\{|<|\*{3})/.test(v) || v === '' || /^\*+$/.test(v);

/** Whether a URL scheme ends right before `at`: a letter that starts a word, then up to 30 of `A-Za-z0-9+.-`. */
function schemeBefore(text: string, at: number): boolean {
  for (let p = at - 1; p >= 0 && p >= at - 31; p--) {
    const c = text.charCodeAt(p);
    if (!isSchemeChar(c)) return false;
    if (isLetter(c) && (p === 0 || !isWordChar(text.charCodeAt(p - 1))))
      return true;
  }
  return false;
}

/**
 * Whether `text` holds `scheme://user:password@` whose password is not a reference (what
 * `\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:@/]{0,256}:([^\s@]{1,256})@` matches, a port followed by a path aside). That regex read
 * the credentials again from every word start of the scheme, up to 16 times per `://` of
 * `a.a.a…://`; here each `://` is looked at once.
 */
function holdsUrlPassword(text: string): boolean {
  for (
    let at = text.indexOf('://');
    at !== -1;
    at = text.indexOf('://', at + 1)
  ) {
    if (!schemeBefore(text, at)) continue;
    URL_USER_PASSWORD.lastIndex = at + 3;
    const m = URL_USER_PASSWORD.exec(text);
    if (m && !isReference(m[1]) && !PORT_THEN_PATH.test(m[1])) return true;
  }
  return false;
}

/** Longest string the value scan reads (a ConfigMap holds at most 1 MiB). */
const MAX_SCAN = 1_100_000;

/**
 * What kind of secret a string value holds, or undefined. Never returns the value itself.
 * @public
 */
export function secretValueKind(value: string): string | undefined {
  if (value.length < 8) return undefined;
  const text = value.length > MAX_SCAN ? value.slice(0, MAX_SCAN) : value;
  // One pass of the combined regex finds most strings clean; only a hit is told apart.
  const someRegex = ANY_SECRET_VALUE.test(text);
  for (const p of SECRET_VALUE_PATTERNS) {
    if ('re' in p ? someRegex && p.re.test(text) : p.found(text)) return p.what;
  }
  if (holdsUrlPassword(text)) return 'a password in a URL';
  if (text.includes('=')) {
    for (const m of text.matchAll(PASSWORD_ASSIGNMENT)) {
      if (!isReference(m[1])) return 'a password assignment';
    }
  }
  return undefined;
}
