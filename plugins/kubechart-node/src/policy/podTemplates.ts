import { customPodsOf, isMapping, podSpecOf } from './podSpec';
import { builtinIsNamespaced } from './scope';
import type { KubeObject } from './types';

/** At most this many places are named in one refusal. */
const MAX_PLACES = 5;

/**
 * Fields of custom resources that hold values for something else to read, not a pod: a Flux
 * HelmRelease's chart values, an Argo CD Application's source (its `helm.valuesObject`) and an
 * ApplicationSet's template (the manifests those controllers render are not in these either way).
 */
const VALUES_FIELDS: Record<string, string[]> = {
  'helm.toolkit.fluxcd.io/HelmRelease': ['values'],
  'argoproj.io/Application': ['source', 'sources'],
  'argoproj.io/ApplicationSet': ['template'],
};

/** Groups whose `image` fields name images to watch, not to run (Flux image automation). */
const IMAGE_WATCHING_GROUPS = new Set(['image.toolkit.fluxcd.io']);

/**
 * Where a custom resource holds containers the pod rules do not judge: a `containers` list, or a
 * mapping with a string `image`, anywhere but in the pod spec the policy reads for it
 * ({@link podSpecOf}: `spec.template`, `spec.jobTemplate`, `spec.jobTargetRef.template`, the
 * templates of an Argo workflow, the steps of a Tekton task). Its controller may make pods of them
 * that the policy never saw, so the object is refused (fail closed). Empty for built-in kinds.
 */
export function unplacedContainerPaths(doc: KubeObject): string[] {
  const apiVersion = String(doc.apiVersion ?? '');
  const kind = String(doc.kind ?? '');
  if (builtinIsNamespaced(apiVersion, kind) !== undefined) return [];
  if (IMAGE_WATCHING_GROUPS.has(apiVersion.split('/')[0])) return [];
  const pods = customPodsOf(doc);
  const skip = new Set<unknown>(pods?.placed ?? []);
  if (!pods) skip.add(podSpecOf(doc));
  const values = VALUES_FIELDS[`${apiVersion.split('/')[0]}/${kind}`] ?? [];
  if (isMapping(doc.spec))
    for (const field of values) skip.add(doc.spec[field]);
  const out: string[] = [];
  // Depth first, in the order of the object; each mapping or list once (YAML aliases share them).
  const seen = new Set<object>();
  const stack: Array<{ value: unknown; path: string }> = [
    { value: doc, path: '' },
  ];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (!value || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    if (skip.has(value)) continue;
    const prefix = path ? `${path}.` : '';
    let children: Array<{ value: unknown; path: string }> = [];
    if (Array.isArray(value)) {
      children = value.map((v, i) => ({ value: v, path: `${path}[${i}]` }));
    } else if (isMapping(value)) {
      if (Array.isArray(value.containers)) out.push(`${prefix}containers`);
      if (typeof value.image === 'string') out.push(`${prefix}image`);
      children = Object.entries(value)
        // Containers already named are not named again one by one.
        .filter(([k]) => !(k === 'containers' && Array.isArray(value[k])))
        .map(([k, v]) => ({ value: v, path: `${prefix}${k}` }));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return out;
}

/** Why a custom resource holds containers the policy cannot judge, or undefined. */
export function unplacedContainersProblem(doc: KubeObject): string | undefined {
  const paths = unplacedContainerPaths(doc);
  if (!paths.length) return undefined;
  const where =
    paths.length > MAX_PLACES
      ? `${paths.slice(0, MAX_PLACES).join(', ')} and ${
          paths.length - MAX_PLACES
        } more`
      : paths.join(', ');
  return `${where}: containers at a path the policy does not read as a pod template of a ${String(
    doc.kind,
  )}, so it cannot judge the pods they would run; run them from a kind it reads (a Deployment, a Job, …)`;
}
