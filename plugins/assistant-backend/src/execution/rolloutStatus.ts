import { KubeObject } from './tables';

const n = (v: unknown) => (typeof v === 'number' ? v : 0);

/**
 * The line `kubectl rollout status` prints for a workload, by kubectl's own status viewers: first
 * whether the controller has observed the newest spec (until then the counts are the previous
 * rollout's, and a finished-looking workload is not rolled out), then, for a Deployment, whether
 * it exceeded its progress deadline (an error, never "successfully rolled out"), then the counts.
 */
export function rolloutStatus(w: KubeObject): string {
  const name = w.metadata?.name ?? '';
  const generation = n(w.metadata?.generation);
  const s = w.status ?? {};
  switch (w.kind) {
    case 'DaemonSet':
      return daemonSetStatus(w, name, generation, s);
    case 'StatefulSet':
      return statefulSetStatus(w, name, generation, s);
    default:
      return deploymentStatus(w, name, generation, s);
  }
}

function deploymentStatus(
  w: KubeObject,
  name: string,
  generation: number,
  s: any,
): string {
  if (generation > n(s.observedGeneration)) {
    return 'Waiting for deployment spec update to be observed...';
  }
  const progressing = (s.conditions ?? []).find(
    (c: any) => c.type === 'Progressing',
  );
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return `error: deployment "${name}" exceeded its progress deadline`;
  }
  const want = w.spec?.replicas ?? 1;
  const updated = n(s.updatedReplicas);
  const available = n(s.availableReplicas);
  const total = n(s.replicas);
  const waiting = `Waiting for deployment "${name}" rollout to finish:`;
  if (updated < want) {
    return `${waiting} ${updated} out of ${want} new replicas have been updated...`;
  }
  if (total > updated) {
    return `${waiting} ${
      total - updated
    } old replicas are pending termination...`;
  }
  if (available < updated) {
    return `${waiting} ${available} of ${updated} updated replicas are available...`;
  }
  return `deployment "${name}" successfully rolled out`;
}

const ROLLING_UPDATE_ONLY =
  'error: rollout status is only available for RollingUpdate strategy type';

function daemonSetStatus(
  w: KubeObject,
  name: string,
  generation: number,
  s: any,
): string {
  if ((w.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') {
    return ROLLING_UPDATE_ONLY;
  }
  if (generation > n(s.observedGeneration)) {
    return 'Waiting for daemon set spec update to be observed...';
  }
  const desired = n(s.desiredNumberScheduled);
  const waiting = `Waiting for daemon set "${name}" rollout to finish:`;
  if (n(s.updatedNumberScheduled) < desired) {
    return `${waiting} ${n(
      s.updatedNumberScheduled,
    )} out of ${desired} new pods have been updated...`;
  }
  if (n(s.numberAvailable) < desired) {
    return `${waiting} ${n(
      s.numberAvailable,
    )} of ${desired} updated pods are available...`;
  }
  return `daemon set "${name}" successfully rolled out`;
}

function statefulSetStatus(
  w: KubeObject,
  _name: string,
  generation: number,
  s: any,
): string {
  const strategy = w.spec?.updateStrategy ?? { type: 'RollingUpdate' };
  if ((strategy.type ?? 'RollingUpdate') !== 'RollingUpdate') {
    return ROLLING_UPDATE_ONLY;
  }
  if (n(s.observedGeneration) === 0 || generation > n(s.observedGeneration)) {
    return 'Waiting for statefulset spec update to be observed...';
  }
  const replicas: number | undefined = w.spec?.replicas;
  if (replicas !== undefined && n(s.readyReplicas) < replicas) {
    return `Waiting for ${replicas - n(s.readyReplicas)} pods to be ready...`;
  }
  // kubectl takes this branch whenever rollingUpdate is set (the API server defaults it, with
  // partition 0), so a finished rollout usually reads "partitioned roll out complete".
  if (strategy.rollingUpdate) {
    const partition = strategy.rollingUpdate.partition;
    if (replicas !== undefined && typeof partition === 'number') {
      const want = replicas - partition;
      if (n(s.updatedReplicas) < want) {
        return `Waiting for partitioned roll out to finish: ${n(
          s.updatedReplicas,
        )} out of ${want} new pods have been updated...`;
      }
    }
    return `partitioned roll out complete: ${n(
      s.updatedReplicas,
    )} new pods have been updated...`;
  }
  if (s.updateRevision !== s.currentRevision) {
    return `waiting for statefulset rolling update to complete ${n(
      s.updatedReplicas,
    )} pods at revision ${s.updateRevision}...`;
  }
  return `statefulset rolling update complete ${n(
    s.currentReplicas,
  )} pods at revision ${s.currentRevision}...`;
}
