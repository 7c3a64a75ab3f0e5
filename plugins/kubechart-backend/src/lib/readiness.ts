import { V1Pod } from '@kubernetes/client-node';
import { NamespaceSnapshot } from './KubeClient';

/** Container waiting reasons that do not fix themselves. */
export const FAILING_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export type WorkloadState = {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  namespace: string;
  name: string;
  release?: string;
  ready: number;
  desired: number;
  isReady: boolean;
  /** Pod waiting reasons, e.g. `pod web-1 container web: CrashLoopBackOff (…)`. */
  problems: string[];
  /** Whether a problem has a failing reason (crash loop, image pull…). */
  failing: boolean;
  pods: V1Pod[];
};

export type NamespaceReadiness = {
  workloads: WorkloadState[];
  allReady: boolean;
  /** Warning events, newest first, as `Kind/name: Reason: message`. */
  warnings: string[];
};

const RELEASE_ANNOTATION = 'meta.helm.sh/release-name';

function podsMatching(pods: V1Pod[], selector?: Record<string, string>): V1Pod[] {
  if (!selector || Object.keys(selector).length === 0) return [];
  return pods.filter(p => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v));
}

/** Pod waiting reasons of a pod, as text. */
export function podProblems(pod: V1Pod): { text: string[]; failing: boolean } {
  const text: string[] = [];
  let failing = false;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      failing ||= FAILING_REASONS.has(waiting.reason);
      text.push(
        `pod ${pod.metadata?.name} container ${cs.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}${cs.restartCount ? `, ${cs.restartCount} restarts` : ''}`,
      );
    }
  }
  if (pod.status?.phase === 'Pending' && statuses.length === 0) {
    const cond = pod.status?.conditions?.find(c => c.type === 'PodScheduled' && c.status === 'False');
    if (cond) text.push(`pod ${pod.metadata?.name}: ${cond.reason ?? 'Unschedulable'}${cond.message ? ` (${cond.message})` : ''}`);
  }
  return { text, failing };
}

/** Readiness of every workload of a namespace (optionally only those of one Helm release). */
export function evaluateNamespace(snapshot: NamespaceSnapshot, options: { release?: string } = {}): NamespaceReadiness {
  const workloads: WorkloadState[] = [];
  const add = (kind: WorkloadState['kind'], obj: any, ready: number, desired: number, upToDate: boolean) => {
    const release = obj.metadata?.annotations?.[RELEASE_ANNOTATION];
    if (options.release && release !== options.release) return;
    const pods = podsMatching(snapshot.pods, obj.spec?.selector?.matchLabels);
    const problems: string[] = [];
    let failing = false;
    for (const p of pods) {
      const pp = podProblems(p);
      problems.push(...pp.text);
      failing ||= pp.failing;
    }
    workloads.push({
      kind,
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name,
      release,
      ready,
      desired,
      isReady: ready >= desired && upToDate,
      problems,
      failing,
      pods,
    });
  };
  for (const d of snapshot.deployments) {
    const desired = d.spec?.replicas ?? 1;
    const observed = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    add('Deployment', d, d.status?.readyReplicas ?? 0, desired, observed && (d.status?.updatedReplicas ?? 0) >= desired);
  }
  for (const s of snapshot.statefulSets) {
    add('StatefulSet', s, s.status?.readyReplicas ?? 0, s.spec?.replicas ?? 1, true);
  }
  for (const ds of snapshot.daemonSets) {
    add('DaemonSet', ds, ds.status?.numberReady ?? 0, ds.status?.desiredNumberScheduled ?? 0, true);
  }
  const warnings = [...snapshot.warnings]
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')))
    .map(e => `${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.reason}: ${e.message}`);
  return { workloads, allReady: workloads.every(w => w.isReady), warnings };
}

/** A one-paragraph explanation of what is not ready, for failure reasons. */
export function describeNotReady(r: NamespaceReadiness, maxWarnings = 5): string {
  const parts: string[] = [];
  for (const w of r.workloads.filter(x => !x.isReady)) {
    parts.push(
      `${w.kind} ${w.name}${w.release ? ` (release ${w.release})` : ''}: ${w.ready}/${w.desired} ready${w.problems.length ? `; ${w.problems.slice(0, 3).join('; ')}` : ''}`,
    );
  }
  const warnings = [...new Set(r.warnings)].slice(0, maxWarnings);
  if (warnings.length) parts.push(`Warning events: ${warnings.join(' | ')}`);
  return parts.join('. ');
}
