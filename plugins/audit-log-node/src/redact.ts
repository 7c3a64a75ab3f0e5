import { JsonObject, JsonValue } from '@backstage/types';

/**
 * Keys whose values are replaced by {@link REDACTED}, matched case-insensitively
 * anywhere in the key (`apiKey`, `DB_PASSWORD`, `x-auth-token`, …).
 * @public
 */
export const SECRET_KEY_PATTERN =
  /password|passwd|token|secret|key|credential|authorization|cookie/i;

/**
 * Placeholder stored instead of a secret value.
 * @public
 */
export const REDACTED = '[REDACTED]';

const MAX_DEPTH = 20;

function redactValue(value: unknown, depth: number): JsonValue | undefined {
  if (value === null) {
    return null;
  }
  if (depth > MAX_DEPTH) {
    return '[TRUNCATED]';
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      if (Array.isArray(value)) {
        return value.map(v => redactValue(v, depth + 1) ?? null);
      }
      if (value instanceof Date) {
        return value.toISOString();
      }
      return redactObject(value as Record<string, unknown>, depth + 1);
    default:
      // functions, symbols, bigints and undefined are not JSON
      return undefined;
  }
}

function redactObject(obj: Record<string, unknown>, depth: number): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    if (SECRET_KEY_PATTERN.test(key)) {
      out[key] = REDACTED;
      continue;
    }
    const redacted = redactValue(value, depth);
    if (redacted !== undefined) {
      out[key] = redacted;
    }
  }
  return out;
}

/**
 * Returns a JSON-safe deep copy of `meta` in which every value under a key
 * matching {@link SECRET_KEY_PATTERN} (at any depth, inside arrays too) is
 * replaced by {@link REDACTED}.
 * @public
 */
export function redactSecrets(meta: JsonObject): JsonObject {
  return redactObject(meta, 0);
}
