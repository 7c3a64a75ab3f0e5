import { JsonObject, JsonValue } from '@backstage/types';
import { REDACTED, redactText } from './redactText';

export { REDACTED };

/**
 * Keys whose values are replaced by {@link REDACTED}, matched case-insensitively
 * anywhere in the key (`apiKey`, `DB_PASSWORD`, `x-auth-token`, …).
 *
 * A plain alternation of literals, matched on the whole key (before it is cut
 * to {@link META_LIMITS}.maxKeyLength for storage). Its cost is linear in the
 * key's length but not small: V8 first runs a regexp in its bytecode
 * interpreter (and again after the garbage collector flushed its code), about
 * 20 ns a character, so {@link META_LIMITS}.maxScannedKeyChars bounds how much
 * key text one event may have matched; the value of a key beyond it is
 * redacted unmatched.
 * @public
 */
export const SECRET_KEY_PATTERN =
  /password|passwd|token|secret|key|credential|authorization|cookie/i;

/**
 * Whether a key (of `meta`, or a URL's query parameter) names a secret: it
 * matches {@link SECRET_KEY_PATTERN}. The caller bounds how much key text it
 * matches.
 */
export function namesSecret(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

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
  /** Characters of string values kept per event, all strings together. */
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

function cutString(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  // never split a surrogate pair
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) {
    end -= 1;
  }
  return `${text.slice(0, end)}…[${text.length - end} more characters]`;
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
      const allowed = Math.min(
        META_LIMITS.maxStringLength,
        Math.max(0, META_LIMITS.maxTotalStringLength - walk.chars),
      );
      walk.chars += Math.min(value.length, allowed);
      // What is kept goes through the free-text rules (a value may hold `password: x` or a URL's
      // password whatever its key); cut short, what runs to its end and may be a secret cut in
      // two is hidden too. A placeholder may make the text a little longer than what was kept.
      let end = Math.min(value.length, allowed);
      if (end < value.length && end > 0) {
        // never split a surrogate pair
        const code = value.charCodeAt(end - 1);
        if (code >= 0xd800 && code <= 0xdbff) end -= 1;
      }
      const kept = redactText(value.slice(0, end), {
        cut: end < value.length,
      });
      return end < value.length
        ? `${kept}…[${value.length - end} more characters]`
        : kept;
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
 * left of it counts as secret-looking.
 */
function isSecretKey(key: string, walk: Walk): boolean {
  if (walk.keyChars + key.length > META_LIMITS.maxScannedKeyChars) {
    return true;
  }
  walk.keyChars += key.length;
  return namesSecret(key);
}

function redactObject(
  obj: Record<string, unknown>,
  depth: number,
  walk: Walk,
): JsonObject {
  const out: JsonObject = {};
  let cut = 0;
  // for…in rather than Object.keys: no second array of every key of a huge
  // object, and the walk stops visiting values once the budget is spent.
  for (const rawKey in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, rawKey)) {
      continue;
    }
    if (walk.nodes >= META_LIMITS.maxNodes) {
      walk.truncated = true;
      cut += 1;
      continue;
    }
    const key = cutString(rawKey, META_LIMITS.maxKeyLength);
    if (isSecretKey(rawKey, walk)) {
      walk.nodes += 1;
      out[key] = REDACTED;
      continue;
    }
    const redacted = redactValue(obj[rawKey], depth, walk);
    if (redacted !== undefined) {
      out[key] = redacted;
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
    if (Object.prototype.hasOwnProperty.call(obj, key)) {
      return true;
    }
  }
  return false;
}

/**
 * Returns a JSON-safe deep copy of `meta` in which every value under a key
 * matching {@link SECRET_KEY_PATTERN} (at any depth, inside arrays too) is
 * replaced by {@link REDACTED}, as is every value under a key beyond the
 * event's `maxScannedKeyChars`. The copy is bounded by {@link META_LIMITS}:
 * the work done is linear in the number of keys of each visited object and
 * capped by `maxNodes`, and the copy holds at most `maxTotalStringLength`
 * characters of string values, whatever the caller passes.
 * @public
 */
export function redactSecrets(meta: JsonObject): JsonObject {
  const walk: Walk = { nodes: 0, chars: 0, keyChars: 0, truncated: false };
  return redactObject(meta, 0, walk);
}
