import { InputError } from '@backstage/errors';
import {
  TextRedactionOptions,
  hideListedValues,
  hideSecretLineBlocks,
  hideUrlCredentials as hideUrlCredentialsIn,
  needleReplacer,
  redactText,
  secretLines,
} from '@kubechart/plugin-audit-log-common';
import yaml from 'js-yaml';
import { KubeObject } from '../policy/types';
import { HELM_YAML_SCHEMA } from '../yaml/helmYamlSchema';
import { DEFAULT_INPUT_LIMITS, InputLimitError } from '../yaml/limits';
import {
  countDocumentMarkers,
  parseYamlLimited,
} from '../yaml/parseYamlLimited';

/** The placeholder that replaces redacted values. @public */
export const REDACTED = '***';

const SECRET_KEY = /password|passwd|token|secret|key|credential/i;

/**
 * Whether a values key or env name holds a secret (matches password, token, secret, key, credential).
 * @public
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
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
 * Deep copy of `value` with every scalar under a secret-looking key replaced by `***`, and in every
 * other string the password of a URL (`https://user:***@host`, see {@link hideUrlCredentials}) and
 * the secrets the shared free-text rules find (`redactText` of
 * `@kubechart/plugin-audit-log-common`), pairs counting when their whole key names a secret: a
 * config file held in an ordinary key (`config: "db:\n  password: x"`), a list of arguments
 * (`["--token", "x"]`); not settings whose key only mentions one
 * (`--authentication-token-webhook=true`, `auth.token.ttl=3600`, `["--secret-name", "my-tls"]`),
 * nor `true`/`false`.
 * @public
 */
export function redactValues<T>(value: T): T {
  const scrub = (text: string) => redactText(text, VALUES_TEXT_RULES);
  const walk = (v: unknown, secret: boolean): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(i => walk(i, secret));
      return !secret && v.length > 1 && v.every(i => typeof i === 'string')
        ? hideListedValues(v, items as string[], scrub, REDACTED)
        : items;
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          k,
          walk(c, secret || isSecretKey(k)),
        ]),
      );
    }
    if (
      secret &&
      v !== null &&
      v !== undefined &&
      v !== '' &&
      typeof v !== 'boolean'
    ) {
      return REDACTED;
    }
    // Text of an ordinary key may hold secret pairs (a config file: `config: "password: x"`).
    return typeof v === 'string' ? scrub(v) : v;
  };
  return walk(value, false) as T;
}

/**
 * Applies `scrub` to every string (keys and values) of a plain JSON-like value; returns a copy.
 * @public
 */
export function scrubStrings<T>(value: T, scrub: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          scrub(k),
          walk(c),
        ]),
      );
    }
    return v;
  };
  return walk(value) as T;
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
 * Redacts a Kubernetes object: Secret `data`/`stringData`, the last-applied annotation, ConfigMap
 * keys and plain env values whose names look secret, the items of `List` kinds, and every
 * occurrence of a known secret value (with `options.scrub`).
 * @public
 */
export function redactObject(
  obj: KubeObject,
  options: RedactOptions = {},
): KubeObject {
  const copy: KubeObject = JSON.parse(JSON.stringify(obj));
  if (
    typeof copy.kind === 'string' &&
    copy.kind.endsWith('List') &&
    Array.isArray(copy.items)
  ) {
    copy.items = copy.items.map((item: unknown) =>
      item && typeof item === 'object'
        ? redactObject(item as KubeObject, options)
        : item,
    );
  }
  if (copy.kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      if (copy[field] && typeof copy[field] === 'object') {
        copy[field] = Object.fromEntries(
          Object.keys(copy[field]).map(k => [k, REDACTED]),
        );
      }
    }
  }
  const ann = copy.metadata?.annotations;
  if (ann?.['kubectl.kubernetes.io/last-applied-configuration']) {
    ann['kubectl.kubernetes.io/last-applied-configuration'] = REDACTED;
  }
  if (copy.kind === 'ConfigMap' && copy.data && typeof copy.data === 'object') {
    for (const k of Object.keys(copy.data)) {
      if (isSecretKey(k)) copy.data[k] = REDACTED;
    }
  }
  // Opaque bytes (often a packed or encoded copy of a config holding credentials): never shown, like Secret data.
  if (
    copy.kind === 'ConfigMap' &&
    copy.binaryData &&
    typeof copy.binaryData === 'object'
  ) {
    copy.binaryData = Object.fromEntries(
      Object.keys(copy.binaryData).map(k => [k, REDACTED]),
    );
  }
  const visitContainers = (spec: any) => {
    for (const c of [
      ...(spec?.containers ?? []),
      ...(spec?.initContainers ?? []),
    ]) {
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
  };
  visitContainers(copy.spec);
  visitContainers(copy.spec?.template?.spec);
  visitContainers(copy.spec?.jobTemplate?.spec?.template?.spec);
  return options.scrub
    ? scrubStrings(copy, withEncodedForms(options.scrub))
    : copy;
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
  // Bounded like parsing: a manifest of a million tiny documents is refused, not split and redacted one by one.
  if (countDocumentMarkers(manifest) > DEFAULT_INPUT_LIMITS.maxDocuments + 1) {
    throw new InputLimitError(
      'maxDocuments',
      DEFAULT_INPUT_LIMITS.maxDocuments,
      'Manifest',
      `more than ${DEFAULT_INPUT_LIMITS.maxDocuments} documents`,
    );
  }
  const docs = manifest.split(/^---[ \t]*$/m);
  const out: string[] = [];
  for (const doc of docs) {
    if (!doc.trim()) continue;
    let parsed: unknown;
    try {
      const all = parseYamlLimited(doc, {
        what: 'Manifest document',
        schema: 'helm',
      });
      if (all.length > 1) throw new Error('several documents');
      parsed = all[0];
    } catch {
      out.push(
        '# (document not shown: not valid YAML or over the input limits)\n',
      );
      continue;
    }
    if (!parsed || typeof parsed !== 'object') {
      if (doc.replace(/#.*$/gm, '').trim()) continue;
      const onlyComments = doc.replace(/^\n+/, '');
      out.push(options.scrub ? options.scrub(onlyComments) : onlyComments);
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
        out.push(scrubbed);
        continue;
      }
    }
    const rawComments = doc.match(/^#.*$/gm)?.join('\n');
    const comments =
      rawComments && options.scrub
        ? withEncodedForms(options.scrub)(rawComments)
        : rawComments;
    out.push(
      `${comments ? `${comments}\n` : ''}${yaml.dump(redacted, {
        schema: HELM_YAML_SCHEMA,
        lineWidth: -1,
      })}`,
    );
  }
  return out.map(d => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n');
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
 * Collects the secret scalar values of a values object, to scrub them from free text (logs). More
 * than {@link MAX_SECRET_VALUES} distinct values is an `InputError` (400).
 * @public
 */
export function collectSecretValues(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, secret: boolean) => {
    if (Array.isArray(v)) v.forEach(i => walk(i, secret));
    else if (v && typeof v === 'object') {
      for (const [k, c] of Object.entries(v as Record<string, unknown>))
        walk(c, secret || isSecretKey(k));
    } else if (
      secret &&
      (typeof v === 'string' || typeof v === 'number') &&
      String(v).length >= 4
    ) {
      addSecretValue(out, String(v));
    }
  };
  walk(value, false);
  return [...out];
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

/**
 * Returns a function that scrubs free text: the given secret strings (their JSON-escaped and base64
 * forms too), and what the shared free-text rules find (`redactText` of
 * `@kubechart/plugin-audit-log-common`: URL credentials and secret parameters, `password=…`/`token: …`
 * style pairs, flags, bearer tokens, private keys; unless `keyValuePairs: false`, for text we wrote
 * ourselves) are replaced with `***`; so is each block of two lines or more of a secret over
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
  for (const s of known) {
    if (s && s.length >= 4) {
      needles.add(s);
      // As a JSON or YAML double-quoted string writes it (`"line1\nline2"`).
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) needles.add(escaped);
      for (const n of base64Needles(s)) needles.add(n);
    }
  }
  const hideNeedles = needleReplacer(needles, REDACTED);
  const lines = secretLines(known, REDACTED);
  return text => {
    // Lines first: a needle would cut a line of a block out before the block is seen.
    const out = hideNeedles(hideSecretLineBlocks(text, lines, REDACTED));
    if (options.keyValuePairs === false) return out;
    return redactText(out, TEXT_RULES);
  };
}
