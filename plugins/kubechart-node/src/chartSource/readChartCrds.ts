import { InputError } from '@backstage/errors';
import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseYamlLimited } from '../yaml/parseYamlLimited';

const MAX_FILES = 200;
const MAX_BYTES = 5 * 1024 * 1024;
const MAX_DEPTH = 5;
// helm's loader takes every file below crds/ whose extension is .yaml, .yml or .json, in any case.
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

const refuse = (message: string): never => {
  throw new InputError(`Chart refused: ${message}`);
};

const readDir = (dir: string): Promise<Dirent[]> =>
  fs
    .readdir(dir, { withFileTypes: true })
    .then(entries =>
      entries.sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name)),
    )
    .catch(() => []);

/** Why a document of crds/ is refused, or undefined for a CustomResourceDefinition (or an empty document). */
function notACrd(doc: unknown): string | undefined {
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc))
    return 'a document that is not an object';
  const { apiVersion, kind, metadata } = doc as Record<string, any>;
  const name = typeof metadata?.name === 'string' ? ` (${metadata.name})` : '';
  if (kind !== 'CustomResourceDefinition')
    return `a ${
      typeof kind === 'string' && kind ? kind : 'document without a kind'
    }${name}`;
  if (
    typeof apiVersion !== 'string' ||
    !apiVersion.startsWith('apiextensions.k8s.io/')
  )
    return `a CustomResourceDefinition${name} of apiVersion ${apiVersion}`;
  return undefined;
}

const CRDS_ONLY =
  'helm applies crds/ as they are, before any check, so only CustomResourceDefinitions are accepted in crds/';

/**
 * The manifests under an unpacked chart's `crds/` directories (its own and its subcharts'), as one
 * multi-document YAML text: every file helm's loader takes (any depth below `crds/`, `.yaml`, `.yml`
 * or `.json` in any case). helm installs these without templating and without a post-renderer, so
 * they must be CustomResourceDefinitions, which the policy then checks; anything else (a Pod, a
 * List, a document that is no object), YAML that does not parse, a packaged subchart left unpacked
 * or subcharts nested deeper than 5 levels is an InputError. Bounded: at most 200 files and 5 MiB.
 * @public
 */
export async function readChartCrds(chartDir: string): Promise<string> {
  const docs: string[] = [];
  let files = 0;
  let bytes = 0;
  const readCrdDir = async (dir: string) => {
    for (const e of await readDir(dir)) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await readCrdDir(full);
        continue;
      }
      if (!e.isFile() || !MANIFEST_EXT.test(e.name)) continue;
      files++;
      bytes += (await fs.stat(full)).size;
      if (files > MAX_FILES || bytes > MAX_BYTES) {
        throw new InputError(
          `The chart's crds/ directories hold more than ${MAX_FILES} files or ${MAX_BYTES} bytes`,
        );
      }
      const file = path.relative(chartDir, full).split(path.sep).join('/');
      const text = await fs.readFile(full, 'utf8');
      for (const doc of parseYamlLimited(text, {
        what: `Chart refused: ${file}`,
      })) {
        const why = notACrd(doc);
        if (why) refuse(`${file} holds ${why}; ${CRDS_ONLY}`);
      }
      docs.push(text);
    }
  };
  const visitChart = async (dir: string, depth: number) => {
    await readCrdDir(path.join(dir, 'crds'));
    for (const s of await readDir(path.join(dir, 'charts'))) {
      const sub = path.join(dir, 'charts', s.name);
      const where = path.relative(chartDir, sub).split(path.sep).join('/');
      if (s.isFile() && s.name.endsWith('.tgz'))
        refuse(
          `${where} is a packaged subchart that was not unpacked, so its crds/ cannot be read`,
        );
      if (!s.isDirectory()) continue;
      // helm reads subcharts at any depth: what this does not read is refused, not skipped.
      if (depth >= MAX_DEPTH)
        refuse(
          `${where}: subcharts nested deeper than ${MAX_DEPTH} levels are not read`,
        );
      await visitChart(sub, depth + 1);
    }
  };
  await visitChart(chartDir, 0);
  const text = docs.map(d => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n');
  // What the policy checks and the engine installs is this text as one stream: it must read the same.
  for (const doc of parseYamlLimited(text, {
    what: "Chart refused: the chart's crds/",
  })) {
    const why = notACrd(doc);
    if (why) refuse(`its crds/ together hold ${why}; ${CRDS_ONLY}`);
  }
  return text;
}
