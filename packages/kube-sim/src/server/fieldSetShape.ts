import { SchemaResolver } from '../schema/fields';
import { SchemaNode } from '../schema/openapi';
import { FieldPath, trieChildPath } from './patch';
import { isPlainObject, ManagedFieldsEntry } from './types';

/** What {@link withDotEntries} needs to know of a kind's schema. */
export interface FieldSetSchema {
  root: SchemaNode;
  resolve: SchemaResolver;
  /** Custom resources are unstructured: no field of theirs exists before a write sets it. */
  custom?: boolean;
}

/**
 * Whether an Update that sets children of `name` also owns the node itself (`.`): it does when the node was not
 * there before, in the empty object of the kind the server compares a create against. Absent there are maps,
 * pointer structs and `omitempty` lists; present are value structs (which the v1.26 documents mark with
 * `default: {}`), lists without `omitempty` (in the parent's `required`, as `containers`: JSON `null`), and
 * atomic maps are leaves. A custom resource is unstructured: only `metadata` exists before a write.
 */
function updateOwnsNode(
  parent: SchemaNode | undefined,
  name: string,
  prop: SchemaNode | undefined,
  schema: FieldSetSchema,
  top: boolean,
) {
  if (top && name === 'metadata') return false;
  if (schema.custom) return true;
  if (!prop) return false;
  const resolved = schema.resolve(prop).node;
  if (resolved['x-kubernetes-map-type'] === 'atomic') return false;
  const d = (prop as { default?: unknown }).default;
  if (isPlainObject(d) && Object.keys(d).length === 0 && resolved.properties)
    return false;
  if (resolved.type === 'array') {
    const required: string[] = parent
      ? (schema.resolve(parent).node as { required?: string[] }).required ?? []
      : [];
    return !required.includes(name);
  }
  return true;
}

function propertyOf(
  parent: SchemaNode | undefined,
  name: string,
  schema: FieldSetSchema,
): SchemaNode | undefined {
  if (!parent) return undefined;
  const node = schema.resolve(parent).node;
  const prop = node.properties?.[name];
  if (prop) return prop;
  const extra = node.additionalProperties;
  return isPlainObject(extra) ? (extra as SchemaNode) : undefined;
}

/**
 * Adds the `.` members a real server writes in `fieldsV1` (leaf-only tries are what kube-sim tracks): a node
 * with children that is itself a member of the set. Server-side apply sets it on list items
 * (`k:{"name":"app"}`); an Update also on every map, pointer struct and custom-resource object it added
 * (`f:labels`, `f:rollingUpdate`, a custom resource's `f:spec`), but not on the value structs that exist in an
 * empty object of the kind (`f:spec`, `f:template`, `f:strategy` of a Deployment).
 * Compared with ../shared/reference/kube-api/ (rollout/01, fields/12, crd/10, cm-apply-create).
 */
export function withDotEntries(
  trie: Record<string, unknown>,
  operation: 'Apply' | 'Update',
  schema: FieldSetSchema | undefined,
  /**
   * For an Update manager whose history is known: the nodes its writes created (`nodes`, which the trie also
   * holds) and its fields (`leaves`). A node gets `.` only when the manager created it, as a real server's
   * field manager records an Update's added fields: a second manager adding a key to an existing map does not
   * own the map. Without it, every node above the fields that the schema makes a member gets `.` (a create).
   */
  history?: { nodes: Set<FieldPath>; leaves: Set<FieldPath> },
): Record<string, unknown> {
  const walk = (
    node: Record<string, unknown>,
    at: SchemaNode | undefined,
    path: FieldPath,
    top = false,
  ): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '.' || !isPlainObject(value)) {
        out[key] = value;
        continue;
      }
      const childPath = trieChildPath(path, key) ?? '';
      const hasChildren = Object.keys(value).some(k => k !== '.');
      const created = (fallback: boolean) =>
        history ? history.nodes.has(childPath) : fallback;
      // A node the trie holds only because the manager created it, with none of its fields left.
      const nodeOnly =
        !!history && !hasChildren && !history.leaves.has(childPath);
      if (key.startsWith('f:')) {
        const prop = schema ? propertyOf(at, key.slice(2), schema) : undefined;
        // An atomic map (a LabelSelector, an ObjectReference) is one leaf: `f:selector: {}`.
        if (
          prop &&
          schema!.resolve(prop).node['x-kubernetes-map-type'] === 'atomic'
        ) {
          if (!nodeOnly) out[key] = {};
          continue;
        }
        const child = walk(value, prop, childPath);
        // Without a schema kube-sim cannot tell value structs from the rest: no `.` on fields then.
        const dot =
          (hasChildren || nodeOnly) &&
          operation === 'Update' &&
          !!schema &&
          updateOwnsNode(at, key.slice(2), prop, schema, top) &&
          created(true);
        if (nodeOnly && !dot) continue;
        out[key] = dot ? { '.': {}, ...child } : child;
        continue;
      }
      // A list item (`k:` by key, `v:` by value, `i:` by index): `at` is the list's schema.
      const list = at && schema ? schema.resolve(at).node : undefined;
      const items = list?.items as SchemaNode | undefined;
      const child = walk(value, items, childPath);
      const dot = (hasChildren || nodeOnly) && created(hasChildren);
      if (nodeOnly && !dot) continue;
      out[key] = dot ? { '.': {}, ...child } : child;
    }
    return out;
  };
  return walk(trie, schema?.root, '', true);
}

/**
 * The order a real server keeps `managedFields` in: Apply entries before Update entries, then by time (seconds),
 * manager, apiVersion and subresource (fields/09 and crd/04: `kube-controller-manager`'s status entry before the
 * creating `unknown` manager's, both written in the same second).
 */
export function sortManagedFields(
  entries: ManagedFieldsEntry[],
): ManagedFieldsEntry[] {
  const seconds = (t: string | undefined) =>
    t ? Math.floor(Date.parse(t) / 1000) : 0;
  const cmp = (a = '', b = '') => {
    if (a === b) return 0;
    return a < b ? -1 : 1;
  };
  return [...entries].sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource, q.subresource),
  );
}
