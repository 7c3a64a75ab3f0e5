import type { Run } from '@kubechart/plugin-kubechart-common';
import {
  effectiveNamespace,
  type KubeObject,
} from '@kubechart/plugin-kubechart-node';
import type { BaselineObject } from '../database/RunStore';
import { isSameValue, specAsStored } from '../lib/KubeClient';
import type { FieldDifference, PathSegment } from './compare';

/**
 * A tenant run's baseline objects are what it applied besides its releases (its quota, limits,
 * default-deny policy and tenant resources), recorded on the run as applied (see
 * `RunStore.getBaseline`). Drift compares them like a release's objects; those KubeChart owns whole
 * also as the tenant run itself decides whether to restore them (`KubeClient.ensure` with
 * `wholeSpec`): their spec as the API server stores it, with its defaults, must be the live spec.
 */

/** What a drift record says when a tenant run recorded no baseline to compare. */
export const NO_BASELINE_MESSAGE =
  'the run recorded no baseline objects (ResourceQuota, LimitRange, default-deny NetworkPolicy, tenant resources) to compare: it ran before KubeChart recorded them; the tenant’s next run records them';

/** What a drifted record adds when baseline objects drifted. */
export function baselineDriftMessage(
  objects: Array<{ kind: string; name: string; state: string }>,
): string {
  return `the tenant’s baseline drifted (${objects
    .map(o => `${o.kind}/${o.name} ${o.state}`)
    .join(
      ', ',
    )}): a tenant run restores it, so submit the tenant again; re-applying the run rolls back a release and does not restore it`;
}

/** The recorded baseline of a tenant run, with the namespace each object lives in. */
export function baselineObjects(
  run: Run,
  recorded: BaselineObject[],
): Array<{ object: KubeObject; namespace: string; wholeSpec: boolean }> {
  return recorded.map(({ object, wholeSpec }) => ({
    object: object as KubeObject,
    namespace: String(
      effectiveNamespace(object as KubeObject, run.target.namespace),
    ),
    wholeSpec,
  }));
}

/** The object as the API server stores it, for an object KubeChart owns whole (its spec's defaults added). */
export function asStored(object: KubeObject): KubeObject {
  return { ...object, spec: specAsStored(object as any) } as KubeObject;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * What else differs in the spec of an object KubeChart owns whole when the comparison of the fields
 * it applied found nothing: the live spec is not its spec as stored (a key was added). Each key the
 * live spec has that the applied one lacks is named, through maps; anything else is the spec as a whole.
 */
export function wholeSpecDifferences(
  object: KubeObject,
  live: KubeObject,
): FieldDifference[] {
  const expected = specAsStored(object as any);
  const actual = (live as Record<string, unknown>).spec;
  if (isSameValue(expected, actual)) return [];
  const added: FieldDifference[] = [];
  let exact = true;
  const walk = (
    e: unknown,
    a: unknown,
    path: PathSegment[],
    key?: string,
    parent?: string,
  ) => {
    if (isMap(e) && isMap(a)) {
      for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
        const at = [...path, { field: k }];
        if (e[k] === undefined && a[k] !== undefined)
          added.push({ segments: at, expected: undefined, actual: a[k] });
        else walk(e[k], a[k], at, k, key);
      }
      return;
    }
    if (!isSameValue(e, a, key, parent)) exact = false;
  };
  walk(expected, actual, [{ field: 'spec' }], 'spec');
  if (exact && added.length) return added;
  return [{ segments: [{ field: 'spec' }], expected, actual }];
}
