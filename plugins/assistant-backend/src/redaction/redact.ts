import { Plan } from '@kubechart/plugin-assistant-common';
import {
  LAST_APPLIED,
  TextRedactionOptions,
  hiddenSize,
  hideListedValues,
  hideSecretLineBlocks,
  hideUrlCredentials as hideUrlCredentialsIn,
  isSecretKey as isSecretKeyOf,
  needleReplacer,
  redactKubeObject,
  redactText,
  redactValues as redactValuesOf,
  secretLines,
} from '@kubechart/plugin-audit-log-common';

/**
 * Redaction of what the assistant shows and records. The object rules (values, Kubernetes objects)
 * and the free-text rules are the ones every family shares, from
 * `@kubechart/plugin-audit-log-common` (the families install separately, and each may depend on
 * that package), with the assistant's placeholder and its way of showing hidden Secret values.
 */

/** What replaces a hidden value. */
export const REDACTED = '***';

/**
 * Whether a key or env name holds a secret: a secret word of the shared list anywhere in it
 * (password, passwd, token, secret, key, credential, authorization, cookie), or `pass`/`pwd` as
 * its last word after another one (`DB_PASS`, `MYSQL_PWD`).
 */
export function isSecretKey(key: string): boolean {
  return isSecretKeyOf(key);
}

/** kubectl's copy of the whole object as last applied; `<123 bytes, hidden on a Secret>`. */
export { LAST_APPLIED, hiddenSize };

/**
 * The free-text rules of what the assistant shows (events, logs, tables, explanations): the shared
 * rules of `@kubechart/plugin-audit-log-common` with the assistant's placeholder, keys holding a
 * secret word anywhere, and a value after `key: ` hidden to its line's end.
 */
const TEXT_RULES: TextRedactionOptions = {
  placeholder: REDACTED,
  keys: 'any-word',
  midLineValues: 'line',
};
/**
 * The rules of the text of an ordinary value (a label, an annotation, a patch's string): a key
 * counts when its last word names a secret, and `true`/`false` are shown.
 */
const VALUES_TEXT_RULES: TextRedactionOptions = {
  placeholder: REDACTED,
  midLineValues: 'line',
};

/** `scheme://user:pass@host` → `scheme://user:***@host`, for every URL of the text (see `scrubText`). */
export function hideUrlCredentials(text: string): string {
  return hideUrlCredentialsIn(text, { placeholder: REDACTED });
}

/**
 * Free text with the secrets written in it hidden as `***`: URL credentials and secret parameters,
 * secret-looking `key=value` pairs, flags, bearer tokens, private keys (see `redactText` of
 * `@kubechart/plugin-audit-log-common`).
 */
export function scrubText(text: string): string {
  return redactText(text, TEXT_RULES);
}

type KubeObjectLike = { [key: string]: any };

/**
 * A copy of a Kubernetes object that is safe to show (`redactKubeObject` of
 * `@kubechart/plugin-audit-log-common`): `managedFields` dropped;
 * - a Secret's `data` as sizes, its `stringData` dropped, its annotations as sizes;
 * - on every kind, the last-applied annotation as its size, and annotations whose key looks secret
 *   as `***`;
 * - ConfigMap `data` entries whose key looks secret, and all of `binaryData`, as `***`;
 * - the `value` of every `{ name, value }` entry whose `name` looks secret as `***` (container
 *   `env`, probe and lifecycle hook `httpGet.httpHeaders`, anywhere in the object);
 * - a flag's value given as the next item of a container's `command`/`args` as `***`
 *   (`["--db-password", "***"]`; containers, init and ephemeral containers at any depth);
 * - the items of a `List` kind, each so;
 * - in every remaining string, URL credentials and secret-looking `key=value` pairs as `***`.
 *
 * `kind` is the object's kind when the object does not say (items of a list carry none).
 */
export function redactObject<T extends KubeObjectLike>(
  obj: T,
  kind?: string,
): T {
  return redactKubeObject(obj, {
    placeholder: REDACTED,
    hidden: 'sizes',
    hideSecretAnnotations: true,
    dropManagedFields: true,
    scrub: scrubText,
    kind,
  });
}

/**
 * A copy of a JSON-like value with every scalar under a secret-looking key, and the `value` of
 * every `{ name, value }` whose name looks secret (an env entry), as `***`; other strings scrubbed
 * of URL credentials and of the values of pairs whose whole key names a secret (the shared
 * `redactText` with last-word keys: `db.password=x`, not `--authentication-token-webhook=true`, `true`/`false`
 * never), and a list of strings also of a flag's value given as the next item (`["--token", "x"]`).
 */
export function redactValues<T>(value: T): T {
  return redactValuesOf(value, {
    placeholder: REDACTED,
    text: VALUES_TEXT_RULES,
  });
}

/**
 * The plan as the audit trail records it: values of secret-looking label and annotation keys, and
 * of a patch's secret-looking keys and env entries, as `***`; the names by which a patch refers to
 * a Secret are shown (see {@link keepReferences}). The plan that runs is not changed.
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
      const redacted = JSON.stringify(
        keepReferences(hidden, redactValues(hidden)),
      );
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
      REDACTED,
    );
  return copy;
}

/** An object's name, or a key of a Secret's data: what a reference names, never a secret value. */
const NAME = /^[-._A-Za-z0-9]{1,253}$/;
/** A file a Secret's key is projected to, relative to its volume. */
const PATH = /^[-._A-Za-z0-9/]{1,4096}$/;
/** A reference to a Secret or ConfigMap by name (`secretKeyRef`, `envFrom`'s `secretRef`, `nodePublishSecretRef`). */
const REFERENCE_KEY = /(?:keyref|secretref)$/i;

type Json = Record<string, unknown>;
const isJsonMap = (v: unknown): v is Json =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * `redacted` (what {@link redactValues} made of `original`) with the names by which `original`
 * refers to Secrets put back: they name objects, not values, and the confirmation and the trail
 * must say which Secret a patch gives a pod. Only these fields, and only when each holds a name
 * (a setting: a boolean or a file mode), are put back:
 * - `secretName` (a secret volume, an Ingress's TLS);
 * - `name`, `key`, `namespace` and `optional` of a reference (`secretKeyRef`, `configMapKeyRef`,
 *   `secretRef`, `…SecretRef`);
 * - `name` of each `imagePullSecrets` entry;
 * - of a `secret` mapping (a secret volume, a projected volume's source): `secretName`, `name`,
 *   `optional`, `defaultMode`, and `key`, `path` and `mode` of its `items`.
 * Anything else a reference holds stays hidden.
 */
function keepReferences(original: unknown, redacted: unknown): unknown {
  if (Array.isArray(original) && Array.isArray(redacted)) {
    return redacted.map((r, i) => keepReferences(original[i], r));
  }
  if (!isJsonMap(original) || !isJsonMap(redacted)) return redacted;
  const out: Json = { ...redacted };
  for (const [key, value] of Object.entries(original)) {
    if (!(key in out)) continue;
    if (key === 'secretName') {
      out[key] = restored(value, NAME, out[key]);
    } else if (REFERENCE_KEY.test(key) && isJsonMap(value)) {
      out[key] = restoredFields(value, out[key], {
        name: NAME,
        key: NAME,
        namespace: NAME,
        optional: 'boolean',
      });
    } else if (key === 'imagePullSecrets' && Array.isArray(value)) {
      const shown = out[key];
      out[key] = Array.isArray(shown)
        ? shown.map((s, i) =>
            isJsonMap(value[i])
              ? restoredFields(value[i] as Json, s, { name: NAME })
              : s,
          )
        : shown;
    } else if (key === 'secret' && isJsonMap(value)) {
      const shown = restoredFields(value, out[key], {
        secretName: NAME,
        name: NAME,
        optional: 'boolean',
        defaultMode: 'number',
      });
      if (isJsonMap(shown) && Array.isArray(value.items)) {
        const items = shown.items;
        shown.items = Array.isArray(items)
          ? items.map((s, i) =>
              isJsonMap((value.items as unknown[])[i])
                ? restoredFields((value.items as Json[])[i], s, {
                    key: NAME,
                    path: PATH,
                    mode: 'number',
                  })
                : s,
            )
          : items;
      }
      out[key] = shown;
    } else {
      out[key] = keepReferences(value, out[key]);
    }
  }
  return out;
}

/** `value` when it is a name (a string of `rule`) or a setting of the type `rule` names; `shown` otherwise. */
function restored(
  value: unknown,
  rule: RegExp | 'boolean' | 'number',
  shown: unknown,
): unknown {
  if (rule === 'boolean' || rule === 'number') {
    return typeof value === rule ? value : shown;
  }
  return typeof value === 'string' && rule.test(value) ? value : shown;
}

/** `shown` with the `fields` of `original` that hold names or settings put back. */
function restoredFields(
  original: Json,
  shown: unknown,
  fields: Record<string, RegExp | 'boolean' | 'number'>,
): unknown {
  if (!isJsonMap(shown)) return shown;
  const out: Json = { ...shown };
  for (const [field, rule] of Object.entries(fields)) {
    if (field in original && field in out)
      out[field] = restored(original[field], rule, out[field]);
  }
  return out;
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
  const out = hideSecretLineBlocks(
    text,
    secretLines(values, REDACTED),
    REDACTED,
  );
  return scrubText(needleReplacer(needles, REDACTED)(out));
}
