import { InputError } from '@backstage/errors';

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

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** The length of a text as a database counts it in a varchar column: in code points. */
function characters(value: string): number {
  return value.length - (value.match(SURROGATE_PAIR)?.length ?? 0);
}

/** The mark a text cut to fit its column ends with. */
export const CUT_MARK = '…';

/**
 * Free text for a varchar column of `max` characters (a run event's step name, built from what the
 * run applies: `apply:<kind>/<name>` of a valid 253-character name has 266), written as
 * {@link storableText} writes text and cut to fit, its last character then {@link CUT_MARK}.
 * PostgreSQL refuses a longer value (`value too long for type character varying`), failing the
 * whole write, and SQLite would keep it whole: both store the same this way. Cut at code points,
 * so a surrogate pair is never split.
 */
export function fittedText<T extends string | null | undefined>(
  value: T,
  max: number,
): T {
  const text = storableText(value);
  if (typeof text !== 'string' || text.length <= max) return text;
  if (characters(text) <= max) return text;
  let kept = '';
  let n = 0;
  for (const c of text) {
    if (++n > max - 1) break;
    kept += c;
  }
  return `${kept}${CUT_MARK}` as T;
}

/**
 * An identifier for a varchar column of `max` characters (who ran a run, its entity, cluster,
 * namespace, release, template, action, a tenant's code and owner), written as
 * {@link storableText} writes text. One longer than its column is refused with an InputError (400)
 * before it is written: cut, it would name something else, and PostgreSQL would refuse it with a
 * 500 while SQLite kept it. `what` names it in the message ("The run's actor").
 */
export function fittingIdentifier<T extends string | null | undefined>(
  value: T,
  what: string,
  max: number,
): T {
  const text = storableText(value);
  if (typeof text !== 'string' || text.length <= max) return text;
  const length = characters(text);
  if (length <= max) return text;
  throw new InputError(
    `${what} ${JSON.stringify(
      `${text.slice(0, 100)}${CUT_MARK}`,
    )} has ${length} characters; at most ${max} are stored`,
  );
}
