import {
  ancestorsOf,
  dotNodesOf,
  FieldPath,
  fromFieldsV1,
  leafFields,
  readField,
  toFieldsV1,
} from './patch';
import {
  FieldSetSchema,
  sortManagedFields,
  withDotEntries,
} from './fieldSetShape';
import { groupVersion } from './resources';
import {
  deepEqual,
  isPlainObject,
  KubeObject,
  ManagedFieldsEntry,
  nowIso,
} from './types';

/**
 * Field ownership (`metadata.managedFields`) as the API server keeps it: which manager owns which
 * fields after a write, and whether a write changed ownership at all.
 */

export interface ManagerState {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  paths: Set<FieldPath>;
  /**
   * The nodes (maps, structs, lists, list items) an Update manager's writes created, which it owns itself (`.` in
   * `fieldsV1`). Undefined: every node above its fields that the schema makes a member (a create, an Apply).
   */
  nodes?: Set<FieldPath>;
}

/**
 * Which part of an object writes through `subresource` own fields in: `status` writes own the
 * status, main-resource and `scale` writes the rest. Ownership moves, and apply conflicts arise,
 * only between managers of the same part, so a `scale` entry owning `spec.replicas` loses it to a
 * later update and conflicts with a later apply by another manager, as on a real server.
 */
export function ownershipPart(subresource: string | undefined): string {
  return subresource === 'status' ? 'status' : 'main';
}

/**
 * The fields of an object that field managers can own through `subresource`. A write through
 * `scale` reaches only the parent's `spec.replicas`: the real server maps the Scale's replicas to
 * the parent's and records the entry on the parent with `subresource: scale` and the parent's
 * apiVersion (its ScaleHandler); no scale exchange is recorded in ../shared/reference/kube-api/, so
 * this follows the Kubernetes field-management conventions for subresource entries.
 */
export function ownableView(
  obj: KubeObject,
  subresource?: string,
): Record<string, unknown> {
  if (subresource === 'status') {
    // The Deployment status strategy keeps metadata changes: the controller's revision annotation, written
    // with its status, is its status entry's (rollout/02-deployment-complete-before-update.json).
    const annotations =
      obj.kind === 'Deployment' ? obj.metadata?.annotations : undefined;
    return annotations
      ? { metadata: { annotations }, status: obj.status }
      : { status: obj.status };
  }
  if (subresource === 'scale') {
    return obj.spec?.replicas === undefined
      ? {}
      : { spec: { replicas: obj.spec.replicas } };
  }
  const { apiVersion, kind, metadata, status, ...rest } = obj;
  const meta: Record<string, unknown> = {};
  for (const k of [
    'labels',
    'annotations',
    'ownerReferences',
    'finalizers',
    'generateName',
  ]) {
    if (metadata?.[k] !== undefined) meta[k] = metadata[k];
  }
  return Object.keys(meta).length ? { metadata: meta, ...rest } : rest;
}

export function readManagers(obj: KubeObject | undefined): ManagerState[] {
  return (obj?.metadata.managedFields ?? []).map(e => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    time: e.time,
    subresource: e.subresource,
    nodes:
      e.operation === 'Update' ? new Set(dotNodesOf(e.fieldsV1)) : undefined,
    paths: new Set(
      fromFieldsV1(e.fieldsV1).flatMap(p => {
        // An atomic map is written as one leaf (fieldSetShape.ts); kube-sim tracks its fields one by one.
        const v = obj ? readField(obj, p) : undefined;
        return isPlainObject(v) && Object.keys(v).length > 0
          ? leafFields(v, p)
          : [p];
      }),
    ),
  }));
}

/** The `managedFields` entries of `managers`, shaped and ordered as a real server writes them (fieldSetShape.ts). */
export function writeManagers(
  managers: ManagerState[],
  schemaOf?: (apiVersion: string) => FieldSetSchema | undefined,
): ManagedFieldsEntry[] | undefined {
  const out = managers
    .map(m => {
      const history =
        m.operation === 'Update' && m.nodes
          ? { nodes: m.nodes, leaves: m.paths }
          : undefined;
      return {
        manager: m.manager,
        operation: m.operation,
        apiVersion: m.apiVersion,
        time: m.time,
        fieldsType: 'FieldsV1' as const,
        fieldsV1: withDotEntries(
          toFieldsV1([...m.paths, ...(history ? m.nodes! : [])]),
          m.operation,
          // each entry is shaped by the schema of the API it was written through (an events.k8s.io/v1
          // writer's `regarding` is an atomic ObjectReference there, metadata/07-*)
          schemaOf?.(m.apiVersion),
          history,
        ),
        ...(m.subresource ? { subresource: m.subresource } : {}),
      };
    })
    // An entry goes when its manager owns nothing: no field, and no node it created.
    .filter(e => Object.keys(e.fieldsV1).length > 0);
  return out.length ? sortManagedFields(out) : undefined;
}

/**
 * A field manager as a real server names it in an apply conflict: an Update entry with its
 * apiVersion, an Apply entry by name alone, either with its subresource when it has one.
 */
export function describeManager(m: {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
}): string {
  const name = `"${m.manager}"${
    m.subresource ? ` with subresource "${m.subresource}"` : ''
  }`;
  return m.operation === 'Update' ? `${name} using ${m.apiVersion}` : name;
}

/** Whether two managedFields lists record the same owners of the same fields (times aside). */
export function sameOwnership(
  a: ManagedFieldsEntry[] | undefined,
  b: ManagedFieldsEntry[] | undefined,
): boolean {
  const key = (list: ManagedFieldsEntry[] | undefined) =>
    (list ?? [])
      .map(({ time, ...rest }) => JSON.stringify(rest))
      .sort()
      .join('\n');
  return key(a) === key(b);
}

/** Ownership after a non-apply write: changed fields move to `manager`, removed fields leave everyone. */
export function updateManagers(
  old: KubeObject,
  next: KubeObject,
  manager: string,
  subresource: string | undefined,
  operation: 'Update' | 'Apply',
): ManagerState[] {
  const managers = readManagers(old);
  const part = ownershipPart(subresource);
  const nextPaths = leafFields(ownableView(next, subresource));
  const nextSet = new Set(nextPaths);
  // A null (a pod template's `creationTimestamp: null`) is Go's zero value, no field: nobody owns it
  // (rollout/01-deployment-create).
  const changed = nextPaths.filter(p => {
    const after = readField(next, p);
    return after !== null && !deepEqual(readField(old, p), after);
  });
  // A scale write sees only spec.replicas (always set): it removes no field.
  if (subresource !== 'scale') {
    for (const m of managers) {
      if (ownershipPart(m.subresource) !== part) continue;
      for (const p of [...m.paths]) {
        if (!nextSet.has(p)) m.paths.delete(p);
      }
    }
  }
  // A node that is gone is nobody's any more.
  for (const m of managers) {
    for (const n of [...(m.nodes ?? [])])
      if (readField(next, n) === undefined) m.nodes!.delete(n);
  }
  if (changed.length === 0) return managers;
  let mine = managers.find(
    m =>
      m.manager === manager &&
      m.operation === operation &&
      m.subresource === subresource,
  );
  if (!mine) {
    mine = {
      manager,
      operation,
      apiVersion: groupVersion({
        group: (next.apiVersion ?? '').includes('/')
          ? next.apiVersion!.split('/')[0]
          : '',
        version: (next.apiVersion ?? 'v1').split('/').pop()!,
      }),
      time: nowIso(),
      subresource,
      paths: new Set(),
      nodes: new Set(),
    };
    managers.push(mine);
  }
  mine.time = nowIso();
  for (const p of changed) {
    for (const m of managers)
      if (m !== mine && ownershipPart(m.subresource) === part)
        m.paths.delete(p);
    mine.paths.add(p);
    // The nodes this write created (absent before: a JSON null was there already) are the writer's.
    if (mine.nodes) {
      for (const n of ancestorsOf(p))
        if (readField(old, n) === undefined) mine.nodes.add(n);
    }
  }
  return managers;
}
