import { JsonObject, JsonValue } from '@backstage/types';
import {
  REDACTED,
  SECRET_KEY_PATTERN,
  isSecretEnvEntry,
  isSecretPathAnnotation,
  redactText,
} from '@kubechart/plugin-audit-log-common';

export { REDACTED, SECRET_KEY_PATTERN };

/*
 * {@link SECRET_KEY_PATTERN}, from `@kubechart/plugin-audit-log-common` (the rule of the keys of
 * every family's structured values): keys whose values are replaced by {@link REDACTED}, matched
 * case-insensitively anywhere in the key (`apiKey`, `DB_PASSWORD`, `x-auth-token`, …).
 *
 * A plain alternation of literals, matched on the whole key (before it is cut
 * to {@link META_LIMITS}.maxKeyLength for storage). Its cost is linear in the
 * key's length but not small: V8 first runs a regexp in its bytecode
 * interpreter (and again after the garbage collector flushed its code), about
 * 20 ns a character, so {@link META_LIMITS}.maxScannedKeyChars bounds how much
 * key text one event may have matched; the value of a key beyond it is
 * redacted unmatched.
 */

/**
 * Bounds of the metadata an audit event keeps. Everything an audited request
 * sends can end up in `meta`, so the walk over it is bounded in depth, in the
 * number of values visited and in the length of each string; whatever is
 * beyond a bound is replaced by a marker that names it.
 * @public
 */
export const META_LIMITS = {
  /** Nesting depth below which values become `[TRUNCATED: depth > 20]`. */
  maxDepth: 20,
  /** Values (objects, arrays, scalars) visited per event; the rest is cut. */
  maxNodes: 5000,
  /** Characters kept of each string value. */
  maxStringLength: 8192,
  /** Characters kept of each key. */
  maxKeyLength: 256,
  /**
   * Characters of string values and keys run through the free-text rules per event, all
   * together (and kept of string values, placeholders included). A key beyond it is replaced by
   * `[member N: name not shown]` (N its place in its object), unread; a string value is cut.
   */
  maxTotalStringLength: 65536,
  /**
   * Characters of keys matched against {@link SECRET_KEY_PATTERN} per event,
   * all keys together. A key longer than what is left is not matched and its
   * value is redacted (fail closed), so no event makes the walk scan more
   * than this much key text, however long its keys.
   */
  maxScannedKeyChars: 512 * 1024,
} as const;

/** Marker key on an object or array whose remaining members were cut. */
export const TRUNCATED_MARKER = '…truncated';

type Walk = {
  nodes: number;
  chars: number;
  keyChars: number;
  truncated: boolean;
};

/**
 * Copies {@link redactedCopy} made, with what their walk counted: read-only at every depth, so
 * each is, as long as it lives, what the rules made of its metadata.
 */
const REDACTED_COPIES = new WeakMap<object, Readonly<Walk>>();

/** What a key beyond the string budget becomes (`index`: its place in its object). */
function keyNotShown(index: number): string {
  return `[member ${index}: name not shown]`;
}

/** A key {@link keyNotShown} made (told apart by ` (2)`, …): nothing of what it stood for. */
const KEY_NOT_SHOWN = /^\[member \d{1,15}: name not shown\](?: \(\d{1,15}\))?$/;

/** How a string cut short ends: `…[N more characters]`. */
const MORE_CHARACTERS = ' more characters]';

function moreCharacters(count: number): string {
  return `…[${count} more characters]`;
}

/** Where to cut `text` to keep at most `max` characters, never splitting a surrogate pair. */
function cutAt(text: string, max: number): number {
  if (max <= 0) return 0;
  if (max >= text.length) return text.length;
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/** `value` split before the `…[N more characters]` it ends with, if it ends with one. */
function splitMarker(
  value: string,
): { body: string; count: number } | undefined {
  if (!value.endsWith(MORE_CHARACTERS)) return undefined;
  const tail = value.slice(Math.max(0, value.length - 40));
  const open = tail.lastIndexOf('…[');
  if (open === -1) return undefined;
  const digits = tail.slice(open + 2, tail.length - MORE_CHARACTERS.length);
  if (!/^[1-9]\d{0,14}$/.test(digits)) return undefined;
  return {
    body: value.slice(0, value.length - tail.length + open),
    count: Number(digits),
  };
}

/**
 * A string (a value or a key) bounded to `allowed` characters and redacted by the free-text
 * rules: the first `allowed` characters, redacted as cut (what runs to the cut and may be a
 * secret cut in two is hidden too), then `…[N more characters]`. Placeholders make a text longer:
 * what is kept is cut further until it fits, so that the result (its marker left out) never holds
 * more than `allowed` characters; when the rules cannot be run again within `budget` characters
 * in all, nothing of it is kept. A string that already ends with a marker and whose text before
 * it fits is such a result: it is redacted as cut and keeps its marker, so that bounding what was
 * bounded changes nothing (the store bounds again what the auditor did). `scanned` is what is
 * charged to the event's budget: the characters given to the rules, or kept if more, never more
 * than `budget` (at least `allowed`).
 */
function boundString(
  value: string,
  allowed: number,
  budget: number = allowed,
): { text: string; scanned: number; hidden: boolean } {
  let body = value;
  let more = 0;
  const marked = splitMarker(value);
  if (marked && marked.body.length <= allowed) {
    body = marked.body;
    more = marked.count;
  } else if (value.length > allowed) {
    body = value.slice(0, cutAt(value, allowed));
    more = value.length - body.length;
  }
  let given = body.length;
  let hidden = false;
  let kept = redactText(body, { cut: more > 0 });
  // Each placeholder stands for at least one character, so a tenth of `allowed` always fits.
  for (let tries = 0; kept.length > allowed; tries++) {
    const keep =
      tries < 2
        ? body.length - (kept.length - allowed)
        : Math.floor(allowed / REDACTED.length);
    const end = cutAt(body, Math.min(keep, body.length - 1));
    if (given + end > budget) {
      // no room to read it again: none of it is kept (fail closed)
      more += body.length;
      kept = '';
      hidden = true;
      break;
    }
    more += body.length - end;
    body = body.slice(0, end);
    given += body.length;
    kept = redactText(body, { cut: true });
  }
  return {
    text: more > 0 ? `${kept}${moreCharacters(more)}` : kept,
    scanned: Math.max(given, kept.length),
    hidden,
  };
}

/**
 * A key as the copy keeps it (its place in its object is `index`): bounded to
 * {@link META_LIMITS}.maxKeyLength and redacted by the free-text rules (a key is free text too:
 * `{ 'https://app:pw@host': 'ok' }`), its characters charged to the event's string budget; one
 * that does not fit in what is left of it is {@link keyNotShown}, not read by the rules (fail
 * closed: it may hold a secret). A key that is such a placeholder is kept as it is, for nothing:
 * it holds nothing of what it stood for.
 */
function boundKey(rawKey: string, index: number, walk: Walk): string {
  if (rawKey.length <= 64 && KEY_NOT_SHOWN.test(rawKey)) {
    return rawKey;
  }
  const room = META_LIMITS.maxTotalStringLength - walk.chars;
  // what the rules would read of it (of a key cut before, the text before its marker)
  const read = Math.min(
    splitMarker(rawKey)?.body.length ?? rawKey.length,
    META_LIMITS.maxKeyLength,
  );
  if (read <= room) {
    const { text, scanned, hidden } = boundString(
      rawKey,
      Math.min(META_LIMITS.maxKeyLength, room),
      room,
    );
    walk.chars += scanned;
    if (!hidden) {
      return text;
    }
  }
  walk.truncated = true;
  return keyNotShown(index);
}

function redactValue(
  value: unknown,
  depth: number,
  walk: Walk,
): JsonValue | undefined {
  walk.nodes += 1;
  if (value === null) {
    return null;
  }
  if (depth > META_LIMITS.maxDepth) {
    walk.truncated = true;
    return `[TRUNCATED: depth > ${META_LIMITS.maxDepth}]`;
  }
  switch (typeof value) {
    case 'string': {
      if (value === REDACTED) {
        // what a walk put under a name it hid: holds nothing, kept as it is for nothing (a key
        // not shown no longer says its value was a secret's)
        return value;
      }
      const room = Math.max(0, META_LIMITS.maxTotalStringLength - walk.chars);
      const allowed = Math.min(META_LIMITS.maxStringLength, room);
      // What is kept goes through the free-text rules (a value may hold `password: x` or a URL's
      // password whatever its key).
      const { text, scanned } = boundString(value, allowed, room);
      walk.chars += scanned;
      return text;
    }
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      if (Array.isArray(value)) {
        return redactArray(value, depth + 1, walk);
      }
      if (value instanceof Date) {
        return Number.isNaN(value.getTime()) ? null : value.toISOString();
      }
      return redactObject(value as Record<string, unknown>, depth + 1, walk);
    default:
      // functions, symbols, bigints and undefined are not JSON
      return undefined;
  }
}

function redactArray(list: unknown[], depth: number, walk: Walk): JsonValue[] {
  const out: JsonValue[] = [];
  for (let i = 0; i < list.length; i++) {
    if (walk.nodes >= META_LIMITS.maxNodes) {
      walk.truncated = true;
      out.push(`[${TRUNCATED_MARKER}: ${list.length - i} more items]`);
      break;
    }
    out.push(redactValue(list[i], depth, walk) ?? null);
  }
  return out;
}

/**
 * Whether the value under `key` is redacted: the whole key is matched, within
 * the event's budget of scanned key text; a key that does not fit in what is
 * left of it counts as secret-looking. A `value` that is the Vault path a
 * `vault.hashicorp.com/agent-inject-secret-<name>` annotation names is a
 * reference, not redacted (`isSecretPathAnnotation`).
 */
function isSecretKey(key: string, walk: Walk, value?: unknown): boolean {
  if (walk.keyChars + key.length > META_LIMITS.maxScannedKeyChars) {
    return true;
  }
  walk.keyChars += key.length;
  return SECRET_KEY_PATTERN.test(key) && !isSecretPathAnnotation(key, value);
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Sets `key` of `out` as its own data property: `out[key] = value` would set the prototype of
 * `out` for a `__proto__` key (dropping the value from the copy) instead of keeping it as data.
 */
function setOwn(out: JsonObject, key: string, value: JsonValue) {
  Object.defineProperty(out, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function redactObject(
  obj: Record<string, unknown>,
  depth: number,
  walk: Walk,
  leaveOut?: readonly string[],
): JsonObject {
  const out: JsonObject = {};
  let cut = 0;
  // An env entry (`{ name: 'DB_PASSWORD', value: 'x' }`): its value is the variable's, hidden
  // when its name names a secret (by the key rule); a boolean is a setting.
  const secretValue = isSecretEnvEntry(obj, name => isSecretKey(name, walk));
  /** For keys that became the same once redacted or cut: the next number to try. */
  let taken: Map<string, number> | undefined;
  let index = 0;
  // for…in rather than Object.keys: no second array of every key of a huge
  // object, and the walk stops visiting values once the budget is spent.
  for (const rawKey in obj) {
    if (!hasOwn(obj, rawKey) || leaveOut?.includes(rawKey)) {
      continue;
    }
    if (walk.nodes >= META_LIMITS.maxNodes) {
      walk.truncated = true;
      cut += 1;
      continue;
    }
    let key = boundKey(rawKey, index++, walk);
    if (hasOwn(out, key)) {
      taken ??= new Map();
      let next = taken.get(key) ?? 2;
      while (hasOwn(out, `${key} (${next})`)) next++;
      taken.set(key, next + 1);
      key = `${key} (${next})`;
    }
    if (
      isSecretKey(rawKey, walk, obj[rawKey]) ||
      (secretValue &&
        rawKey === 'value' &&
        typeof obj.value !== 'boolean' &&
        obj.value !== null)
    ) {
      walk.nodes += 1;
      setOwn(out, key, REDACTED);
      continue;
    }
    const redacted = redactValue(obj[rawKey], depth, walk);
    if (redacted !== undefined) {
      setOwn(out, key, redacted);
    }
  }
  if (cut > 0) {
    out[TRUNCATED_MARKER] = `${cut} more keys`;
  }
  return out;
}

/** Whether `obj` has at least one own key, without listing them all. */
export function hasOwnKeys(obj: object): boolean {
  for (const key in obj) {
    if (hasOwn(obj, key)) {
      return true;
    }
  }
  return false;
}

/**
 * Returns a JSON-safe deep copy of `meta` in which every value under a key
 * matching {@link SECRET_KEY_PATTERN} (at any depth, inside arrays too; not the
 * Vault path a `vault.hashicorp.com/agent-inject-secret-<name>` annotation
 * names) is replaced by {@link REDACTED}, as is every value under a key beyond the
 * event's `maxScannedKeyChars` and the `value` of an env entry whose `name`
 * matches it (`{ name: 'DB_PASSWORD', value: '…' }`; booleans kept). Every
 * other string, and every key, goes through the free-text rules
 * (`redactText`). The copy is bounded by {@link META_LIMITS}: the work done is
 * linear in the number of keys of each visited object and capped by
 * `maxNodes`, the free-text rules read at most `maxTotalStringLength`
 * characters of keys and string values together, and the copy holds at most
 * that many characters of string values (placeholders included), whatever the
 * caller passes; a key beyond it becomes `[member N: name not shown]`. Keys
 * that become the same once redacted or cut are told apart by ` (2)`, ` (3)`, …
 * A copy passed again comes back unchanged: a string already cut, whose
 * marker it keeps, is not cut again.
 * @public
 */
export function redactSecrets(
  meta: JsonObject,
  options?: {
    /** Top-level keys left out of the copy (not read): a store adds its own there. */
    leaveOut?: readonly string[];
  },
): JsonObject {
  const walk: Walk = { nodes: 0, chars: 0, keyChars: 0, truncated: false };
  return redactObject(meta, 0, walk, options?.leaveOut);
}

/**
 * {@link redactSecrets} for the auditor: the copy is read-only at every depth and remembered, so
 * that the store, which redacts again the metadata of any other writer, stores it as it is
 * ({@link isRedactedCopy}) instead of running the rules on it a second time. With `base` (such a
 * copy: an event's metadata), the copy is that of `base` with the members of `meta` (its
 * outcome's) over it, and `meta` is walked within what the walk of `base` left of the limits, so
 * that an event and its outcome are bounded as one.
 */
export function redactedCopy(meta: JsonObject, base?: JsonObject): JsonObject {
  const before = base ? REDACTED_COPIES.get(base) : undefined;
  if (base && !before) {
    return redactedCopy(meta, redactedCopy(base));
  }
  const walk: Walk = {
    nodes: before?.nodes ?? 0,
    chars: before?.chars ?? 0,
    keyChars: before?.keyChars ?? 0,
    truncated: before?.truncated ?? false,
  };
  const own = redactObject(meta, 0, walk);
  let copy = own;
  if (base) {
    // own data properties (a `__proto__` key stays data); the outcome's members win
    copy = { ...base, ...own };
    if (
      isSecretEnvEntry(copy, name => SECRET_KEY_PATTERN.test(name)) &&
      typeof copy.value !== 'boolean' &&
      copy.value !== null
    ) {
      // an env entry made of the two: its value is hidden as in one object
      setOwn(copy, 'value', REDACTED);
    }
  }
  const frozen = freezeCopy(copy);
  REDACTED_COPIES.set(frozen, walk);
  return frozen;
}

/** Makes the copy `redactObject` made read-only at every depth (bounded: it is bounded). */
function freezeCopy<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) {
      freezeCopy(member);
    }
    Object.freeze(value);
  }
  return value;
}

/**
 * Whether `meta` is a copy the audit-log auditor made of an event's metadata
 * (with {@link redactSecrets}, bounded by {@link META_LIMITS}): read-only at every depth, so still
 * what the rules made of it. Any other object, a copy of such a copy too, is not.
 * @public
 */
export function isRedactedCopy(meta: unknown): boolean {
  return typeof meta === 'object' && meta !== null && REDACTED_COPIES.has(meta);
}
