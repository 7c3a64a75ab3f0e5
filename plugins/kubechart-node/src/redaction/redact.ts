import { InputError } from '@backstage/errors';
import {
  TextRedactionOptions,
  forEachSecretValue,
  goYamlEscaped,
  goYamlWritesAsIs,
  hideSecretLineBlocks,
  hideUrlCredentials as hideUrlCredentialsIn,
  isSecretKey as isSecretKeyOf,
  needleReplacer,
  redactKubeObject,
  redactText,
  redactValues as redactValuesOf,
  scrubStrings as scrubStringsOf,
  secretLines,
} from '@kubechart/plugin-audit-log-common';
import yaml from 'js-yaml';
import { KubeObject } from '../policy/types';
import { HELM_YAML_SCHEMA } from '../yaml/helmYamlSchema';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  MANIFEST_DOCUMENT_LIMITS,
} from '../yaml/limits';
import { Pausable, runAtOnce, runInTurns } from '../yaml/turns';
import {
  countDocumentMarkers,
  parseYamlLimited,
} from '../yaml/parseYamlLimited';
import { documentPieces } from '../yaml/documentPieces';
import { foldedFormReplacer } from './foldedYaml';

/** The placeholder that replaces redacted values. @public */
export const REDACTED = '***';

/**
 * Whether a values key or env name holds a secret: a secret word of the shared list anywhere in it
 * (password, passwd, token, secret, key, credential, authorization, cookie), or `pass`/`pwd` as its
 * last word after another one (`DB_PASS`, `MYSQL_PWD`; `isSecretKey` of
 * `@kubechart/plugin-audit-log-common`).
 * @public
 */
export function isSecretKey(key: string): boolean {
  return isSecretKeyOf(key);
}

/**
 * The free-text rules of KubeChart's tool output (helm, kubectl, logs): the shared rules of
 * `@kubechart/plugin-audit-log-common` with KubeChart's placeholder, keys holding a secret word
 * anywhere (`tokenX`, `password_hash`), and a value after `key: ` hidden to its line's end.
 */
const TEXT_RULES: TextRedactionOptions = {
  placeholder: REDACTED,
  keys: 'any-word',
  midLineValues: 'line',
};
/**
 * The rules of the text of an ordinary values key, a setting unless it says otherwise: a key
 * counts when its last word names a secret (`db.password`, not `auth.token.ttl` or
 * `--secret-name`), and `true`/`false` are shown.
 */
const VALUES_TEXT_RULES: TextRedactionOptions = {
  placeholder: REDACTED,
  midLineValues: 'line',
};

/**
 * Deep copy of `value` with every scalar under a secret-looking key ({@link isSecretKey}), and the
 * `value` of every env entry whose name looks secret (`extraEnvVars: [{ name: 'DB_PASSWORD',
 * value: … }]`), replaced by `***`; in every other string the password of a URL
 * (`https://user:***@host`, see {@link hideUrlCredentials}) and the secrets the shared free-text
 * rules find, pairs counting when their whole key names a secret: a config file held in an
 * ordinary key (`config: "db:\n  password: x"`), a list of arguments (`["--token", "x"]`); not
 * settings whose key only mentions one (`--authentication-token-webhook=true`,
 * `auth.token.ttl=3600`, `["--secret-name", "my-tls"]`), nor `true`/`false`. The shared
 * `redactValues` of `@kubechart/plugin-audit-log-common` with KubeChart's placeholder.
 * @public
 */
export function redactValues<T>(value: T): T {
  return redactValuesOf(value, {
    placeholder: REDACTED,
    text: VALUES_TEXT_RULES,
  });
}

/**
 * Applies `scrub` to every string (keys and values) of a plain JSON-like value; returns a copy.
 * @public
 */
export function scrubStrings<T>(value: T, scrub: (text: string) => string): T {
  return scrubStringsOf(value, scrub, { keys: true });
}

/** Options of {@link redactObject} and {@link redactManifest}. @public */
export type RedactOptions = {
  /**
   * Scrubs free text, e.g. `createTextRedactor(knownSecrets, { keyValuePairs: false })`: applied to
   * every string of every object, so a known secret is removed wherever a chart copied it
   * (a ConfigMap's `DATABASE_URL`, an annotation, a command line).
   */
  scrub?: (text: string) => string;
};

/**
 * Redacts a Kubernetes object: Secret `data`/`stringData`, the last-applied annotation,
 * annotations, ConfigMap keys and plain env and probe header values whose names look secret, a
 * flag's value given as the next item of a container's `command`/`args`, ConfigMap
 * `binaryData`, the items of `List` kinds, and every occurrence of a known secret value (with
 * `options.scrub`): `redactKubeObject` of `@kubechart/plugin-audit-log-common` with KubeChart's
 * placeholder.
 * @public
 */
export function redactObject(
  obj: KubeObject,
  options: RedactOptions = {},
): KubeObject {
  return redactKubeObject(obj, {
    placeholder: REDACTED,
    scrub: options.scrub && withEncodedForms(options.scrub),
    scrubKeys: true,
  });
}

/** Runs of base64 (or base64url) characters long enough to hide a secret: `Basic dXNlcjpw…`, a data URL. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{12,}={0,2}/g;

/**
 * `scrub`, plus: every base64-looking run in the text is decoded, and replaced whole with `***`
 * when its decoded text holds something `scrub` removes (`Basic base64(user:password)`, base64 of
 * a JSON config), whatever the alignment of the secret in it. Each run is decoded once: linear in the text.
 */
function withEncodedForms(
  scrub: (text: string) => string,
): (text: string) => string {
  return text => {
    if (text.length < 12) return scrub(text);
    // Decoded before the plain scrub, which would cut only the aligned middle out of an encoded value.
    const decodedRuns = text.replace(BASE64_RUN, run => {
      const bytes = Buffer.from(run, 'base64');
      // latin1 keeps each byte one character (an ASCII secret is found whatever surrounds it); utf8 for the others.
      const latin1 = bytes.toString('latin1');
      if (scrub(latin1) !== latin1) return REDACTED;
      const utf8 = bytes.toString('utf8');
      return utf8 !== latin1 && scrub(utf8) !== utf8 ? REDACTED : run;
    });
    return scrub(decodedRuns);
  };
}

/** What {@link redactManifest} and {@link redactManifestInTurns} share: pauses after each document. */
function* redactingManifest(
  manifest: string,
  options: RedactOptions,
): Pausable<string> {
  // Bounded like parsing: a manifest of a million tiny documents is refused, not split and redacted one by one.
  if (countDocumentMarkers(manifest) > DEFAULT_INPUT_LIMITS.maxDocuments + 1) {
    throw new InputLimitError(
      'maxDocuments',
      DEFAULT_INPUT_LIMITS.maxDocuments,
      'Manifest',
      `more than ${DEFAULT_INPUT_LIMITS.maxDocuments} documents`,
    );
  }
  const scrubText = options.scrub && withEncodedForms(options.scrub);
  // Each document with the text of its `---` line (as the parser splits a stream): when that line
  // holds only a comment, the comment is kept (scrubbed) on the `---` line written before it.
  const out: Array<{ marker?: string; text: string }> = [];
  for (const [k, piece] of documentPieces(manifest).entries()) {
    if (k > 0) yield undefined;
    const whole = manifest.slice(piece.from, piece.to);
    let doc = whole;
    let marker: string | undefined;
    if (/^---(?:[ \t]|\r?\n|$)/.test(whole)) {
      const eol = whole.indexOf('\n');
      const rest = whole.slice(3, eol < 0 ? whole.length : eol).trim();
      if (rest === '' || rest.startsWith('#')) {
        marker = rest && (scrubText ? scrubText(rest) : rest);
        doc = eol < 0 ? '' : whole.slice(eol + 1);
      }
    }
    const push = (text: string) => out.push({ marker, text });
    if (!doc.trim()) continue;
    let parsed: unknown;
    try {
      // One object: no larger than the API server stores (what one turn of the event loop reads).
      const all = parseYamlLimited(doc, {
        what: 'Manifest document',
        schema: 'helm',
        limits: MANIFEST_DOCUMENT_LIMITS,
      });
      if (all.length > 1) throw new Error('several documents');
      parsed = all[0];
    } catch {
      push('# (document not shown: not valid YAML or over the input limits)\n');
      continue;
    }
    if (!parsed || typeof parsed !== 'object') {
      if (doc.replace(/#.*$/gm, '').trim()) continue;
      const onlyComments = doc.replace(/^\n+/, '');
      push(options.scrub ? options.scrub(onlyComments) : onlyComments);
      continue;
    }
    const redacted = redactObject(parsed as KubeObject, options);
    const redactedJson = JSON.stringify(redacted);
    const changed = redactedJson !== JSON.stringify(parsed);
    const raw = doc.replace(/^\n+/, '');
    if (!changed) {
      // The text as given (what the cluster received), with known secrets removed from its comments
      // too (`  # generated with <password>`, indented or after a value): kept only when it still
      // says exactly what the object says, else the object is written out again, without comments.
      const scrubbed = options.scrub
        ? withEncodedForms(options.scrub)(raw)
        : raw;
      if (scrubbed === raw || sameObject(scrubbed, redactedJson)) {
        push(scrubbed);
        continue;
      }
    }
    const rawComments = doc.match(/^#.*$/gm)?.join('\n');
    const comments =
      rawComments && options.scrub
        ? withEncodedForms(options.scrub)(rawComments)
        : rawComments;
    push(
      `${comments ? `${comments}\n` : ''}${yaml.dump(redacted, {
        schema: HELM_YAML_SCHEMA,
        // What redaction returns shares no objects; js-yaml's search for them is quadratic.
        noRefs: true,
        lineWidth: -1,
      })}`,
    );
  }
  // A document written with its `---` line (content on it) needs no other.
  return out
    .map(({ marker, text }, k) => {
      const d = text.endsWith('\n') ? text : `${text}\n`;
      if (/^---(?:[ \t]|\r?\n)/.test(d) || (k === 0 && !marker)) return d;
      return `---${marker ? ` ${marker}` : ''}\n${d}`;
    })
    .join('');
}

/**
 * Redacts a multi-document YAML manifest, document by document, keeping the text of documents that
 * hold nothing secret. Documents that are not valid YAML, or break the input limits, are dropped
 * rather than leaked; more than `maxDocuments` documents is an `InputLimitError` (400).
 * @public
 */
export function redactManifest(
  manifest: string,
  options: RedactOptions = {},
): string {
  return runAtOnce(redactingManifest(manifest, options));
}

/**
 * {@link redactManifest} with a turn of the event loop between documents: a manifest a request
 * brings holds the event loop no longer than its largest document costs to redact.
 * @public
 */
export function redactManifestInTurns(
  manifest: string,
  options: RedactOptions = {},
): Promise<string> {
  return runInTurns(redactingManifest(manifest, options));
}

/** Whether YAML `text` parses (within the limits) to the one object whose JSON is `json`. */
function sameObject(text: string, json: string): boolean {
  try {
    const all = parseYamlLimited(text, {
      what: 'Manifest document',
      schema: 'helm',
    });
    return all.length === 1 && JSON.stringify(all[0]) === json;
  } catch {
    return false;
  }
}

/**
 * The most distinct secret values one values object or one set of manifests may hold (see
 * {@link collectSecretValues}, {@link collectManifestSecretValues}): far above what a real chart or
 * manifest holds. Each one is looked for, in several forms, in all that is shown of it.
 * @public
 */
export const MAX_SECRET_VALUES = 2000;

/** Adds `value` to the secret values `found`; more than {@link MAX_SECRET_VALUES} is an `InputError` (400). */
function addSecretValue(found: Set<string>, value: string) {
  found.add(value);
  if (found.size > MAX_SECRET_VALUES) {
    throw new InputError(
      `Secret values refused: more than ${MAX_SECRET_VALUES} distinct secret values; the limit maxSecretValues is ${MAX_SECRET_VALUES}`,
    );
  }
}

/**
 * The values of the Secrets in `objects` (`List` items included): `stringData` as given, `data`
 * base64-decoded; to scrub wherever else the manifests copy them (a ConfigMap, an annotation).
 * A short value (under 8 characters) counts only under a secret-looking key, so a `username: admin`
 * or `enabled: true` does not blank every `admin` and `true` of the manifests. With
 * `secretKeysOnly` (for Secrets a chart renders, whose other keys are often plain settings such as
 * `username: postgres-user`), only values under secret-looking keys count. More than
 * {@link MAX_SECRET_VALUES} distinct values is an `InputError` (400).
 * @public
 */
export function collectManifestSecretValues(
  objects: unknown[],
  options?: { secretKeysOnly?: boolean },
): string[] {
  const out = new Set<string>();
  const add = (key: string, value: string) => {
    const secretKey = isSecretKey(key);
    if (options?.secretKeysOnly && !secretKey) return;
    if (value.length >= 8 || (value.length >= 4 && secretKey)) {
      addSecretValue(out, value);
    }
  };
  const visit = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    const obj = o as Record<string, any>;
    if (
      typeof obj.kind === 'string' &&
      obj.kind.endsWith('List') &&
      Array.isArray(obj.items)
    ) {
      obj.items.forEach(visit);
    }
    if (obj.kind !== 'Secret') return;
    for (const [k, v] of Object.entries(obj.stringData ?? {})) {
      if (typeof v === 'string' || typeof v === 'number') add(k, String(v));
    }
    for (const [k, v] of Object.entries(obj.data ?? {})) {
      if (typeof v === 'string') {
        add(k, Buffer.from(v, 'base64').toString('utf8'));
      }
    }
  };
  objects.forEach(visit);
  return [...out];
}

/**
 * Collects the secret values of a values object, to scrub them from free text (logs) and from the
 * manifests a chart renders from it: the scalars under secret-looking keys, and what
 * {@link redactValues} hides by its text rules in the text of ordinary keys (a URL's password, a
 * `db.password=` pair of a config text, a flag's value), so a manifest shows none of what the
 * run's values view hides. Only those exact strings: a manifest's own text is not held to the text
 * rules (a `password: ${DB_PASSWORD}` line a chart writes, a `--token-file` argument stay shown and
 * comparable). More than {@link MAX_SECRET_VALUES} distinct values is an `InputError` (400).
 * @public
 */
export function collectSecretValues(value: unknown): string[] {
  const out = new Set<string>();
  const add = (secret: string) => {
    if (secret.length >= 4) addSecretValue(out, secret);
  };
  forEachSecretValue(value, add);
  forEachHiddenText(value, redactValues(value), add);
  return [...out];
}

/**
 * Calls `visit` with what `shown` (`redactValues(given)`) hides of each string of `given`: the
 * pieces its placeholders stand for. When where they stand is not certain (the text around a
 * placeholder occurs in the hidden piece too), the whole string: more than the secret, never less.
 */
function forEachHiddenText(
  given: unknown,
  shown: unknown,
  visit: (hidden: string) => void,
): void {
  if (typeof given === 'string') {
    if (typeof shown !== 'string' || shown === given) return;
    const parts = shown.split(REDACTED);
    const left = hiddenPieces(given, parts, 'left');
    const right = hiddenPieces(given, parts, 'right');
    if (left && right && left.join('\0') === right.join('\0'))
      left.forEach(visit);
    else visit(given);
    return;
  }
  if (
    !given ||
    typeof given !== 'object' ||
    !shown ||
    typeof shown !== 'object'
  )
    return;
  if (Array.isArray(given)) {
    if (!Array.isArray(shown)) return;
    given.forEach((g, i) => forEachHiddenText(g, shown[i], visit));
    return;
  }
  for (const [k, g] of Object.entries(given))
    forEachHiddenText(g, (shown as Record<string, unknown>)[k], visit);
}

/**
 * The pieces of `given` that the placeholders between `parts` (its text as shown, split at each
 * placeholder) stand for, each at least one character: the text between the parts placed as far
 * left (or right) as they go. Undefined when the parts do not fit `given`.
 */
function hiddenPieces(
  given: string,
  parts: string[],
  from: 'left' | 'right',
): string[] | undefined {
  const last = parts.length - 1;
  if (last < 1 || !given.startsWith(parts[0]) || !given.endsWith(parts[last]))
    return undefined;
  const start = parts[0].length;
  const end = given.length - parts[last].length;
  const pieces: string[] = [];
  if (from === 'left') {
    let at = start;
    for (let i = 1; i < last; i++) {
      const found = given.indexOf(parts[i], at + 1);
      if (found < 0 || found + parts[i].length > end - 1) return undefined;
      pieces.push(given.slice(at, found));
      at = found + parts[i].length;
    }
    if (end <= at) return undefined;
    pieces.push(given.slice(at, end));
    return pieces;
  }
  let to = end;
  for (let i = last - 1; i >= 1; i--) {
    const found = given.lastIndexOf(parts[i], to - 1 - parts[i].length);
    if (found < start + 1) return undefined;
    pieces.unshift(given.slice(found + parts[i].length, to));
    to = found;
  }
  if (to <= start) return undefined;
  pieces.unshift(given.slice(start, to));
  return pieces;
}

/**
 * `scheme://user:pass@host` → `scheme://user:***@host`, for every URL of the text, and a token
 * given as a URL's user (`https://ghp_x1@github.com` → `https://***@github.com`); see
 * `hideUrlCredentials` of `@kubechart/plugin-audit-log-common`. Linear in the text.
 * @public
 */
export function hideUrlCredentials(text: string): string {
  return hideUrlCredentialsIn(text, { placeholder: REDACTED });
}

/**
 * The base64 forms of `secret` wherever it sits in the encoded bytes: its own encoding, and, for
 * the secret preceded by 0, 1 or 2 other bytes (`user:password`), the characters that depend on
 * the secret's bytes alone. Parts shorter than 8 characters are left out (they would match by chance).
 */
function base64Needles(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const out = [bytes.toString('base64')];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const first = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + bytes.length)) / 6);
    if (end - first >= 8) out.push(encoded.slice(first, end));
  }
  return out;
}

/** Bytes Go's `url.QueryEscape` (a chart's `urlquery`) leaves as they are; `PathEscape` also these. */
const QUERY_KEPT = /[A-Za-z0-9_.~-]/;
const PATH_KEPT = /[A-Za-z0-9_.~$&+:=@-]/;

/** `text`'s UTF-8 bytes percent-encoded as Go escapes them: but those `kept`, and a space as `space`. */
function goEscape(text: string, kept: RegExp, space: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (byte < 0x80 && kept.test(c)) out += c;
    else if (c === ' ') out += space;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The forms of `secret` in a URL: Go's `url.QueryEscape` (helm's `urlquery`, a space as `+`) and
 * `url.PathEscape`, JavaScript's `encodeURIComponent`.
 */
function urlEncodedForms(secret: string): string[] {
  const out = [
    goEscape(secret, QUERY_KEPT, '+'),
    goEscape(secret, PATH_KEPT, '%20'),
  ];
  try {
    out.push(encodeURIComponent(secret));
  } catch {
    // A lone surrogate: JavaScript cannot encode it, so no URL holds it so encoded.
  }
  return out;
}

/** `text` as Go's `json.Marshal` (helm's `toJson`, `toPrettyJson`) writes it, without the quotes. */
function goJsonForm(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(
      /[&<>\u2028\u2029]/g,
      c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
}

/** `text` as go-yaml writes it in a double-quoted scalar, without the quotes (in one line; see `foldedFormReplacer`). */
function yamlDoubleQuotedForm(text: string): string {
  let out = '';
  for (const c of text) out += goYamlWritesAsIs(c) ? c : goYamlEscaped(c);
  return out;
}

/**
 * The forms of `secret` a chart's serializers write: JSON (`JSON.stringify`, Go's `toJson`, which
 * also escapes `&`, `<`, `>`, U+2028 and U+2029), each quoted once more (`| toJson | quote`, the
 * JSON of a JSON string), and go-yaml's `toYaml` (single-quoted with `'` doubled, double-quoted),
 * in one line; folded over lines, `toYaml`'s forms are found by {@link foldedFormReplacer}.
 */
function serializedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const goJson = goJsonForm(secret);
  return [
    json,
    goJson,
    JSON.stringify(json).slice(1, -1),
    goJsonForm(goJson),
    secret.replace(/'/g, "''"),
    yamlDoubleQuotedForm(secret),
  ];
}

/**
 * Returns a function that scrubs free text: the given secret strings (their JSON-escaped and
 * YAML-quoted forms as {@link serializedForms} gives them, their base64 and URL-encoded forms too, and each without the blanks around it, as a chart's `trim` leaves
 * it), and what the shared free-text rules find (`redactText` of
 * `@kubechart/plugin-audit-log-common`: URL credentials and secret parameters, `password=…`/`token: …`
 * style pairs, flags, bearer tokens, private keys; unless `keyValuePairs: false`, for text we wrote
 * ourselves) are replaced with `***`; so is a secret with spaces that helm's `toYaml` folded over
 * lines (see `foldedFormReplacer`), and each block of two lines or more of a secret over
 * lines, 8 characters or more together, wherever it stands (see `hideSecretLineBlocks`). All the
 * secrets' forms are found in one pass over the text (see `needleReplacer`): linear in the text
 * whatever the number of secrets, and building it linear in the secrets.
 * @public
 */
export function createTextRedactor(
  secrets: Iterable<string> = [],
  options: { keyValuePairs?: boolean } = {},
): (text: string) => string {
  const needles = new Set<string>();
  const known = [...secrets];
  for (const given of known) {
    // A secret read from a file (`--set-file`, a file field) ends with a newline a chart trims.
    const trimmed = given.trim();
    for (const s of trimmed !== given ? [given, trimmed] : [given]) {
      if (s.length < 4) continue;
      needles.add(s);
      // As JSON or YAML writes it (`"line1\nline2"`, helm's `toJson`, `toYaml`).
      for (const n of serializedForms(s)) if (n !== s) needles.add(n);
      for (const n of base64Needles(s)) needles.add(n);
      // As a URL writes it: a chart's `urlquery` (a password in a DSN), JavaScript's encoding.
      for (const n of urlEncodedForms(s)) if (n !== s) needles.add(n);
    }
  }
  const hideNeedles = needleReplacer(needles, REDACTED);
  const lines = secretLines(known, REDACTED);
  // As helm's `toYaml` folds a long one over lines at its spaces, in each style it writes it in.
  const trimmed = known.map(s => s.trim()).filter(s => s.length >= 4);
  const hideFolded = foldedFormReplacer(
    {
      plain: trimmed.flatMap(s => [s, s.replace(/'/g, "''")]),
      double: trimmed.map(yamlDoubleQuotedForm),
    },
    REDACTED,
  );
  return text => {
    // Lines first: a needle would cut a line of a block out before the block is seen; then the
    // folded forms, which a needle would cut in two.
    const out = hideNeedles(
      hideFolded(hideSecretLineBlocks(text, lines, REDACTED)),
    );
    if (options.keyValuePairs === false) return out;
    return redactText(out, TEXT_RULES);
  };
}
