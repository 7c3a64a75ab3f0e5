import { KubeObject } from './tables';

/** The line `kubectl rollout status` prints for a workload. */
export function rolloutStatus(w: KubeObject): string {
  const name = `${(w.kind ?? 'deployment').toLowerCase()} "${
    w.metadata?.name
  }"`;
  const want = w.spec?.replicas ?? 1;
  const updated = w.status?.updatedReplicas ?? 0;
  const available = w.status?.availableReplicas ?? 0;
  const total = w.status?.replicas ?? 0;
  if (updated < want) {
    return `Waiting for ${name} rollout to finish: ${updated} out of ${want} new replicas have been updated...`;
  }
  if (total > updated) {
    return `Waiting for ${name} rollout to finish: ${
      total - updated
    } old replicas are pending termination...`;
  }
  if (available < updated) {
    return `Waiting for ${name} rollout to finish: ${available} of ${updated} updated replicas are available...`;
  }
  return `${name} successfully rolled out`;
}
