/** The bytes the scan looks for; every other byte of a JSON text is inside a string or a literal. */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** The body is not laid out as the scan expects: it is parsed whole instead. */
class NotScanned extends Error {}

const isSpace = (b: number) =>
  b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(body: Buffer, at: number): number {
  let i = at;
  while (i < body.length && isSpace(body[i])) i++;
  return i;
}

/** Just past the string whose opening quote is at `at`. */
function endOfString(body: Buffer, at: number): number {
  for (let i = at + 1; i < body.length; i++) {
    const b = body[i];
    if (b === QUOTE) return i + 1;
    if (b === BACKSLASH) i++;
  }
  throw new NotScanned();
}

/**
 * Just past the value that begins at `at`. An object or array ends where its brackets balance
 * (brackets inside strings not counted); whether it is well-formed inside is for `JSON.parse` of it
 * to tell.
 */
function endOfValue(body: Buffer, at: number): number {
  const first = body[at];
  if (first === QUOTE) return endOfString(body, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let i = at;
    while (i < body.length) {
      const b = body[i];
      if (b === QUOTE) {
        i = endOfString(body, i);
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && --depth === 0)
        return i + 1;
      i++;
    }
    throw new NotScanned();
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < body.length) {
    const b = body[i];
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b))
      break;
    i++;
  }
  if (i === at) throw new NotScanned();
  return i;
}

/** The value at `at` (to `end`), parsed alone. */
const parseAt = (body: Buffer, at: number, end: number) =>
  JSON.parse(body.toString('utf8', at, end));

type Parsed<T> = { metadata?: any; items: T[] };

/**
 * Scans the body into `out`, yielding the bytes of each item as it has been parsed and mapped (the
 * reader decides when to let the event loop run).
 */
function* scan<T>(
  body: Buffer,
  map: (item: T) => T,
  out: Parsed<T>,
): Generator<number, void> {
  let at = skipSpace(body, 0);
  if (body[at] !== OPEN_BRACE) throw new NotScanned();
  at = skipSpace(body, at + 1);
  if (body[at] === CLOSE_BRACE) {
    if (skipSpace(body, at + 1) !== body.length) throw new NotScanned();
    return;
  }
  for (;;) {
    if (body[at] !== QUOTE) throw new NotScanned();
    const keyEnd = endOfString(body, at);
    // A key written with escapes ("\u0069tems") is left to JSON.parse.
    for (let i = at + 1; i < keyEnd; i++)
      if (body[i] === BACKSLASH) throw new NotScanned();
    const key = body.toString('latin1', at + 1, keyEnd - 1);
    at = skipSpace(body, keyEnd);
    if (body[at] !== COLON) throw new NotScanned();
    at = skipSpace(body, at + 1);
    if (key === 'items' && body[at] === OPEN_BRACKET) {
      // As JSON.parse, the last "items" is the one that counts.
      out.items = [];
      at = skipSpace(body, at + 1);
      if (body[at] === CLOSE_BRACKET) at++;
      else {
        for (;;) {
          const end = endOfValue(body, at);
          out.items.push(map(parseAt(body, at, end)));
          yield end - at;
          at = skipSpace(body, end);
          if (body[at] === CLOSE_BRACKET) break;
          if (body[at] !== COMMA) throw new NotScanned();
          at = skipSpace(body, at + 1);
        }
        at++;
      }
    } else {
      const end = endOfValue(body, at);
      // Every value is parsed, so a malformed one fails as it does in the body parsed whole.
      const value = parseAt(body, at, end);
      if (key === 'metadata') out.metadata = value;
      else if (key === 'items') {
        // `items` of null is no items, as a list parsed whole makes it (`?? []`); anything else
        // (not a list) is left to that path, which fails on it as before.
        if (value !== null) throw new NotScanned();
        out.items = [];
      }
      at = end;
    }
    at = skipSpace(body, at);
    if (body[at] === COMMA) {
      at = skipSpace(body, at + 1);
      continue;
    }
    if (body[at] !== CLOSE_BRACE || skipSpace(body, at + 1) !== body.length)
      throw new NotScanned();
    return;
  }
}

/** A body parsed whole, for one the scan does not follow: fails on malformed JSON as it always did. */
function parseWhole<T>(body: Buffer, map: (item: T) => T): Parsed<T> {
  const answer = JSON.parse(body.toString('utf8'));
  const items: T[] = answer?.items ?? [];
  return { metadata: answer?.metadata, items: items.map(map) };
}

/**
 * The `metadata` and `items` of a list answer (a JSON object), each item passed through `map` as soon
 * as it is parsed: the items are found by a scan of the body's bytes and each is parsed alone, so a
 * page of whole objects (several MB for 100 pods) is never alive at once, only one whole object and
 * the mapped ones before it. Whatever the collector finds alive in the middle of a page is what it
 * copies, and what survives twice is promoted to the old generation, to be collected there later by a
 * full GC; and no string of the whole body is made. A body the scan does not follow (a key written
 * with escapes, `items` neither a list nor null, anything malformed) is parsed whole with `JSON.parse`,
 * which fails on malformed JSON as it did before; the answer is the same either way.
 */
export function parseList<T>(
  body: Buffer,
  map: (item: T) => T = item => item,
): { metadata?: any; items: T[] } {
  try {
    const out: Parsed<T> = { items: [] };
    const steps = scan(body, map, out);
    while (!steps.next().done) {
      // Every item at once: the reader asked for the page in one turn.
    }
    return out;
  } catch {
    // A malformed body, or one the scan does not follow: parsed whole, which tells what is wrong.
  }
  return parseWhole(body, map);
}

/** Items of a page parsed (and mapped) in one turn of the event loop, at most, unless one is longer. */
export const TURN_BYTES = 256 * 1024;

/**
 * {@link parseList}, letting the event loop run whenever the items parsed since it last ran reach
 * `turnBytes`: a page of large objects (a tenant may write objects of 1.5 MB) is not parsed and
 * trimmed in one long stretch, and a page of small ones costs a few turns, not one per item. A body
 * the scan does not follow is parsed whole in one turn, as `parseList` does (its length is bounded
 * by whoever read it: `MAX_PAGE_BYTES` of `makeListPages`).
 */
export async function parseListInTurns<T>(
  body: Buffer,
  map: (item: T) => T = item => item,
  turnBytes = TURN_BYTES,
): Promise<Parsed<T>> {
  try {
    const out: Parsed<T> = { items: [] };
    let sinceTurn = 0;
    for (const bytes of scan(body, map, out)) {
      sinceTurn += bytes;
      if (sinceTurn >= turnBytes) {
        sinceTurn = 0;
        await new Promise<void>(resolve => setImmediate(resolve));
      }
    }
    return out;
  } catch {
    // As parseList: parsed whole, which tells what is wrong.
  }
  return parseWhole(body, map);
}
