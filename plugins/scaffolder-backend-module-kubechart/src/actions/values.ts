import { InputError } from '@backstage/errors';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
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
 * them; stops as soon as the count passes `max`. Only called on values within the node bound.
 */
function serialisesLargerThan(value: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      size += v.length + 2;
    } else if (v === null || typeof v !== 'object') {
      size += String(v).length;
    } else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const child of v) stack.push(child);
    } else {
      size += 2;
      for (const [key, child] of Object.entries(v)) {
        size += key.length + 4;
        stack.push(child);
      }
    }
    if (size > max) return true;
  }
  return false;
}

/**
 * Reads the `values` input of a run-starting action: a YAML (or JSON) string from a form, or an
 * object from the template. Within the bounds the kubechart backend puts on a request
 * ({@link DEFAULT_INPUT_LIMITS}: depth, nodes and aliases once expanded, size as JSON), so that a
 * few hundred bytes of nested aliases cannot grow into a request of many megabytes in the
 * backend process; anything over them, or not YAML, is an `InputError` and nothing is sent.
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
      docs = parseYamlLimited(values, { what });
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
    assertWithinLimits(parsed, what);
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
