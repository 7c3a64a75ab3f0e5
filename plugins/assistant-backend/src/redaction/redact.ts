import { Plan } from '@kubechart/plugin-assistant-common';

/**
 * Redaction of what the assistant shows and records. The rules mirror those of the KubeChart family
 * (`isSecretKey`/`redactObject` of `@kubechart/plugin-kubechart-node`); the two families install
 * separately, so the assistant keeps its own copy rather than depending on KubeChart's packages.
 */

/** What replaces a hidden value. */
export const REDACTED = '***';

const SECRET_KEY = /password|passwd|token|secret|key|credential/i;

/** Whether a key or env name holds a secret (password, passwd, token, secret, key, credential). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** kubectl's copy of the whole object as last applied: values in clear, whatever the kind. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** `<123 bytes, hidden on a Secret>`: the size of a value that is not shown. */
export function hiddenSize(value: unknown, why?: string): string {
  return `<${Buffer.byteLength(String(value))} bytes, hidden${
    why ? ` ${why}` : ''
  }>`;
}

/** Characters that end the authority (`user:pass@host`) of a URL. */
const AUTHORITY_END = /[\/?#\s"'<>`\\]/;

/**
 * `scheme://user:pass@host` → `scheme://user:***@host`, for every URL of the text. One pass: each
 * character is looked at a bounded number of times, so any text costs linear time.
 */
export function hideUrlCredentials(text: string): string {
  let out = '';
  let copied = 0;
  let from = 0;
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', from)) {
    const start = i + 3;
    let end = start;
    let at = -1;
    let colon = -1;
    while (end < text.length && !AUTHORITY_END.test(text[end])) {
      if (text[end] === '@') at = end;
      else if (text[end] === ':' && colon === -1) colon = end;
      end++;
    }
    from = end;
    // `user:pass@host`: a colon before the last `@`, and something between them.
    if (at === -1 || colon === -1 || colon + 1 >= at) continue;
    out += text.slice(copied, colon + 1) + REDACTED;
    copied = at;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Where free text may name a secret key: any word holding one `isSecretKey` looks for. */
const PAIR_KEYWORD = new RegExp(SECRET_KEY.source, 'gi');
/**
 * Ordinary words holding `key` that name no secret, left out of a key of free text before it is
 * judged: `keyboard: us` is shown, `keyboard.password`, `api-key` and `keypass` are not.
 */
const ORDINARY_WORDS =
  /keyboard|keyword|keyframe|keystroke|monkey|donkey|turkey|hockey|jockey|whiskey/gi;
const KEY_CHAR = /[\w.-]/;
/** A key's closing quote, then `:` or `=` on the same line, then a value's opening quote. */
const PAIR_SEPARATOR = /["']?[ \t]*([:=])[ \t]*(["']?)/y;
const PAIR_VALUE = /[^\s"',}]+/y;
/** A YAML block scalar's header up to its line end: `|`, `>-`, `!!binary |`, `| # comment`. */
const BLOCK_HEADER =
  /(?:[!&]\S*[ \t]+){0,2}[|>][-+1-9]{0,2}[ \t]*(?:#[^\r\n]*)?(?=\r?\n|$)/y;

/** Whether `key`, a whole key of free text (`stripe.api-key`), is secret by {@link isSecretKey}. */
function isSecretPairKey(key: string): boolean {
  return isSecretKey(key.replace(ORDINARY_WORDS, ''));
}

/** Where the value quoted by `quote` from `from` ends: at its closing quote, else at its line's end. */
function quotedValueEnd(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length && text[i] !== '\n') {
    if (text[i] === quote) {
      // YAML doubles a quote inside a single-quoted value (`'it''s'`).
      if (quote === "'" && i > from && text[i + 1] === "'") i += 2;
      else return i;
    } else i += quote === '"' && text[i] === '\\' ? 2 : 1;
  }
  i = Math.min(i, text.length);
  return text[i - 1] === '\r' ? i - 1 : i;
}

/**
 * The lines that hold the value of `key:` or `key: |` (whose line ends at `from`), as the
 * [start, end) of their text: the non-blank lines below indented deeper than the key's line
 * (its blanks and `- ` entries), and with `entries`, `- ` entries level with it (YAML lets a
 * sequence sit at its key's indentation).
 */
function valueLines(
  text: string,
  keyStart: number,
  from: number,
  entries: boolean,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let keyIndent = text.lastIndexOf('\n', keyStart) + 1;
  const keyLine = keyIndent;
  while (
    text[keyIndent] === ' ' ||
    text[keyIndent] === '\t' ||
    (text[keyIndent] === '-' && /[ \t]/.test(text[keyIndent + 1] ?? ''))
  )
    keyIndent++;
  keyIndent -= keyLine;
  for (let end = from; end < text.length; ) {
    const lineStart = text.indexOf('\n', end) + 1;
    if (lineStart === 0) break;
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    let content = lineStart;
    while (text[content] === ' ' || text[content] === '\t') content++;
    if (content < lineEnd) {
      const indent = content - lineStart;
      const entry =
        entries &&
        indent === keyIndent &&
        text[content] === '-' &&
        (content + 1 === lineEnd || /[ \t]/.test(text[content + 1]));
      if (indent <= keyIndent && !entry) break;
      out.push([content, lineEnd]);
    }
    end = lineEnd;
  }
  return out;
}

/**
 * Replaces the value of `password=…`, `token: "…"` style pairs (a config file kept in a ConfigMap
 * key, a `--db-password=…` argument) whose whole key {@link isSecretKey} calls secret: a quoted value
 * whole, and the lines below a `key:` that ends its line or a `key: |` block header (a nested value,
 * a block scalar), each line as `***`. One left-to-right pass: each character is looked at a
 * bounded number of times, so any text costs linear time.
 */
export function hideSecretPairs(text: string): string {
  let out = '';
  let copied = 0;
  const hide = (from: number, to: number) => {
    if (to <= from || text.slice(from, to) === REDACTED) return;
    out += text.slice(copied, from) + REDACTED;
    copied = to;
  };
  // Where the last key or value looked at ended: the next key starts no earlier.
  let scanned = 0;
  PAIR_KEYWORD.lastIndex = 0;
  for (
    let m = PAIR_KEYWORD.exec(text);
    m !== null;
    m = PAIR_KEYWORD.exec(text)
  ) {
    let start = m.index;
    while (start > scanned && KEY_CHAR.test(text[start - 1])) start--;
    let end = m.index + m[0].length;
    while (end < text.length && KEY_CHAR.test(text[end])) end++;
    PAIR_SEPARATOR.lastIndex = end;
    const sep = isSecretPairKey(text.slice(start, end))
      ? PAIR_SEPARATOR.exec(text)
      : null;
    if (sep) {
      const from = end + sep[0].length;
      const lineEnds =
        from === text.length || text[from] === '\n' || text[from] === '\r';
      BLOCK_HEADER.lastIndex = from;
      if (sep[2]) {
        end = quotedValueEnd(text, from, sep[2]);
        hide(from, end);
      } else if (sep[1] === ':' && (lineEnds || BLOCK_HEADER.test(text))) {
        end = lineEnds ? from : BLOCK_HEADER.lastIndex;
        for (const [lineStart, lineEnd] of valueLines(
          text,
          start,
          end,
          lineEnds,
        )) {
          hide(lineStart, lineEnd);
          end = lineEnd;
        }
      } else {
        PAIR_VALUE.lastIndex = from;
        const value = PAIR_VALUE.exec(text);
        if (value) {
          end = value.index + value[0].length;
          hide(value.index, end);
        }
      }
    }
    scanned = end;
    PAIR_KEYWORD.lastIndex = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Free text with URL credentials and secret-looking `key=value` pairs hidden. */
export function scrubText(text: string): string {
  return hideSecretPairs(hideUrlCredentials(text));
}

/** A deep copy of a JSON-like value with every string value (not key) passed through `scrub`. */
function scrubValues<T>(value: T, scrub: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [
          k,
          walk(c),
        ]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/** Hides `env[].value` of every container of a pod spec whose env name looks secret. */
function redactPodSpec(spec: any) {
  if (!spec || typeof spec !== 'object') return;
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const c of Array.isArray(spec[list]) ? spec[list] : []) {
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
  }
}

type KubeObjectLike = { [key: string]: any };

/**
 * A copy of a Kubernetes object that is safe to show: `managedFields` dropped;
 * - a Secret's `data` as sizes, its `stringData` dropped, its annotations as sizes;
 * - on every kind, the last-applied annotation as its size, and annotations whose key looks secret
 *   as `***`;
 * - ConfigMap `data`/`binaryData` entries whose key looks secret as `***`;
 * - container `env[].value` whose `env[].name` looks secret as `***` (pods, pod templates,
 *   job templates of CronJobs);
 * - in every remaining string, URL credentials and secret-looking `key=value` pairs as `***`.
 *
 * `kind` is the object's kind when the object does not say (items of a list carry none).
 */
export function redactObject<T extends KubeObjectLike>(
  obj: T,
  kind?: string,
): T {
  const copy = JSON.parse(JSON.stringify(obj));
  const k = typeof copy.kind === 'string' ? copy.kind : kind;
  if (copy.metadata) delete copy.metadata.managedFields;
  const annotations: Record<string, unknown> | undefined =
    copy.metadata?.annotations && typeof copy.metadata.annotations === 'object'
      ? copy.metadata.annotations
      : undefined;
  // Data with a type is a Secret's, whatever the object says it is.
  if (k === 'Secret' || (copy.data && copy.type)) {
    // Secret values never leave the backend; show the keys and sizes.
    for (const key of Object.keys(copy.data ?? {})) {
      copy.data[key] = `<${
        Buffer.from(String(copy.data[key]), 'base64').length
      } bytes>`;
    }
    delete copy.stringData;
    // Any annotation of a Secret may hold a value: names and sizes only.
    for (const key of Object.keys(annotations ?? {})) {
      annotations![key] = hiddenSize(annotations![key], 'on a Secret');
    }
    return copy;
  }
  for (const key of Object.keys(annotations ?? {})) {
    if (key === LAST_APPLIED) {
      annotations![key] = hiddenSize(annotations![key]);
    } else if (isSecretKey(key) && annotations![key]) {
      annotations![key] = REDACTED;
    }
  }
  if (k === 'ConfigMap' || !k) {
    for (const field of ['data', 'binaryData']) {
      const entries = copy[field];
      if (!entries || typeof entries !== 'object') continue;
      for (const key of Object.keys(entries)) {
        if (isSecretKey(key) && entries[key]) entries[key] = REDACTED;
      }
    }
  }
  redactPodSpec(copy.spec);
  redactPodSpec(copy.spec?.template?.spec);
  redactPodSpec(copy.spec?.jobTemplate?.spec?.template?.spec);
  return scrubValues(copy, scrubText);
}

/**
 * A copy of a JSON-like value with every scalar under a secret-looking key, and the `value` of
 * every `{ name, value }` whose name looks secret (an env entry), as `***`; other strings scrubbed
 * of URL credentials and secret-looking pairs.
 */
export function redactValues<T>(value: T): T {
  const walk = (v: unknown, secret: boolean): unknown => {
    if (Array.isArray(v)) return v.map(i => walk(i, secret));
    if (v && typeof v === 'object') {
      const record = v as Record<string, unknown>;
      const namedSecret =
        typeof record.name === 'string' && isSecretKey(record.name);
      return Object.fromEntries(
        Object.entries(record).map(([k, c]) => [
          k,
          walk(c, secret || isSecretKey(k) || (namedSecret && k === 'value')),
        ]),
      );
    }
    if (secret && v !== null && v !== '' && typeof v !== 'boolean') {
      return REDACTED;
    }
    return typeof v === 'string' ? scrubText(v) : v;
  };
  return walk(value, false) as T;
}

/**
 * The plan as the audit trail records it: values of secret-looking label and annotation keys, and
 * of a patch's secret-looking keys and env entries, as `***`. The plan that runs is not changed.
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
      const redacted = JSON.stringify(redactValues(hidden));
      if (redacted !== JSON.stringify(body)) copy.patch = redacted;
    } else {
      copy.patch = scrubText(copy.patch);
    }
  }
  // An exec's arguments (`env DB_PASSWORD=…`): secret-looking pairs and URL credentials.
  if (copy.command) copy.command = copy.command.map(scrubText);
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

/** `text` with each of `values` replaced by `***` (longest first), then {@link scrubText}. */
export function withoutValues(text: string, values: string[]): string {
  let out = text;
  for (const v of [...values].sort((x, y) => y.length - x.length))
    out = out.split(v).join(REDACTED);
  return scrubText(out);
}
