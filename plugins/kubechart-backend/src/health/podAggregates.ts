import type { HealthAlert } from '@kubechart/plugin-kubechart-common';
import { V1Pod } from '@kubernetes/client-node';
import { failingCategory, podProblems } from '../lib/readiness';
import { parseCpu, parseMemory } from './quantity';

/** What one cached pod adds to its cluster's health. */
interface PodShare {
  /** Requested CPU in nanocores and memory in bytes (integers, so sums do not drift); 0 once the pod has ended. */
  cpu: number;
  memory: number;
  /** The node it is bound to (`spec.nodeName`); '' while it is on none. */
  node: string;
  /**
   * Set while a container fails (crash loop, image pull, config error…): the pod and its alert,
   * labelled by what fails (see {@link failingCategory}).
   */
  failing?: { pod: V1Pod; alert: HealthAlert };
}

// NUL sorts before any character of a name, so keys sort by namespace, then name.
const keyOf = (pod: V1Pod) =>
  `${pod.metadata?.namespace ?? ''}\u0000${pod.metadata?.name ?? ''}`;

/**
 * Cluster-wide pod figures kept up to date from the pod informer's add/update/delete events, so a
 * health answer does not walk every pod: requested CPU and memory of running pods per node, and
 * the pods with failing containers (by namespace, for workload status) with their alerts.
 */
export class PodAggregates {
  private readonly shares = new Map<string, PodShare>();
  private readonly failing = new Map<string, Map<string, V1Pod>>();
  /** Requests per node ('' for pods on none), in nanocores and bytes. */
  private readonly byNode = new Map<string, { cpu: number; memory: number }>();

  /** Adds a pod, or replaces what an earlier version of it contributed. */
  set(pod: V1Pod): void {
    this.remove(pod);
    const share: PodShare = {
      cpu: 0,
      memory: 0,
      node: pod.spec?.nodeName ?? '',
    };
    if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
      for (const c of pod.spec?.containers ?? []) {
        share.cpu += Math.round(parseCpu(c.resources?.requests?.cpu) * 1e9);
        share.memory += Math.round(parseMemory(c.resources?.requests?.memory));
      }
    }
    const problems = podProblems(pod);
    if (problems.failing) {
      const ns = pod.metadata?.namespace ?? '';
      const reason = problems.failingReason ?? 'Failing';
      share.failing = {
        pod,
        alert: {
          type: failingCategory(reason),
          namespace: ns,
          object: `Pod/${pod.metadata?.name}`,
          reason,
          message: problems.text.join('; '),
        },
      };
      let inNs = this.failing.get(ns);
      if (!inNs) this.failing.set(ns, (inNs = new Map()));
      inNs.set(keyOf(pod), pod);
    }
    this.shares.set(keyOf(pod), share);
    if (share.cpu || share.memory) {
      const onNode = this.byNode.get(share.node) ?? { cpu: 0, memory: 0 };
      onNode.cpu += share.cpu;
      onNode.memory += share.memory;
      this.byNode.set(share.node, onNode);
    }
  }

  /** Forgets a pod (deleted, or gone from a relist). */
  remove(pod: V1Pod): void {
    const key = keyOf(pod);
    const share = this.shares.get(key);
    if (!share) return;
    this.shares.delete(key);
    const onNode = this.byNode.get(share.node);
    if (onNode && (share.cpu || share.memory)) {
      onNode.cpu -= share.cpu;
      onNode.memory -= share.memory;
      if (onNode.cpu === 0 && onNode.memory === 0)
        this.byNode.delete(share.node);
    }
    if (share.failing) {
      const ns = pod.metadata?.namespace ?? '';
      const inNs = this.failing.get(ns);
      inNs?.delete(key);
      if (inNs?.size === 0) this.failing.delete(ns);
    }
  }

  /** Pods counted. */
  get size(): number {
    return this.shares.size;
  }

  /**
   * Requested CPU (cores) and memory (bytes) of the pods that have not ended: of those on a node
   * `counts` accepts and those on none yet (every pod when no `counts` is given). Costs the nodes
   * that run pods, not the pods.
   */
  requests(counts?: (node: string) => boolean): {
    cpu: number;
    memory: number;
  } {
    let cpu = 0;
    let memory = 0;
    for (const [node, r] of this.byNode) {
      if (node && counts && !counts(node)) continue;
      cpu += r.cpu;
      memory += r.memory;
    }
    return { cpu: cpu / 1e9, memory };
  }

  /** Pods of a namespace with failing containers. */
  failingIn(namespace: string): V1Pod[] {
    return [...(this.failing.get(namespace)?.values() ?? [])];
  }

  /** Alerts of every pod with failing containers, by namespace and name. */
  failingAlerts(): HealthAlert[] {
    const keys: string[] = [];
    for (const inNs of this.failing.values()) keys.push(...inNs.keys());
    return keys.sort().map(k => this.shares.get(k)!.failing!.alert);
  }
}
