/**
 * Placeholder stored instead of a secret value by default (the audit trail's).
 * @public
 */
export const REDACTED = '[REDACTED]';

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
 * Short words that name a secret as a key's last word after another one (`DB_PASS`, `MYSQL_PWD`,
 * `redis-pass`, `smtp.pwd`), or run into the word before it (`PGPASS`, `dbPass`, `adminPwd`,
 * `.pgpass`): not alone (`PASS` of a test run, the shell's `PWD` directory), not followed by more
 * (`passThrough`, `passive`, `DB_PASS_FILE`, libpq's `PGPASSFILE`: a path), nor in an ordinary
 * word ending so (`bypass`, `compass`, `encompass`, `surpass`, `trespass`, `overpass`,
 * `underpass`, `multipass`; the shell's `OLDPWD`). Anchored at the key's end, each branch of
 * fixed length: linear in the key's length.
 */
const LAST_WORD_ONLY =
  /[a-z0-9][-_.](?:pass|pwd)$|[a-z0-9](?<!by|com|sur|tres|over|under|multi)pass$|[a-z0-9](?<!old)pwd$/i;

/**
 * The rule of the keys of structured values (values, Kubernetes objects, audit metadata): a
 * secret word of the shared list anywhere in the key, case-insensitively (`apiKey`,
 * `DB_PASSWORD`, `x-auth-token`, `Proxy-Authorization`, `Set-Cookie`), or `pass`/`pwd` ending it
 * after another word (`DB_PASS`, `MYSQL_PWD`, `PGPASS`, `dbPass`, `adminPwd`; not `bypass`,
 * `PGPASSFILE`). An alternation of literals and anchored branches of fixed length: linear in the
 * key's length.
 * @public
 */
export const SECRET_KEY_PATTERN = new RegExp(
  [
    ...SECRET_WORDS.filter(
      w => !SECRET_WORDS.some(o => o !== w && w.includes(o)),
    ),
    LAST_WORD_ONLY.source,
  ].join('|'),
  'i',
);

/**
 * Whether a key of a structured value (or an env entry's name) holds a secret word anywhere
 * ({@link SECRET_KEY_PATTERN}): wider than {@link isSecretName}, which judges keys of free text.
 * @public
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

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
/** A secret word anywhere in a key (the `any-word` rule). */
const ANY_SECRET_WORD =
  /password|passwd|token|secret|key|credential|authorization|cookie/i;
/**
 * Ordinary words holding `key` that name no secret, left out of a key before the `any-word` rule
 * judges it: `keyboard: us` is shown, `keyboard.password`, `api-key` and `keypass` are not.
 */
const ORDINARY_WORDS_ANYWHERE =
  /keyboard|keyword|keyframe|keystroke|monkey|donkey|turkey|hockey|jockey|whiskey/gi;
/**
 * A reference to a secret, not a secret (`secretKeyRef`, `configMapKeyRef`, `envFrom`'s
 * `secretRef`, `passwordSecretRef`): it holds the names of a Secret and of its key.
 */
const REFERENCE = /(?:keyref|secretref)s?$/;

/**
 * Whether a key of free text (or a URL's parameter name) names a secret as a whole: its last
 * word does (`db.password`, `API_TOKEN`, `apiKey`, `client_secret`, `DB_PASS`, `PGPASS`), not a name that only
 * mentions one (`token_type`, `secretName`, `sortKey`, `keyboard`).
 * @public
 */
export function isSecretName(name: string): boolean {
  if (LAST_WORD_ONLY.test(name)) return true;
  const lower = name.toLowerCase();
  if (!SECRET_WORDS.some(w => lower.endsWith(w))) return false;
  const bare = lower.replace(/[-_.\s]/g, '');
  return !ORDINARY_WORDS.some(w => bare.endsWith(w));
}

/**
 * Whether a key of free text holds a secret word anywhere (`tokenCount`, `db.password_hash`),
 * ordinary words holding `key` left out (`keyboard`), or `pass`/`pwd` ending it
 * (`DB_PASS`, `PGPASS`): the wider rule of logs and tool output.
 */
export function holdsSecretWord(name: string): boolean {
  if (LAST_WORD_ONLY.test(name)) return true;
  const lower = name.toLowerCase();
  return (
    SECRET_WORDS.some(w => lower.includes(w)) &&
    ANY_SECRET_WORD.test(lower.replace(ORDINARY_WORDS_ANYWHERE, ''))
  );
}

/** Whether a key names a reference to a secret (`secretKeyRef`), which holds names, not values. */
export function isReferenceKey(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    (lower.endsWith('ref') || lower.endsWith('refs')) &&
    REFERENCE.test(lower.replace(/[-_.\s]/g, ''))
  );
}
