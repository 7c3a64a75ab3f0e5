import type { WorkloadHealth } from '@kubechart/plugin-kubechart-common';
import {
  V1DaemonSet,
  V1Deployment,
  V1Node,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { parseCpu, parseMemory } from './quantity';

/** A workload with fewer ready replicas than it asks for. */
export interface WorkloadBehind {
  kind: WorkloadHealth['kind'];
  namespace: string;
  name: string;
  ready: number;
  desired: number;
  /** Its pods' labels (spec.selector.matchLabels), to find a failing pod of it. */
  selector: Record<string, string>;
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

/** Ready and desired replicas of a workload, as cluster health counts them. */
export function workloadReplicas(
  kind: WorkloadHealth['kind'],
  obj: V1Deployment | V1StatefulSet | V1DaemonSet,
): { ready: number; desired: number } {
  if (kind === 'DaemonSet') {
    const status = (obj as V1DaemonSet).status;
    return {
      ready: status?.numberReady ?? 0,
      desired: status?.desiredNumberScheduled ?? 0,
    };
  }
  const { spec, status } = obj as V1Deployment | V1StatefulSet;
  return { ready: status?.readyReplicas ?? 0, desired: spec?.replicas ?? 1 };
}

/**
 * Workload figures kept up to date from the deployment, statefulset and daemonset informers' events,
 * so a health answer costs the workloads that are behind, not every workload of the cluster: how many
 * there are, and those with fewer ready replicas than desired.
 */
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
    const { ready, desired } = workloadReplicas(kind, obj);
    this.all.add(key);
    if (ready < desired) {
      this.behind.set(key, {
        kind,
        namespace: obj.metadata?.namespace ?? '',
        name: obj.metadata?.name ?? '',
        ready,
        desired,
        selector: obj.spec?.selector?.matchLabels ?? {},
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
  /** Allocatable CPU in nanocores and memory in bytes (integers, so sums do not drift). */
  cpu: number;
  memory: number;
}

/**
 * Node figures kept up to date from the node informer's events: how many nodes are Ready, the
 * names of those that are not, and the allocatable CPU and memory of all of them.
 */
export class NodeAggregates {
  private readonly shares = new Map<string, NodeShare>();
  private readonly notReady = new Set<string>();
  private sortedNotReady?: string[];
  private cpuNanos = 0;
  private memoryBytes = 0;

  /** Adds a node, or replaces what an earlier version of it contributed. */
  set(node: V1Node): void {
    this.remove(node);
    const name = node.metadata?.name ?? '';
    const share: NodeShare = {
      ready: !!node.status?.conditions?.some(
        c => c.type === 'Ready' && c.status === 'True',
      ),
      cpu: Math.round(parseCpu(node.status?.allocatable?.cpu) * 1e9),
      memory: Math.round(parseMemory(node.status?.allocatable?.memory)),
    };
    this.shares.set(name, share);
    this.cpuNanos += share.cpu;
    this.memoryBytes += share.memory;
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
    this.cpuNanos -= share.cpu;
    this.memoryBytes -= share.memory;
    if (this.notReady.delete(name)) this.sortedNotReady = undefined;
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

  /** Allocatable CPU (cores) and memory (bytes) of every node. */
  allocatable(): { cpu: number; memory: number } {
    return { cpu: this.cpuNanos / 1e9, memory: this.memoryBytes };
  }
}
