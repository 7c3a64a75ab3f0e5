import { InputError } from '@backstage/errors';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  InputLimits,
  measureValue,
} from './limits';

/**
 * Whether JSON text nests deeper than `maxDepth`, found in one pass over the text before
 * `JSON.parse` (which takes seconds on a few megabytes of `[[[[…`). Brackets inside strings do
 * not count.
 */
function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses JSON from an untrusted source within the size, depth and node bounds of
 * {@link DEFAULT_INPUT_LIMITS}; a refusal or a syntax error is an `InputError` (400).
 * @public
 */
export function parseJsonLimited(
  text: string,
  options: { what?: string; limits?: Partial<InputLimits> } = {},
): unknown {
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
  if (nestsDeeperThan(text, limits.maxDepth)) {
    throw new InputLimitError(
      'maxDepth',
      limits.maxDepth,
      what,
      `nesting deeper than ${limits.maxDepth}`,
    );
  }
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
  measureValue(value, limits, what);
  return value;
}
