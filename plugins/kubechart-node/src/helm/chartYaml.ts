import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputLimitError } from '../yaml/limits';
import { parseYamlLimited } from '../yaml/parseYamlLimited';

/**
 * Largest Chart.yaml read, in bytes. helm has no bound of its own for Chart.yaml: it takes any file
 * of a package up to 5 MiB (`MaxDecompressedFileSize`). A chart's metadata is a few KB, so this
 * refuses no real chart and bounds what reading the metadata of a chart from a repository costs.
 * @public
 */
export const MAX_CHART_YAML_BYTES = 1024 * 1024;

/** Most nodes of a Chart.yaml: hundreds of times what the metadata of a real chart holds. */
const MAX_CHART_YAML_NODES = 50_000;

/**
 * Largest values.yaml read, in bytes: the default values of the largest real charts are a few
 * hundred KB.
 */
export const MAX_VALUES_YAML_BYTES = 2 * 1024 * 1024;

/**
 * Most nodes of a values.yaml: about what 2 MiB of real defaults (`key: value` lines) holds, where
 * 2 MiB of a flow sequence (`[a,a,…]`) holds a million.
 */
const MAX_VALUES_YAML_NODES = 100_000;

/**
 * The YAML mapping in file `name` of the unpacked chart `chartDir`, read as untrusted text: larger
 * than `maxBytes` is refused before it is read, and it is parsed with `parseYamlLimited` (nodes,
 * depth and aliases bounded). A refusal, a syntax error, several documents or a document that is
 * not a mapping is an `InputError` named after `what`. `undefined` when there is no such file.
 */
async function readChartYamlFile(
  chartDir: string,
  name: string,
  what: string,
  limits: { maxBytes: number; maxNodes: number },
): Promise<Record<string, unknown> | undefined> {
  const file = path.join(chartDir, name);
  const stat = await fs.stat(file).catch(e => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  });
  if (!stat) return undefined;
  if (!stat.isFile()) throw new InputError(`${what} is not a file`);
  if (stat.size > limits.maxBytes)
    throw new InputLimitError(
      'maxBytes',
      limits.maxBytes,
      what,
      `larger than ${limits.maxBytes} bytes`,
    );
  const text = await fs.readFile(file, 'utf8');
  const docs = parseYamlLimited(text, { what, limits });
  if (docs.length > 1)
    throw new InputError(`${what} holds more than one YAML document`);
  const doc = docs[0] ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new InputError(`${what} is not a YAML mapping`);
  return doc as Record<string, unknown>;
}

/**
 * The Chart.yaml of the unpacked chart `chartDir`, read as untrusted text: larger than
 * {@link MAX_CHART_YAML_BYTES} is refused before it is read, and it is parsed with
 * `parseYamlLimited` (nodes, depth and aliases bounded). A refusal or a syntax error is an
 * `InputError` named after `what` (e.g. "Chart.yaml of chart web"). `undefined` when there is no
 * Chart.yaml.
 * @public
 */
export function readChartYaml(
  chartDir: string,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  return readChartYamlFile(chartDir, 'Chart.yaml', what, {
    maxBytes: MAX_CHART_YAML_BYTES,
    maxNodes: MAX_CHART_YAML_NODES,
  });
}

/**
 * The values.yaml (default values) of the unpacked chart `chartDir`, read within the bounds
 * {@link readChartYaml} reads Chart.yaml with, its own in bytes ({@link MAX_VALUES_YAML_BYTES})
 * and nodes. `undefined` when there is no values.yaml.
 */
export function readValuesYaml(
  chartDir: string,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  return readChartYamlFile(chartDir, 'values.yaml', what, {
    maxBytes: MAX_VALUES_YAML_BYTES,
    maxNodes: MAX_VALUES_YAML_NODES,
  });
}
