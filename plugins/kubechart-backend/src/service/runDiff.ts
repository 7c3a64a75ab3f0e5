import { Run, RunDiff } from '@kubechart/plugin-kubechart-common';
import yaml from 'js-yaml';
import { boundedPatch } from './boundedDiff';

const dump = (v: unknown) =>
  v === undefined ? '' : yaml.dump(v, { sortKeys: true, lineWidth: -1 });

/** What GET /runs/:id/diff/:other answers: the values (as YAML) and manifest diffs from run `a` to run `b`. */
export async function runDiff(a: Run, b: Run): Promise<RunDiff> {
  return {
    from: a.id,
    to: b.id,
    values: await boundedPatch(
      `values@${a.id}`,
      `values@${b.id}`,
      dump(a.values),
      dump(b.values),
    ),
    manifest: await boundedPatch(
      `manifest@${a.id}`,
      `manifest@${b.id}`,
      a.manifest ?? '',
      b.manifest ?? '',
    ),
  };
}
