/*
 * The redaction of structured values: a values object (a chart's values, a plan's labels or patch)
 * and a Kubernetes object, by their keys; the free text they hold by the shared text rules.
 */
import { hideListedValues } from './listedValues';
import { REDACTED, isSecretKey, isSecretName } from './names';
import { TextRedactionOptions, redactText } from './redactText';
import { isSecretPathAnnotation } from './secretPaths';

/**
 * Whether the value `v` under `key` is a secret by its key: the key names one
 * ({@link isSecretKey}), and `v` is not the Vault path an annotation names (a reference:
 * `isSecretPathAnnotation`).
 */
function secretByKey(key: string, v: unknown): boolean {
  return isSecretKey(key) && !isSecretPathAnnotation(key, v);
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Whether `record` is an env entry (`{ name: 'DB_PASSWORD', value: '…' }`, in either order, as
 * charts take them in `extraEnvVars`, `env`, `extraEnv`) whose `name` names a secret by
 * `isSecret` ({@link isSecretKey} by default): its `value` is the variable's, a secret.
 * @public
 */
export function isSecretEnvEntry(
  record: object,
  isSecret: (name: string) => boolean = isSecretKey,
): boolean {
  const r = record as Record<string, unknown>;
  return (
    hasOwn(r, 'name') &&
    hasOwn(r, 'value') &&
    typeof r.name === 'string' &&
    isSecret(r.name)
  );
}

/** Whether a scalar under a secret key is hidden: all but `null`, `undefined`, `''` and booleans (settings). */
function holdsValue(v: unknown): boolean {
  return v !== null && v !== undefined && v !== '' && typeof v !== 'boolean';
}

/**
 * Options of {@link redactValues}.
 * @public
 */
export type ValueRedactionOptions = {
  /** What replaces a hidden value; `[REDACTED]` by default. */
  placeholder?: string;
  /**
   * The rules of the text of an ordinary key (see `redactText`), `placeholder` by default that of
   * these options; by default a key counts when its last word names a secret and a value after
   * `key: ` is hidden to its line's end.
   */
  text?: TextRedactionOptions;
};

/**
 * A deep copy of `value` with every scalar under a key that names a secret ({@link isSecretKey};
 * not the Vault path a `vault.hashicorp.com/agent-inject-secret-<name>` annotation names, a
 * reference), at any depth, and the `value` of every env entry whose name does
 * ({@link isSecretEnvEntry}), as `placeholder` (`null`, `''` and booleans kept); every other
 * string scrubbed by the shared text rules (`options.text`): a config file held in an ordinary key
 * (`config: "db:\n  password: x"`), a URL's password; and a list of strings also of a flag's value
 * given as the next item (`["--token", "x"]`).
 * @public
 */
export function redactValues<T>(
  value: T,
  options: ValueRedactionOptions = {},
): T {
  const placeholder = options.placeholder ?? REDACTED;
  const rules: TextRedactionOptions = {
    midLineValues: 'line',
    ...options.text,
    placeholder: options.text?.placeholder ?? placeholder,
  };
  const scrub = (text: string) => redactText(text, rules);
  const walk = (v: unknown, secret: boolean): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(i => walk(i, secret));
      return !secret && v.length > 1 && v.every(i => typeof i === 'string')
        ? hideListedValues(v, items as string[], scrub, placeholder)
        : items;
    }
    if (v && typeof v === 'object') {
      const env = isSecretEnvEntry(v);
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          k,
          walk(c, secret || secretByKey(k, c) || (env && k === 'value')),
        ]),
      );
    }
    if (secret && holdsValue(v)) return placeholder;
    // Text of an ordinary key may hold secret pairs (a config file: `config: "password: x"`).
    return typeof v === 'string' ? scrub(v) : v;
  };
  return walk(value, false) as T;
}

/**
 * Calls `visit` with each string or number of `value` that {@link redactValues} hides by its
 * place (under a secret key, the `value` of a secret env entry): the values to remove wherever
 * else they are written (logs, tool output).
 * @public
 */
export function forEachSecretValue(
  value: unknown,
  visit: (secret: string) => void,
): void {
  const walk = (v: unknown, secret: boolean) => {
    if (Array.isArray(v)) v.forEach(i => walk(i, secret));
    else if (v && typeof v === 'object') {
      const env = isSecretEnvEntry(v);
      for (const [k, c] of Object.entries(v as Record<string, unknown>))
        walk(c, secret || secretByKey(k, c) || (env && k === 'value'));
    } else if (secret && (typeof v === 'string' || typeof v === 'number')) {
      visit(String(v));
    }
  };
  walk(value, false);
}

/**
 * Applies `scrub` to every string value of a plain JSON-like value, and to every key with
 * `keys: true`; returns a copy.
 * @public
 */
export function scrubStrings<T>(
  value: T,
  scrub: (text: string) => string,
  options: { keys?: boolean } = {},
): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          options.keys ? scrub(k) : k,
          walk(c),
        ]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/** kubectl's copy of the whole object as last applied: values in clear, whatever the kind. @public */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The bytes of `text` in UTF-8. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The bytes base64 `text` decodes to, as a lenient decoder reads it (other characters skipped, stops at `=`). */
function base64Length(text: string): number {
  // Counted in place: a Secret's data may be megabytes, and collecting its characters costs memory.
  let chars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 61) break; // '='
    if (
      (c >= 65 && c <= 90) || // A-Z
      (c >= 97 && c <= 122) || // a-z
      (c >= 48 && c <= 57) || // 0-9
      c === 43 || // +
      c === 47 || // /
      c === 95 || // _
      c === 45 // -
    )
      chars++;
  }
  return Math.floor((chars * 3) / 4);
}

/**
 * `<123 bytes, hidden on a Secret>`: the size of a value that is not shown.
 * @public
 */
export function hiddenSize(value: unknown, why?: string): string {
  return `<${utf8Length(String(value))} bytes, hidden${why ? ` ${why}` : ''}>`;
}

/**
 * Options of {@link redactKubeObject}.
 * @public
 */
export type KubeObjectRedactionOptions = {
  /** What replaces a hidden value; `[REDACTED]` by default. */
  placeholder?: string;
  /**
   * How the values of a Secret and the last-applied annotation are written: `placeholder`
   * (default), each value of `data` and `stringData` as the placeholder; `sizes`, each value of
   * `data` as its size (`<12 bytes>`), `stringData` dropped, the last-applied annotation as
   * its size (`<2048 bytes, hidden>`).
   */
  hidden?: 'placeholder' | 'sizes';
  /** Every annotation of a Secret hidden too (any of them may hold a value), not only those a key rule finds. */
  hideSecretAnnotations?: boolean;
  /** `metadata.managedFields` dropped. */
  dropManagedFields?: boolean;
  /** Applied to every string left (known secret values, the shared text rules), after the key rules. */
  scrub?: (text: string) => string;
  /** `scrub` applied to keys too. */
  scrubKeys?: boolean;
  /** The object's kind when it does not say (items of a list carry none). */
  kind?: string;
};

type KubeObjectLike = { [key: string]: any };

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The keys whose lists hold container specs, wherever a pod spec sits in an object. */
const CONTAINER_LISTS = new Set([
  'containers',
  'initContainers',
  'ephemeralContainers',
]);

/**
 * The lists whose `{ name, value }` entries are variables or headers, judged by the wide rule
 * ({@link isSecretKey}: `API_TOKEN_FILE`); other such entries (a workflow's parameters, a pod's
 * sysctls) by their name's last word ({@link isSecretName}: `api-token`, not `token-ttl`).
 */
const NAMED_VALUE_LISTS = new Set(['env', 'httpHeaders']);

/**
 * In place, at any depth of `obj`: the `value` of every `{ name, value }` entry whose name names a
 * secret ({@link isSecretEnvEntry}; see {@link NAMED_VALUE_LISTS}) as `placeholder`, and the
 * `command` and `args` of every container (see {@link CONTAINER_LISTS}) through the argument-list
 * rule of {@link redactValues}.
 */
function hideNamedValuesAndArguments(obj: unknown, placeholder: string) {
  // A stack rather than recursion: as deep as the object is, without growing the call stack. Each
  // value with the key of the list holding it, when a list does.
  const pending: Array<[unknown, string | undefined]> = [[obj, undefined]];
  while (pending.length > 0) {
    const [v, heldIn] = pending.pop()!;
    if (Array.isArray(v)) {
      for (const item of v) pending.push([item, heldIn]);
      continue;
    }
    if (!isRecord(v)) continue;
    const isSecret =
      heldIn !== undefined && NAMED_VALUE_LISTS.has(heldIn)
        ? isSecretKey
        : isSecretName;
    if (isSecretEnvEntry(v, isSecret) && holdsValue(v.value))
      v.value = placeholder;
    for (const [key, child] of Object.entries(v)) {
      if (CONTAINER_LISTS.has(key) && Array.isArray(child)) {
        for (const container of child) {
          if (!isRecord(container)) continue;
          for (const list of ['command', 'args']) {
            if (Array.isArray(container[list]))
              container[list] = redactValues(container[list], { placeholder });
          }
        }
      }
      pending.push([child, Array.isArray(child) ? key : undefined]);
    }
  }
}

/**
 * A copy of a Kubernetes object that is safe to show:
 * - the items of a `List` kind redacted each (of the list's kind when they do not say), and so
 *   the items of a list given in place of an object (a YAML document that is a list); a List or
 *   list nested more than 32 deep is hidden whole, as the placeholder;
 * - a Secret's `data` and `stringData` (and the `data` of any object with a `type`: a Secret's,
 *   whatever it says it is) hidden, keys kept (see `options.hidden`); its annotations too with
 *   `options.hideSecretAnnotations`;
 * - on every kind, the last-applied annotation hidden, and annotations whose key names a secret
 *   (not the Vault path a `vault.hashicorp.com/agent-inject-secret-<name>` annotation names);
 * - ConfigMap (or kind unknown) `data` entries whose key names a secret, and all of `binaryData`
 *   (a Secret's too: opaque bytes, often a packed copy of a config holding credentials);
 * - anywhere in the object, the `value` of a `{ name, value }` entry whose `name` names a secret
 *   ({@link isSecretEnvEntry}; `null`, `''` and booleans kept): in a container's `env` and a probe's
 *   or a lifecycle hook's `httpGet.httpHeaders`, a secret word anywhere in the name
 *   ({@link isSecretKey}); elsewhere (a custom resource's parameters, a pod's sysctls) the name's
 *   last word ({@link isSecretName}: `api-token` is hidden, `token-ttl` and `secret-name` are not);
 * - in the `command` and `args` of every container, init and ephemeral container at any depth
 *   (pods, pod templates, the job templates of CronJobs, custom resources), the argument-list rule
 *   of {@link redactValues}: a flag's value given as the next item (`["--db-password", "x"]`) and
 *   the secrets each item holds by the shared text rules;
 * - every remaining string through `options.scrub`, a string given in place of an object too.
 * A key names a secret by {@link isSecretKey}.
 * @public
 */
export function redactKubeObject<T extends KubeObjectLike>(
  obj: T,
  options: KubeObjectRedactionOptions = {},
): T {
  const placeholder = options.placeholder ?? REDACTED;
  // One copy, redacted in place: the items of nested Lists are not copied and scrubbed at each level.
  const copy = redactInPlace(
    JSON.parse(JSON.stringify(obj)),
    options,
    options.kind,
    0,
  );
  hideNamedValuesAndArguments(copy, placeholder);
  return (
    options.scrub
      ? scrubStrings(copy, options.scrub, { keys: options.scrubKeys })
      : copy
  ) as T;
}

/**
 * How many Lists (and lists) deep {@link redactKubeObject} walks: a List or a list nested deeper
 * is hidden whole, as the placeholder (no real List nests so deep; walking it would cost time and
 * stack for each level).
 */
const MAX_LIST_NESTING = 32;

/**
 * `v` redacted in place by the rules of {@link redactKubeObject} but `scrub`: an object as a
 * Kubernetes object (of `kind` when it does not say), each item of a list so; returns `v`, or the
 * placeholder when it lies deeper than {@link MAX_LIST_NESTING}.
 */
function redactInPlace(
  v: unknown,
  options: KubeObjectRedactionOptions,
  kind: string | undefined,
  depth: number,
): unknown {
  if (!Array.isArray(v) && !isRecord(v)) return v;
  if (depth > MAX_LIST_NESTING) return options.placeholder ?? REDACTED;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++)
      v[i] = redactInPlace(v[i], options, kind, depth + 1);
    return v;
  }
  redactRecordInPlace(v, options, kind, depth);
  return v;
}

function redactRecordInPlace(
  copy: any,
  options: KubeObjectRedactionOptions,
  objectKind: string | undefined,
  depth: number,
): void {
  const placeholder = options.placeholder ?? REDACTED;
  const sizes = options.hidden === 'sizes';
  const kind = typeof copy.kind === 'string' ? copy.kind : objectKind;
  if (kind?.endsWith('List') && Array.isArray(copy.items)) {
    const itemKind = kind.slice(0, -'List'.length) || undefined;
    const items: unknown[] = copy.items;
    for (let i = 0; i < items.length; i++)
      items[i] = redactInPlace(items[i], options, itemKind, depth + 1);
  }
  const metadata = isRecord(copy.metadata) ? copy.metadata : undefined;
  if (metadata && options.dropManagedFields) delete metadata.managedFields;
  const annotations = isRecord(metadata?.annotations)
    ? metadata!.annotations
    : undefined;
  const secret = kind === 'Secret' || (!!copy.data && !!copy.type);
  if (secret) {
    if (isRecord(copy.data)) {
      for (const key of Object.keys(copy.data)) {
        copy.data[key] = sizes
          ? `<${base64Length(String(copy.data[key]))} bytes>`
          : placeholder;
      }
    } else if (copy.data !== undefined && copy.data !== null) {
      copy.data = placeholder;
    }
    if (sizes) delete copy.stringData;
    else if (isRecord(copy.stringData)) {
      for (const key of Object.keys(copy.stringData))
        copy.stringData[key] = placeholder;
    } else if (copy.stringData !== undefined && copy.stringData !== null) {
      copy.stringData = placeholder;
    }
  }
  for (const key of Object.keys(annotations ?? {})) {
    const value = annotations![key];
    if (secret && options.hideSecretAnnotations) {
      annotations![key] = sizes
        ? hiddenSize(value, 'on a Secret')
        : placeholder;
    } else if (key === LAST_APPLIED) {
      if (sizes) annotations![key] = hiddenSize(value);
      else if (value) annotations![key] = placeholder;
    } else if (
      secretByKey(key, value) &&
      value !== null &&
      value !== undefined &&
      value !== ''
    ) {
      annotations![key] = placeholder;
    }
  }
  const configMap = kind === 'ConfigMap' || !kind;
  if (configMap && !secret && isRecord(copy.data)) {
    for (const key of Object.keys(copy.data))
      if (isSecretKey(key)) copy.data[key] = placeholder;
  }
  if (configMap || secret) {
    if (isRecord(copy.binaryData)) {
      for (const key of Object.keys(copy.binaryData))
        copy.binaryData[key] = placeholder;
    } else if (copy.binaryData !== undefined && copy.binaryData !== null) {
      copy.binaryData = placeholder;
    }
  }
}
