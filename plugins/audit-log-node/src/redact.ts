import { JsonObject, JsonValue } from '@backstage/types';

/**
 * Keys whose values are replaced by {@link REDACTED}, matched case-insensitively
 * anywhere in the key (`apiKey`, `DB_PASSWORD`, `x-auth-token`, …).
 *
 * A plain alternation of literals: V8 matches it in time linear in the key's
 * length. Keys longer than {@link META_LIMITS}.maxKeyLength are cut before
 * they are matched or stored.
 * @public
 */
export const SECRET_KEY_PATTERN =
  /password|passwd|token|secret|key|credential|authorization|cookie/i;

/**
 * Placeholder stored instead of a secret value.
 * @public
 */
export const REDACTED = '[REDACTED]';

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
} as const;

/** Marker key on an object or array whose remaining members were cut. */
export const TRUNCATED_MARKER = '…truncated';

type Walk = { nodes: number; chars: number; truncated: boolean };

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
      return cutString(value, allowed);
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
    // matched on the whole key: the pattern is linear in its length
    if (SECRET_KEY_PATTERN.test(rawKey)) {
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
 * replaced by {@link REDACTED}. The copy is bounded by {@link META_LIMITS}:
 * the work done is linear in the number of keys of each visited object and
 * capped by `maxNodes`, and the copy holds at most `maxTotalStringLength`
 * characters of string values, whatever the caller passes.
 * @public
 */
export function redactSecrets(meta: JsonObject): JsonObject {
  const walk: Walk = { nodes: 0, chars: 0, truncated: false };
  return redactObject(meta, 0, walk);
}
