import { Run, RunDiff } from '@kubechart/plugin-kubechart-common';
import { REDACTED } from '@kubechart/plugin-kubechart-node';
import yaml from 'js-yaml';
import { boundedPatch } from './boundedDiff';

const dump = (v: unknown) =>
  v === undefined ? '' : yaml.dump(v, { sortKeys: true, lineWidth: -1 });

/** What GET /runs/:id/diff/:other answers: the values (as YAML) and manifest diffs from run `a` to run `b`. */
export async function runDiff(a: Run, b: Run): Promise<RunDiff> {
  const [valuesA, valuesB] = [dump(a.values), dump(b.values)];
  const values = await boundedPatch(
    `values@${a.id}`,
    `values@${b.id}`,
    valuesA,
    valuesB,
  );
  const manifest = await boundedPatch(
    `manifest@${a.id}`,
    `manifest@${b.id}`,
    a.manifest ?? '',
    b.manifest ?? '',
  );
  // Said beside the texts: a diff given up on has no hunks, as if nothing differed.
  const notComputed = {
    ...(values.notComputed ? { values: values.notComputed } : {}),
    ...(manifest.notComputed ? { manifest: manifest.notComputed } : {}),
  };
  return {
    from: a.id,
    to: b.id,
    values: values.patch,
    manifest: manifest.patch,
    ...(Object.keys(notComputed).length ? { notComputed } : {}),
    // Stored redacted on both sides, so equal in the texts whatever the secrets were.
    hiddenSecrets: Math.max(
      hidden(valuesA) + hidden(a.manifest ?? ''),
      hidden(valuesB) + hidden(b.manifest ?? ''),
    ),
  };
}

/** How many redacted values a text holds. */
function hidden(text: string): number {
  return text.split(REDACTED).length - 1;
}
