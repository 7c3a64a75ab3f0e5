import type { WorkloadHealth } from '@kubechart/plugin-kubechart-common';
import {
  V1DaemonSet,
  V1Deployment,
  V1LabelSelector,
  V1Node,
  V1StatefulSet,
} from '@kubernetes/client-node';
import {
  daemonSetRollout,
  deploymentRollout,
  RolloutState,
  statefulSetRollout,
} from '../lib/readiness';
import { parseCpu, parseMemory } from './quantity';

/** A workload whose rollout is not complete, or with fewer ready replicas than it asks for. */
export interface WorkloadBehind {
  kind: WorkloadHealth['kind'];
  namespace: string;
  name: string;
  ready: number;
  desired: number;
  /**
   * Its selector (spec.selector's matchLabels and matchExpressions), to find a failing pod of it
   * with `podsMatching` (an empty selector, or one that cannot be read, selects none).
   */
  selector: V1LabelSelector;
  /** Why its rollout stands still or what it waits for (see {@link workloadRollout}). */
  problem?: string;
  /** The rollout cannot finish by itself: its progress deadline passed, or pods are refused. */
  stuck?: 'deadline' | 'refused';
}

// Deployments first, then StatefulSets, then DaemonSets; within a kind by namespace, then name
// (NUL sorts before any character of a name).
const KIND_ORDER: Record<WorkloadHealth['kind'], number> = {
  Deployment: 0,
  StatefulSet: 1,
  DaemonSet: 2,
};
const workloadKey = (
  kind: WorkloadHealth['kind'],
  obj: { metadata?: { namespace?: string; name?: string } },
) =>
  `${KIND_ORDER[kind]}\u0000${obj.metadata?.namespace ?? ''}\u0000${
    obj.metadata?.name ?? ''
  }`;

/** How a workload stands, as cluster and tenant health judge it. */
export interface WorkloadRollout {
  /** Ready replicas (pods) of any revision: what serves now. */
  ready: number;
  desired: number;
  /** The rollout is complete, as `kubectl rollout status` decides, and every desired replica is ready. */
  done: boolean;
  /** Why the rollout stands still (progress deadline, pods refused) or what it waits for. */
  problem?: string;
  stuck?: WorkloadBehind['stuck'];
}

/**
 * A workload's rollout state, judged as `kubectl rollout status` judges it (`lib/readiness.ts`): a
 * Deployment whose new ReplicaSet cannot create pods (quota, Pod Security admission) or whose new
 * pods never become available is not done, though every pod of its old ReplicaSet is Ready.
 */
export function workloadRollout(
  kind: WorkloadHealth['kind'],
  obj: V1Deployment | V1StatefulSet | V1DaemonSet,
): WorkloadRollout {
  let rollout: RolloutState;
  let ready: number;
  let refused: string | undefined;
  if (kind === 'DaemonSet') {
    rollout = daemonSetRollout(obj);
    ready = (obj as V1DaemonSet).status?.numberReady ?? 0;
  } else {
    rollout =
      kind === 'Deployment' ? deploymentRollout(obj) : statefulSetRollout(obj);
    ready = (obj as V1Deployment | V1StatefulSet).status?.readyReplicas ?? 0;
    // The controller moves a ReplicaSet's refused pod creations to the Deployment's conditions.
    const failure = (obj as V1Deployment).status?.conditions?.find(
      c => c.type === 'ReplicaFailure' && c.status === 'True',
    );
    if (failure)
      refused = `${failure.reason ?? 'ReplicaFailure'}: ${
        failure.message ?? 'pods could not be created'
      }`;
  }
  const { desired } = rollout;
  const done = rollout.done && !refused && ready >= desired;
  if (rollout.failed)
    return { ready, desired, done, problem: rollout.failed, stuck: 'deadline' };
  if (refused)
    return { ready, desired, done, problem: refused, stuck: 'refused' };
  return {
    ready,
    desired,
    done,
    ...(rollout.waitingFor
      ? { problem: `waiting for ${rollout.waitingFor}` }
      : {}),
  };
}

/**
 * Workload figures kept up to date from the deployment, statefulset and daemonset informers' events,
 * so a health answer costs the workloads that are behind, not every workload of the cluster: how many
 * there are, and those whose rollout is not complete (see {@link workloadRollout}).
 */
/** A workload's selector, trimmed to what selects its pods. */
function selectorOf(
  obj: V1Deployment | V1StatefulSet | V1DaemonSet,
): V1LabelSelector {
  const { matchLabels, matchExpressions } = obj.spec?.selector ?? {};
  return {
    ...(matchLabels ? { matchLabels } : {}),
    ...(matchExpressions ? { matchExpressions } : {}),
  };
}

export class WorkloadAggregates {
  /** Every workload counted. */
  private readonly all = new Set<string>();
  private readonly behind = new Map<string, WorkloadBehind>();
  private sorted?: WorkloadBehind[];

  /** Adds a workload, or replaces what an earlier version of it contributed. */
  set(
    kind: WorkloadHealth['kind'],
    obj: V1Deployment | V1StatefulSet | V1DaemonSet,
  ): void {
    const key = workloadKey(kind, obj);
    const { ready, desired, done, problem, stuck } = workloadRollout(kind, obj);
    this.all.add(key);
    if (!done) {
      this.behind.set(key, {
        kind,
        namespace: obj.metadata?.namespace ?? '',
        name: obj.metadata?.name ?? '',
        ready,
        desired,
        selector: selectorOf(obj),
        ...(problem ? { problem } : {}),
        ...(stuck ? { stuck } : {}),
      });
      this.sorted = undefined;
    } else if (this.behind.delete(key)) {
      this.sorted = undefined;
    }
  }

  /** Forgets a workload (deleted, or gone from a relist). */
  remove(
    kind: WorkloadHealth['kind'],
    obj: V1Deployment | V1StatefulSet | V1DaemonSet,
  ): void {
    const key = workloadKey(kind, obj);
    if (!this.all.delete(key)) return;
    if (this.behind.delete(key)) this.sorted = undefined;
  }

  /** Workloads counted. */
  get size(): number {
    return this.all.size;
  }

  /** Workloads behind, by kind (Deployments, StatefulSets, DaemonSets), namespace and name. */
  behindItems(): readonly WorkloadBehind[] {
    if (!this.sorted) {
      this.sorted = [...this.behind.keys()]
        .sort()
        .map(k => this.behind.get(k)!);
    }
    return this.sorted;
  }
}

/** What one node adds to its cluster's health. */
interface NodeShare {
  ready: boolean;
  /** Ready and not cordoned (`spec.unschedulable`): new pods can land on it. */
  counts: boolean;
  /** Allocatable CPU in nanocores and memory in bytes (integers, so sums do not drift). */
  cpu: number;
  memory: number;
}

/**
 * Node figures kept up to date from the node informer's events: how many nodes are Ready, the
 * names of those that are not, and the allocatable CPU and memory of those that take new pods
 * (Ready and not cordoned): a NotReady or cordoned node's capacity is not there for new pods.
 */
export class NodeAggregates {
  private readonly shares = new Map<string, NodeShare>();
  private readonly notReady = new Set<string>();
  private sortedNotReady?: string[];
  private cpuNanos = 0;
  private memoryBytes = 0;
  private excludedCount = 0;

  /** Adds a node, or replaces what an earlier version of it contributed. */
  set(node: V1Node): void {
    this.remove(node);
    const name = node.metadata?.name ?? '';
    const ready = !!node.status?.conditions?.some(
      c => c.type === 'Ready' && c.status === 'True',
    );
    const share: NodeShare = {
      ready,
      counts: ready && !node.spec?.unschedulable,
      cpu: Math.round(parseCpu(node.status?.allocatable?.cpu) * 1e9),
      memory: Math.round(parseMemory(node.status?.allocatable?.memory)),
    };
    this.shares.set(name, share);
    if (share.counts) {
      this.cpuNanos += share.cpu;
      this.memoryBytes += share.memory;
    } else this.excludedCount++;
    if (!share.ready) {
      this.notReady.add(name);
      this.sortedNotReady = undefined;
    }
  }

  /** Forgets a node (deleted, or gone from a relist). */
  remove(node: V1Node): void {
    const name = node.metadata?.name ?? '';
    const share = this.shares.get(name);
    if (!share) return;
    this.shares.delete(name);
    if (share.counts) {
      this.cpuNanos -= share.cpu;
      this.memoryBytes -= share.memory;
    } else this.excludedCount--;
    if (this.notReady.delete(name)) this.sortedNotReady = undefined;
  }

  /** Whether the node of this name is known, Ready and not cordoned: its capacity counts. */
  counts(name: string): boolean {
    return this.shares.get(name)?.counts ?? false;
  }

  /** Nodes whose capacity is left out: not Ready, or cordoned. */
  get excluded(): number {
    return this.excludedCount;
  }

  /** Nodes counted. */
  get total(): number {
    return this.shares.size;
  }

  /** Nodes whose Ready condition is True. */
  get ready(): number {
    return this.shares.size - this.notReady.size;
  }

  /** Names of the nodes that are not Ready, sorted. */
  notReadyNames(): readonly string[] {
    if (!this.sortedNotReady) this.sortedNotReady = [...this.notReady].sort();
    return this.sortedNotReady;
  }

  /** Allocatable CPU (cores) and memory (bytes) of the nodes that are Ready and not cordoned. */
  allocatable(): { cpu: number; memory: number } {
    return { cpu: this.cpuNanos / 1e9, memory: this.memoryBytes };
  }
}
