/*
 * The words, patterns and character classes the pass over free text (`hideSecretPairs`) reads.
 */

/** openssl's password flags, which name no secret word: `-pass`, `-passin`, `-passout` (`--pass` too). */
export const PASS_FLAGS = new Set(['pass', 'passin', 'passout']);

/**
 * Flags named after a secret that take no value, so their next argument is not one:
 * `--password-stdin`, `--no-password`, `--ask-password`.
 */
export const NO_VALUE_FLAG = /^--?(?:no|ask|prompt)[-_]|[-_]stdin$/i;

/**
 * Commands whose short flag takes a password (a command in any case; the flag's case counts:
 * `mysql -P 3306` is a port). The flag counts only after its command on the same line, or on the
 * lines of its list when the command is alone on its line: elsewhere `-p` is a port
 * (`ssh -p 2222`) or `mkdir -p`.
 */
export const SECRET_SHORT_FLAGS = new Map<string, string>([
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
/** What may follow a command's word: a blank, a quote, a list's `,` or end, a shell's operator. */
export const AFTER_COMMAND = /[\s"',\]);|&]/;

/**
 * What the pass over free text stops at, found by the regex engine (so that ordinary words cost
 * little): a URL's scheme and authority (`https://user:pass@host`, no key), a whole word that may
 * matter (followed by `:` or `=` after its closing quote and blanks: a key; starting with `-`: a flag or PEM armour; a command of
 * `SECRET_SHORT_FLAGS`; `Bearer` or `Basic` before a blank), `;`, `|` or `&` (the end of a
 * command), `?` or `#` (a URL's query), or `/` starting a token (a request path). A word starts
 * after a string's escape too (`\n-----BEGIN`, `\nBearer`, `\t--password`), its letter read
 * with the word only when that makes a secret key (`\token:`). Each word is tried once, from its
 * start: linear in the text.
 */
export const NEXT = new RegExp(
  [
    String.raw`(?:(?<![A-Za-z0-9_.-])|(?<=\\[nrt]))(?:`,
    String.raw`[A-Za-z0-9_.-]+://[^/?#\s"'<>\\\x60]*`,
    String.raw`|[A-Za-z0-9_.-]+(?=(?:\\+"|["'])?[ \t]*[:=])`,
    String.raw`|-[A-Za-z0-9_.-]*`,
    `|(?:${[...SECRET_SHORT_FLAGS.keys()]
      .sort((a, b) => b.length - a.length)
      .map(c => c.replace(/[-.]/g, '\\$&'))
      .join('|')}|bearer(?=[ \t])|basic(?=[ \t]))(?![A-Za-z0-9_.-])`,
    String.raw`)|[;|&?#]|(?<=^|[\s"'<>\x60])/`,
  ].join(''),
  'gi',
);

/** The scheme an `Authorization` value starts with, kept in view: `Bearer [REDACTED]`. */
export const AUTH_SCHEME =
  /(?:bearer|basic|digest|token|negotiate|ntlm)[ \t]+(?=\S)/iy;
/** A `Bearer` token that is an ordinary word of prose (`bearer tokens`), not a credential. */
export const PLAIN_WORD = /^[A-Za-z][a-z]*(?:-[a-z]+)*$/;
/** What `Basic` credentials are: base64 of `user:password`. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PRINTABLE = /^[\x20-\x7e]+$/;
/** A boolean, which is a setting whatever its key: `automountServiceAccountToken: false`. */
export const BOOLEAN = /^(?:true|false)$/i;
/** A YAML block scalar's header up to its line end: `|`, `>-`, `!!binary |`, `| # comment`. */
export const BLOCK_HEADER =
  /(?:[!&]\S*[ \t]+){0,2}[|>][-+1-9]{0,2}[ \t]*(?:#[^\r\n]*)?(?=\r?\n|$)/y;
/**
 * The armour line that opens a private key (`-----BEGIN RSA PRIVATE KEY-----`,
 * `-----BEGIN OPENSSH PRIVATE KEY-----`, PGP's `PRIVATE KEY BLOCK`), after its `-----BEGIN`.
 */
export const PRIVATE_KEY_BEGIN =
  / (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;
export const PEM_END = '-----END ';
/** The rest of a command's line when nothing follows the command (`- mysqldump`, `"mysqldump",`). */
export const COMMAND_ALONE = /["']?,?[ \t]*(?=\r?\n|$)/y;
/** `export ` before the first key of a shell-sourced env file's line. */
export const EXPORT = /export[ \t]+/y;
/** An env entry's `name:` and `value:` count together on one line or on two lines next to each other. */
export const NAME_LOOKAHEAD_LINES = 1;
/** How far after a `value:` its entry's `name:` is looked for. */
export const NAME_LOOKAHEAD_CHARS = 512;
/** How many lines above a `key:` line are passed over to find the mapping it belongs to. */
export const MAX_PARENT_LOOKBACK = 8;
/** Quotes escaped deeper than this are taken as this deep. */
const MAX_ESCAPE_DEPTH = 16;

/**
 * How deep a `"` after `run` backslashes is escaped: `"` 0, `\"` 1 (JSON in a JSON string),
 * `\\\"` 2; after an even run (`\\"`, an escaped backslash) the quote is not escaped. That is
 * the number of trailing ones of `run`.
 */
export function escapeDepth(run: number): number {
  let depth = 0;
  for (let r = run; r & 1 && depth < MAX_ESCAPE_DEPTH; r >>>= 1) depth++;
  return depth;
}

/** The verbs a failure names (`failed to fetch`, `cannot get`, `unable to connect`). */
const FAILED_VERBS = [
  'get',
  'list',
  'watch',
  'find',
  'create',
  'update',
  'patch',
  'delete',
  'fetch',
  'read',
  'write',
  'open',
  'connect',
  'dial',
  'load',
  'parse',
  'decode',
  'unmarshal',
  'marshal',
  'validate',
  'verify',
  'refresh',
  'resolve',
  'reach',
  'access',
  'sync',
  'mount',
  'pull',
  'push',
  'start',
  'obtain',
  'retrieve',
  'authenticate',
  'authorize',
  'determine',
  'contact',
  'exchange',
  'sign',
  'renew',
  'rotate',
  'issue',
  'call',
  'send',
  'request',
  'initialize',
  'apply',
  'attach',
  'wait',
  'execute',
  'run',
  'use',
  'look up',
  'lookup',
  'set up',
  'setup',
  'decrypt',
  'encrypt',
  'generate',
  'inspect',
  'stat',
  'copy',
  'remove',
  'bind',
  'listen',
  'evaluate',
  'query',
  'post',
  'put',
  'extract',
  'prepare',
  'build',
  'find any',
].join('|');

/** An IP address and port (`10.0.0.1:443`, `[fd00::1]:443`), which holds no secret. */
const IP_PORT = String.raw`(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]{2,45}\]):\d{1,5}`;

/**
 * The start of an error another one wraps, after `…: ` (Go's `fmt.Errorf("…: %w", err)`), each a
 * phrase no secret starts with: a Kubernetes object a quoted name refers to and what became of it
 * (`secret "tls-secret" not found`, `secrets "x" is forbidden`), a failure and its verb
 * (`failed to fetch`, `cannot get`, `unable to connect`), a network or context error ending
 * its line (`connection refused`, `i/o timeout`, `context deadline exceeded`, `EOF`) or giving
 * its address (`dial tcp …`), a package's error and its first words (`oauth2: cannot fetch token`, `x509:
 * certificate …`, `rpc error: code = …`), an HTTP client's (`Post "https://…": `) or an HTTP
 * status ending its line (`401 Unauthorized`). A word alone (`error`, `invalid`, `forbidden`), or one run into
 * more (`EOF.abc`, `invalid;pw`), is not one. One ending in a blank or `: ` (`dial tcp `,
 * `desc = `, `Post "https://…": `, `connect: `) is kept only before another (see `wrapsError`);
 * `dial tcp` names its address only as an IP address and port. Fixed alternatives, one bounded
 * run: linear, read from one place.
 */
export const WRAPPED_ERROR = new RegExp(
  [
    String.raw`(?:(?:(?:secrets?|configmaps?|serviceaccounts?|persistentvolumeclaims?) "[a-z0-9][-a-z0-9.]{0,252}"|object "[a-z0-9][-a-z0-9.]{0,252}"/"[a-z0-9][-a-z0-9.]{0,252}") (?:not found|is forbidden|is invalid|already exists|not registered|is being deleted)`,
    String.raw`|(?:(?:failed|unable) to|cannot|can't|could not|couldn't) (?:${FAILED_VERBS})`,
    String.raw`|timed out waiting for the condition`,
    String.raw`|x509: (?:certificate|cannot validate|failed to|unhandled critical extension|malformed|negative serial|unknown authority|too many intermediates)`,
    String.raw`|tls: (?:failed to|bad certificate|handshake failure|unknown certificate|internal error|protocol version|first record does not look like|no application protocol|unrecognized name|certificate required|private key does not match)`,
    String.raw`|oauth2: (?:cannot fetch token|token expired|server response missing|"(?:invalid|unauthorized|unsupported|access)_[a-z_]{1,32}")`,
    String.raw`|http2: (?:server sent GOAWAY|client connection lost|client connection force closed|timeout awaiting|stream closed|no cached connection)`,
    String.raw`|net/http: (?:request canceled|TLS handshake timeout|timeout awaiting response headers|HTTP/1\.x transport connection broken|server gave HTTP response)`,
    String.raw`)(?=[\s)"']|:(?:\s|$)|$)`,
    String.raw`|(?:context deadline exceeded|context canceled|connection refused|connection reset by peer|connection timed out|no such host|i/o timeout|unexpected EOF|EOF|400 Bad Request|401 Unauthorized|403 Forbidden|404 Not Found|405 Method Not Allowed|408 Request Timeout|409 Conflict|429 Too Many Requests|500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)`,
    String.raw`(?=[ \t]*(?:[\r\n)"']|:\s|$))`,
    String.raw`|(?:dial|read|write) (?:tcp|udp)[46]?(?: (?:${IP_PORT}->)?${IP_PORT})?(?=: )`,
    String.raw`|(?:dial|read|write) (?:tcp|udp)[46]? |lookup [-a-z0-9.]{1,253} on |connect: |rpc error: code = [A-Za-z]{1,32} desc = `,
    String.raw`|(?:get|post|put|patch|delete|head) "https?://[^"\s]{1,2048}": `,
  ].join(''),
  'iy',
);

/** A letter or a digit. */
export function isAlphanumeric(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57)
  );
}

/** A character of a key or word: letters, digits, `_`, `.` and `-`. */
export function isKeyChar(code: number): boolean {
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
export function isTokenChar(c: string): boolean {
  return isKeyChar(c.charCodeAt(0)) || c === '~' || c === '+' || c === '/';
}

export function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

export function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** What ends a whitespace-delimited token holding a URL (see `TOKEN_END`), as a test of one character. */
export function endsToken(c: string): boolean {
  return isSpace(c) || isQuote(c) || c === '<' || c === '>' || c === '`';
}

export function isQuote(c: string | undefined): c is '"' | "'" {
  return c === '"' || c === "'";
}

/** Where a command or flag may start: after a blank, a quote, `[`, `,` or `(` (or at the start). */
export function isWordStart(c: string | undefined): boolean {
  return c === undefined || isSpace(c) || isQuote(c) || '[,('.includes(c);
}

/** Whether `token`, after `Basic`, is base64 of `user:password`. */
export function isBasicCredential(token: string): boolean {
  if (token.length % 4 !== 0 || !BASE64.test(token)) return false;
  let decoded: string;
  try {
    decoded = atob(token);
  } catch {
    return false;
  }
  return PRINTABLE.test(decoded) && decoded.includes(':');
}
