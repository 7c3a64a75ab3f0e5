import { isPlainObject, KubeObject } from './types';

/**
 * Go map fields marked `omitempty`: the API server's encoding drops them when empty (or null), so an
 * object created with `labels: {}` or `data: {}` comes back without the key
 * (../shared/reference/kube-api/fields/11-configmap-empty-maps.json). Structs such as `emptyDir: {}`
 * or `resources: {}` are kept, as Go keeps them.
 */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'nodeSelector',
  'matchLabels',
  'limits',
  'requests',
  'hard',
]);
const TOP_LEVEL_MAPS = ['data', 'binaryData', 'stringData'];
const METADATA_LISTS = ['finalizers', 'ownerReferences'];
const MAX_DEPTH = 64;

const emptyMap = (v: unknown) =>
  v === null || (isPlainObject(v) && Object.keys(v).length === 0);

function walk(node: unknown, depth: number) {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(node)) {
    for (const x of node) walk(x, depth + 1);
    return;
  }
  if (!isPlainObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (MAP_FIELDS.has(k) && emptyMap(v)) {
      delete node[k];
      continue;
    }
    if (k === 'metadata' && isPlainObject(v)) {
      for (const l of METADATA_LISTS) {
        const list = v[l];
        if (list === null || (Array.isArray(list) && list.length === 0))
          delete v[l];
      }
    }
    walk(v, depth + 1);
  }
}

/** Drops empty map fields (and empty finalizers/ownerReferences) in place. */
export function omitEmptyMaps(obj: KubeObject): void {
  for (const k of TOP_LEVEL_MAPS) {
    if (k in obj && emptyMap(obj[k])) delete obj[k];
  }
  walk(obj, 0);
}
