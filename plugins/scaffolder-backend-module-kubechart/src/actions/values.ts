import { InputError } from '@backstage/errors';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  REQUEST_BODY_LIMITS,
  assertJsonTextWithinLimits,
  assertWithinLimits,
  describeYamlError,
  parseYamlLimited,
} from '@kubechart/plugin-kubechart-node';
import yaml from 'js-yaml';

/**
 * The error for values text that is not YAML: the reason and where, and nothing of the text
 * ({@link describeYamlError}). The text already passed the size checks, so parsing it again to
 * get js-yaml's exception costs what the first parse did.
 */
function notYamlError(text: string, what: string): InputError {
  try {
    yaml.loadAll(text);
  } catch (e) {
    return new InputError(
      `${what} are not valid YAML: ${describeYamlError(e)}`,
    );
  }
  return new InputError(`${what} are not valid YAML`);
}

/**
 * Whether `value` serialises to more than `max` characters of JSON. Counts aliases (shared
 * references, including to one long string) at their expanded size, as `JSON.stringify` writes
 * them; stops as soon as the count passes `max`. Never more than `JSON.stringify` writes (escapes
 * are not counted; a property holding `undefined` is left out, an `undefined` item is `null`), so
 * a value it calls larger is larger. Only called on values within the node bound.
 */
function serialisesLargerThan(value: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      size += v.length + 2;
    } else if (typeof v === 'number') {
      size += Number.isFinite(v) ? String(v).length : 4;
    } else if (v === null || typeof v !== 'object') {
      size += v === undefined ? 4 : String(v).length;
    } else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const child of v) stack.push(child);
    } else {
      size += 2;
      for (const [key, child] of Object.entries(v)) {
        if (child === undefined) continue;
        size += key.length + 4;
        stack.push(child);
      }
    }
    if (size > max) return true;
  }
  return false;
}

/** Names a refused request body in errors. */
const REQUEST = 'kubechart request';
const BODY_BOUND = 'the most the kubechart backend reads in one request body';

/**
 * Checks a request an action is about to send (a run, a preview, an approved run's input) against
 * the bounds the kubechart backend puts on one request body ({@link REQUEST_BODY_LIMITS}: size,
 * nesting and values of the whole body, all releases' values together), counted as the backend
 * counts them: on the JSON text the client sends. Over a bound, an `InputError` naming it, and
 * nothing is sent; the backend would refuse the body with a 400 after the step started.
 */
export function assertRequestWithinBodyLimits(request: unknown): void {
  const { maxBytes, maxDepth, maxNodes } = REQUEST_BODY_LIMITS;
  // Bounds the work of serialising: each values is within 5 MB, a tenant may have many.
  const tooLarge = () =>
    new InputLimitError(
      'maxBytes',
      maxBytes,
      REQUEST,
      `larger than ${maxBytes} bytes as JSON (every release's values count), ${BODY_BOUND}`,
    );
  if (serialisesLargerThan(request, maxBytes)) throw tooLarge();
  try {
    assertJsonTextWithinLimits(JSON.stringify(request), {
      what: REQUEST,
      limits: { maxBytes, maxDepth, maxNodes },
    });
  } catch (e) {
    if (!(e instanceof InputLimitError)) throw e;
    if (e.limit === 'maxBytes') throw tooLarge();
    if (e.limit === 'maxDepth') {
      throw new InputLimitError(
        'maxDepth',
        maxDepth,
        REQUEST,
        `nesting deeper than ${maxDepth} as JSON (values sit 3 or 4 levels down in it), ${BODY_BOUND}`,
      );
    }
    throw new InputLimitError(
      'maxNodes',
      maxNodes,
      REQUEST,
      `more than ${maxNodes} nodes as JSON (every value of every release counts), ${BODY_BOUND}`,
    );
  }
}

/**
 * Reads the `values` input of a run-starting action: a YAML (or JSON) string from a form, or an
 * object from the template. Within the bounds of {@link DEFAULT_INPUT_LIMITS} (depth, aliases,
 * size as JSON, once aliases are expanded) and the nodes the kubechart backend reads in one request
 * body ({@link REQUEST_BODY_LIMITS}), so that a few hundred bytes of nested aliases cannot grow
 * into a request of many megabytes; anything over them, or not YAML, is an `InputError` naming
 * the values, and nothing is sent. The whole request, every release's values together, is checked
 * before it is sent ({@link assertRequestWithinBodyLimits}).
 *
 * @param what - names the input in errors, e.g. `values of release web`.
 */
export function valuesFromInput(
  values: unknown,
  what = 'values',
): Record<string, unknown> | undefined {
  if (values === undefined || values === null || values === '')
    return undefined;
  let parsed: unknown;
  if (typeof values === 'string') {
    let docs: unknown[];
    try {
      docs = parseYamlLimited(values, {
        what,
        limits: { maxNodes: REQUEST_BODY_LIMITS.maxNodes },
      });
    } catch (e) {
      if (e instanceof InputLimitError) throw e;
      throw notYamlError(values, what);
    }
    if (docs.length > 1) {
      throw new InputError(
        `${what} must be one YAML document, not ${docs.length}`,
      );
    }
    parsed = docs[0];
  } else {
    parsed = values;
    assertWithinLimits(parsed, what, {
      maxNodes: REQUEST_BODY_LIMITS.maxNodes,
    });
  }
  if (parsed === undefined || parsed === null) return undefined;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError(`${what} must be a mapping (YAML or JSON object)`);
  }
  const { maxBytes } = DEFAULT_INPUT_LIMITS;
  if (serialisesLargerThan(parsed, maxBytes)) {
    throw new InputLimitError(
      'maxBytes',
      maxBytes,
      what,
      `larger than ${maxBytes} bytes as JSON once aliases are expanded`,
    );
  }
  return parsed as Record<string, unknown>;
}
