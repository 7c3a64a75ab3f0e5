import { InputError } from '@backstage/errors';
import { DEFAULT_INPUT_LIMITS, InputLimitError, InputLimits } from './limits';

/**
 * Which bound JSON text breaks, found in one pass over the text before `JSON.parse` (which takes
 * seconds on a few megabytes of `[[[[…`, and half a second on a million `{}`): nesting deeper than
 * `maxDepth`, or more than `maxNodes` values. Brackets and commas inside strings do not count.
 *
 * The nodes are counted as {@link measureValue} counts a parsed value (every value, keys aside):
 * one for the whole, and one for each child of each array or object, that is one more than its
 * commas for every array or object with something in it. JSON has no aliases, so this is the size
 * of the parsed value, and nothing needs to walk that value again. On text that is not JSON the
 * count may be anything; `JSON.parse` then refuses what the bounds let through.
 */
function brokenBound(
  text: string,
  limits: Pick<InputLimits, 'maxDepth' | 'maxNodes'>,
): 'maxDepth' | 'maxNodes' | undefined {
  let depth = 0;
  let nodes = 1; // the whole
  if (nodes > limits.maxNodes) return 'maxNodes';
  let inString = false;
  // Just after `[` or `{`: the next character that is not white space tells whether it has a child.
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (opened) {
      opened = false;
      if (c !== 125 /* } */ && c !== 93 /* ] */ && ++nodes > limits.maxNodes)
        return 'maxNodes';
    }
    if (c === 34 /* " */) {
      inString = true;
    } else if (c === 44 /* , */) {
      if (++nodes > limits.maxNodes) return 'maxNodes';
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limits.maxDepth) return 'maxDepth';
      opened = true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return undefined;
}

/**
 * Checks JSON text against the size, depth and node bounds of {@link DEFAULT_INPUT_LIMITS} (or
 * `options.limits`) without parsing it, as {@link parseJsonLimited} does before `JSON.parse`:
 * throws an {@link InputLimitError} naming the first bound broken. A client that serialises what it
 * sends checks it here against the bounds the receiver applies (`REQUEST_BODY_LIMITS`).
 * @public
 */
export function assertJsonTextWithinLimits(
  text: string,
  options: { what?: string; limits?: Partial<InputLimits> } = {},
): void {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const what = options.what ?? 'JSON input';
  if (
    text.length > limits.maxBytes ||
    Buffer.byteLength(text, 'utf8') > limits.maxBytes
  ) {
    throw new InputLimitError(
      'maxBytes',
      limits.maxBytes,
      what,
      `larger than ${limits.maxBytes} bytes`,
    );
  }
  const broken = brokenBound(text, limits);
  if (broken) {
    throw new InputLimitError(
      broken,
      limits[broken],
      what,
      broken === 'maxDepth'
        ? `nesting deeper than ${limits.maxDepth}`
        : `more than ${limits.maxNodes} nodes`,
    );
  }
}

/**
 * Parses JSON from an untrusted source within the size, depth and node bounds of
 * {@link DEFAULT_INPUT_LIMITS}; a refusal or a syntax error is an `InputError` (400). The bounds are
 * checked on the text, in one pass before `JSON.parse` ({@link assertJsonTextWithinLimits}): a
 * refused text is never parsed, and an accepted one costs that pass and `JSON.parse`, nothing more.
 * @public
 */
export function parseJsonLimited(
  text: string,
  options: { what?: string; limits?: Partial<InputLimits> } = {},
): unknown {
  const what = options.what ?? 'JSON input';
  assertJsonTextWithinLimits(text, { what, limits: options.limits });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(
      `${what} is not valid JSON: ${String((e as Error).message).slice(
        0,
        200,
      )}`,
    );
  }
  return value;
}
