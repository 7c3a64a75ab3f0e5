import { createHash } from 'node:crypto';
import { KubeObject, OwnerReference } from '../server/types';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The template as the controller's Go struct sees it: key order does not matter and a null field is
 * the same as a missing one. (Hashing the JSON as sent made a PUT from a client that orders keys
 * differently look like a new template, so scaling replaced every Ready pod.)
 */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.keys(v as object)
      .filter(k => (v as any)[k] !== null && (v as any)[k] !== undefined)
      .sort()
      .map(k => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The pod-template-hash the deployment controller derives from a pod template. */
export function templateHash(template: unknown): string {
  const n = createHash('sha256')
    .update(canonicalJson(template ?? {}))
    .digest()
    .readUInt32BE(0);
  return String(n)
    .split('')
    .map(ch => SAFE[ch.charCodeAt(0) % SAFE.length])
    .join('');
}

export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isControlledBy(obj: KubeObject, owner: KubeObject) {
  return (obj.metadata.ownerReferences ?? []).some(
    o => o.uid === owner.metadata.uid && o.controller,
  );
}

export function resolvePercent(
  value: unknown,
  total: number,
  roundUp: boolean,
): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const v = (parseFloat(value) * total) / 100;
    return roundUp ? Math.ceil(v) : Math.floor(v);
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}
