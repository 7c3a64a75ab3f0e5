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

/**
 * Shapes of secret values. Every pattern is linear-time: no nested quantifiers, bounded repeats, and
 * a literal prefix so a scan does not retry at every position.
 */
const SECRET_VALUE_PATTERNS: Array<{ what: string; re: RegExp }> = [
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
  {
    what: 'a JSON Web Token',
    re: /\beyJ[A-Za-z0-9_-]{8,8192}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,8192}/,
  },
  { what: 'a bearer token', re: /\bBearer [A-Za-z0-9._~+/-]{20,4096}/ },
];

/** The alternation of the patterns above: still linear, each branch is. */
const ANY_SECRET_VALUE = new RegExp(
  SECRET_VALUE_PATTERNS.map(p => `(?:${p.re.source})`).join('|'),
);

/** `scheme://user:password@`: the password is captured to skip `$(VAR)` and `${VAR}` references. */
const URL_CREDENTIALS =
  /\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:@/]{1,256}:([^\s@/]{1,256})@/g;
/** `password=…` in a connection string or command line (`;Password=`, `--password=`, `?password=`). */
const PASSWORD_ASSIGNMENT =
  /\b(?:password|passwd|pwd)\s{0,4}=\s{0,4}([^\s;&'",]{1,256})/gi;

const isReference = (v: string) =>
  /^(?:\$\(|\$\{|\{\{|<|\*{3})/.test(v) || v === '' || /^\*+$/.test(v);

/** Longest string the value scan reads (a ConfigMap holds at most 1 MiB). */
const MAX_SCAN = 1_100_000;

/**
 * What kind of secret a string value holds, or undefined. Never returns the value itself.
 * @public
 */
export function secretValueKind(value: string): string | undefined {
  if (value.length < 8) return undefined;
  const text = value.length > MAX_SCAN ? value.slice(0, MAX_SCAN) : value;
  // One pass of the combined pattern finds most strings clean; only a hit is told apart.
  if (ANY_SECRET_VALUE.test(text)) {
    for (const p of SECRET_VALUE_PATTERNS) {
      if (p.re.test(text)) return p.what;
    }
  }
  if (text.includes('://')) {
    for (const m of text.matchAll(URL_CREDENTIALS)) {
      if (!isReference(m[1])) return 'a password in a URL';
    }
  }
  if (text.includes('=')) {
    for (const m of text.matchAll(PASSWORD_ASSIGNMENT)) {
      if (!isReference(m[1])) return 'a password assignment';
    }
  }
  return undefined;
}
