import { InputError } from '@backstage/errors';
import yaml from 'js-yaml';
import { describeYamlError } from './yamlErrors';
import { HELM_YAML_SCHEMA, findMergeKey } from './helmYamlSchema';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  InputLimits,
  measureValue,
} from './limits';

/**
 * An upper bound on the number of documents in a YAML stream, found without parsing: every
 * document after the first starts with a `---` or follows a `...` line. Linear, no regex.
 * @public
 */
export function countDocumentMarkers(text: string): number {
  let n = 1;
  let i = 0;
  while (i < text.length) {
    if (
      (text.startsWith('---', i) || text.startsWith('...', i)) &&
      (i === 0 || text.charCodeAt(i - 1) === 10)
    )
      n++;
    const next = text.indexOf('\n', i);
    if (next < 0) break;
    i = next + 1;
  }
  return n;
}

/**
 * Parses a multi-document YAML (or JSON) stream from an untrusted source with hard bounds on its
 * size, document count, nesting depth, aliases and the expanded node count (see
 * {@link DEFAULT_INPUT_LIMITS}). Refusals and syntax errors are `InputError`s (400): a refusal
 * names the limit. Every check is linear in the input, so no input can stall the event loop.
 *
 * @param what - names the input in error messages, e.g. "Manifests".
 * @param schema - `helm` reads the text as helm and kubectl read manifests (YAML 1.1: `yes`/`on`
 *   are `true`, `0644` is octal) and refuses merge keys (`<<`); by default js-yaml's YAML 1.2 core schema.
 * @public
 */
export function parseYamlLimited(
  text: string,
  options: {
    what?: string;
    limits?: Partial<InputLimits>;
    schema?: 'helm' | 'yaml-1.2';
  } = {},
): unknown[] {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const what = options.what ?? 'YAML input';
  // UTF-8 never has fewer bytes than UTF-16 code units, so the cheap length check goes first.
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
  if (countDocumentMarkers(text) > limits.maxDocuments + 1) {
    throw new InputLimitError(
      'maxDocuments',
      limits.maxDocuments,
      what,
      `more than ${limits.maxDocuments} documents`,
    );
  }
  let docs: unknown[];
  try {
    // js-yaml ≥ 4.2 stops at maxDepth (its typings do not list the option yet); older versions
    // overflow the stack instead, which is refused the same way.
    docs = yaml.loadAll(text, null, {
      maxDepth: limits.maxDepth,
      ...(options.schema === 'helm' ? { schema: HELM_YAML_SCHEMA } : {}),
    } as yaml.LoadOptions);
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (/maxDepth/.test(message) || e instanceof RangeError) {
      throw new InputLimitError(
        'maxDepth',
        limits.maxDepth,
        what,
        `nesting deeper than ${limits.maxDepth}`,
      );
    }
    // Nothing of the input: js-yaml's message quotes it (see describeYamlError).
    throw new InputError(`${what} is not valid YAML: ${describeYamlError(e)}`);
  }
  if (docs.length > limits.maxDocuments) {
    throw new InputLimitError(
      'maxDocuments',
      limits.maxDocuments,
      what,
      `more than ${limits.maxDocuments} documents`,
    );
  }
  const budget = { nodes: 0, aliases: 0 };
  for (const doc of docs) measureValue(doc, limits, what, budget);
  if (options.schema === 'helm') {
    for (const doc of docs) {
      const at = findMergeKey(doc);
      if (at !== undefined) {
        throw new InputError(
          `${what} uses a YAML merge key (<<) at ${at}: helm's YAML reader lets it overwrite the keys written before it, so what helm applies cannot be judged exactly; write the fields out instead`,
        );
      }
    }
  }
  return docs;
}
