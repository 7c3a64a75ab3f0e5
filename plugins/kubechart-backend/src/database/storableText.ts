// Each a single character class: linear in the length of the text.
const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// PostgreSQL text cannot hold U+0000 at all.
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;

/**
 * Text as the run store writes it to a text column, the same on every database: U+0000, which
 * PostgreSQL refuses (`invalid byte sequence for encoding "UTF8": 0x00`, failing the whole write),
 * and lone UTF-16 surrogates, which each database would store its own way, become U+FFFD, as the
 * audit log's `clean()` does. A run's failure reason, event or approval comment can name what its
 * user sent (a namespace, a label); refusing the write would leave the run `running`, its locks
 * held. JSON columns need nothing: `JSON.stringify` escapes both.
 */
export function storableText<T extends string | null | undefined>(value: T): T {
  if (typeof value !== 'string') return value;
  return value.replace(NUL, '\ufffd').replace(LONE_SURROGATE, '\ufffd') as T;
}
