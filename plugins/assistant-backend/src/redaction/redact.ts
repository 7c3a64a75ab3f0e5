import { Plan } from '@kubechart/plugin-assistant-common';
import {
  LAST_APPLIED,
  TextRedactionOptions,
  hiddenSize,
  hideListedValues,
  hideSecretLineBlocks,
  hideUrlCredentials as hideUrlCredentialsIn,
  isSecretKey as isSecretKeyOf,
  keepKubeReferences,
  keepStructuralKeys,
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
 * A JSON Web Token written bare (a ServiceAccount token, an OIDC ID token): its header and payload,
 * base64url JSON (`eyJ…`), and its signature when the text has it (a token cut short is hidden too).
 * What `/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g` matches, found without it: that
 * regular expression retried its run from every `eyJ` of `eyJ-eyJ-…`, seconds for 100 KB. Here each
 * run of base64url characters and dots is read once, split at its dots into parts: a token starts
 * in a part at its first `eyJ` that starts a word (the part's start, or after a `-`) and has a
 * character after it, and is hidden when a non-empty part follows, with one more part after that
 * (the signature, possibly empty) when there is one.
 */
const BASE64URL_RUN = /[A-Za-z0-9_.-]+/g;
const DASH = '-'.charCodeAt(0);

/** The characters the bare JWT scan has read, for the tests of its cost. */
let jwtScanSteps = 0;
/** @internal */
export const bareJwtScanSteps = () => jwtScanSteps;

function hideBareJwts(text: string): string {
  if (!text.includes('eyJ')) return text;
  return text.replace(BASE64URL_RUN, run =>
    run.includes('eyJ') ? hideJwtsOfRun(run) : run,
  );
}

/** `run` (base64url characters and dots) with its tokens as `***`. */
function hideJwtsOfRun(run: string): string {
  jwtScanSteps += run.length;
  const parts = run.split('.');
  const shown: string[] = [];
  let i = 0;
  while (i < parts.length) {
    const start =
      i + 1 < parts.length && parts[i + 1] ? tokenStart(parts[i]) : -1;
    if (start < 0) {
      shown.push(parts[i]);
      i++;
    } else {
      shown.push(`${parts[i].slice(0, start)}${REDACTED}`);
      // The header's rest and the payload, and the signature when a dot follows the payload.
      i += i + 2 < parts.length ? 3 : 2;
    }
  }
  return shown.join('.');
}

/** Where in `part` (base64url characters) a token starts, or -1. */
function tokenStart(part: string): number {
  let from = 0;
  // An `eyJ` with nothing after it in its part cannot start a token, nor can a later one.
  for (let at = part.indexOf('eyJ'); at >= 0 && at + 3 < part.length; ) {
    jwtScanSteps += at + 3 - from;
    if (at === 0 || part.charCodeAt(at - 1) === DASH) return at;
    from = at + 3;
    at = part.indexOf('eyJ', at + 1);
  }
  jwtScanSteps += part.length - from;
  return -1;
}

/**
 * Free text with the secrets written in it hidden as `***`: URL credentials and secret parameters,
 * secret-looking `key=value` pairs, flags, bearer tokens, private keys (see `redactText` of
 * `@kubechart/plugin-audit-log-common`), and bare JSON Web Tokens (`eyJ….eyJ….sig`).
 */
export function scrubText(text: string): string {
  return hideBareJwts(redactText(text, TEXT_RULES));
}

/**
 * Characters of a text that {@link scrubbedStart} scrubs: far more than it shows, so a secret that
 * starts in what is shown ends within them and is hidden as in the whole text.
 */
const SCRUBBED_WINDOW = 16 * 1024;

/** What {@link scrubbedStart} reads of a text: its first characters, and its length. */
export type TextStart = { start: string; length: number };

/**
 * What {@link scrubbedStart} reads of a text to show its first `max` characters: kept instead of
 * the text, it shows the same, whatever the text's length (a table keeps its cells so).
 */
export function textStart(text: string, max: number): TextStart {
  const window = Math.max(max, SCRUBBED_WINDOW);
  return {
    // A copy of the start of a longer text: a slice of it would keep the whole text in memory.
    start: text.length > window ? structuredClone(text.slice(0, window)) : text,
    length: text.length,
  };
}

/**
 * The first `max` characters of a text (or of the text a {@link textStart} was taken of), scrubbed
 * as {@link scrubText} does, and how many more there were (`… (N more characters)`). Only its
 * start is scrubbed: a text of megabytes (an event's message quoting an image name, a table cell)
 * is not scrubbed whole to show a line of it.
 */
export function scrubbedStart(text: string | TextStart, max: number): string {
  const { start, length } =
    typeof text === 'string' ? textStart(text, max) : text;
  const shown = scrubText(start);
  return shown.length > max || length > SCRUBBED_WINDOW
    ? `${shown.slice(0, max)}… (${length - max} more characters)`
    : shown;
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
 * a Secret where Kubernetes reads them as references are shown (`keepKubeReferences` of
 * `@kubechart/plugin-audit-log-common`, whose text rules keep them in the audit trail too), and so
 * are the keys by which it names a label, a taint or a key of a ConfigMap or Secret (a
 * toleration's, a selector requirement's: `keepStructuralKeys`, kept by the same text rules). A
 * patch is shown as it is sent, `JSON.stringify` of its parsed body, whenever its text differs
 * from that (a key given twice, of which JSON keeps the last; spacing). The plan that runs is not
 * changed.
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
      // The keys a patch names a label, a taint or a data key by are shown, as the trail keeps
      // them (`keepStructuralKeys`): the shared rule, with what the assistant's text rules hide.
      const redacted = JSON.stringify(
        keepStructuralKeys(
          hidden,
          keepKubeReferences(plan.resource, hidden, redactValues(hidden)),
          { shows: value => scrubText(value) === value },
        ),
      );
      // Kept as planned only when that is exactly what is sent and nothing was hidden.
      if (redacted !== copy.patch) copy.patch = redacted;
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

/** What separates the words of a text {@link hiddenPlanValues} compares with its redacted copy. */
const WORD_SEPARATORS = /[\s=:,;"'&?]+/;

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
          // scrubText hid part of the text: the words it replaced are the secret. A word is shown
          // only as a whole word of the text shown (`ab` hidden stays hidden beside `cab` shown),
          // and the words shown are read once (not searched again for each word).
          const shownWords = new Set(b.split(WORD_SEPARATORS));
          for (const part of a.split(WORD_SEPARATORS))
            if (part.length > 0 && !shownWords.has(part)) found.add(part);
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
  const body = parsed(plan.patch);
  walk(body, parsed(shown.patch));
  for (const lost of unparsedStrings(plan.patch, body)) found.add(lost);
  walk(plan.command, shown.command);
  return [...found];
}

/** A string of JSON text, from its opening quote to its closing one. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * The strings written in the JSON text `patch` that its parsed `body` does not hold, as key or as
 * value: those of a key given twice, of which JSON keeps only the last. They are neither sent nor
 * shown, and text written about the plan may name them.
 */
function unparsedStrings(patch: string | undefined, body: unknown): string[] {
  if (!patch || !body || typeof body !== 'object') return [];
  if (JSON.stringify(body) === patch) return [];
  const held = new Set<string>();
  const walk = (value: unknown) => {
    if (typeof value === 'string') held.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        held.add(k);
        walk(v);
      }
    }
  };
  walk(body);
  const lost = new Set<string>();
  // In valid JSON no quote stands outside a string: each match is one whole string.
  for (const [literal] of patch.matchAll(JSON_STRING)) {
    let text: unknown;
    try {
      text = JSON.parse(literal);
    } catch {
      continue;
    }
    if (typeof text === 'string' && text.length > 0 && !held.has(text))
      lost.add(text);
  }
  return [...lost];
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
