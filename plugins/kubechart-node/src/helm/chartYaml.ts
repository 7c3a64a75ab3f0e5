import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputLimitError } from '../yaml/limits';
import { parseYamlLimited } from '../yaml/parseYamlLimited';

/**
 * Largest Chart.yaml read, in bytes. helm has no bound of its own for Chart.yaml: it takes any file
 * of a package up to 5 MiB (`MaxDecompressedFileSize`). A chart's metadata is a few KB, so this
 * refuses no real chart and bounds what reading the metadata of a chart from a repository costs.
 */
export const MAX_CHART_YAML_BYTES = 1024 * 1024;

/** Most nodes of a Chart.yaml: hundreds of times what the metadata of a real chart holds. */
const MAX_CHART_YAML_NODES = 50_000;

/**
 * The Chart.yaml of the unpacked chart `chartDir`, read as untrusted text: larger than
 * {@link MAX_CHART_YAML_BYTES} is refused before it is read, and it is parsed with
 * `parseYamlLimited` (nodes, depth and aliases bounded). A refusal or a syntax error is an
 * `InputError` named after `what` (e.g. "Chart.yaml of chart web"). `undefined` when there is no
 * Chart.yaml.
 */
export async function readChartYaml(
  chartDir: string,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  const file = path.join(chartDir, 'Chart.yaml');
  const stat = await fs.stat(file).catch(e => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  });
  if (!stat) return undefined;
  if (!stat.isFile()) throw new InputError(`${what} is not a file`);
  if (stat.size > MAX_CHART_YAML_BYTES)
    throw new InputLimitError(
      'maxBytes',
      MAX_CHART_YAML_BYTES,
      what,
      `larger than ${MAX_CHART_YAML_BYTES} bytes`,
    );
  const text = await fs.readFile(file, 'utf8');
  const docs = parseYamlLimited(text, {
    what,
    limits: { maxBytes: MAX_CHART_YAML_BYTES, maxNodes: MAX_CHART_YAML_NODES },
  });
  if (docs.length > 1)
    throw new InputError(`${what} holds more than one YAML document`);
  const meta = docs[0] ?? {};
  if (typeof meta !== 'object' || Array.isArray(meta))
    throw new InputError(`${what} is not a YAML mapping`);
  return meta as Record<string, unknown>;
}
