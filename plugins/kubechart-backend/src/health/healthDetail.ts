import type {
  ClusterHealth,
  HealthAlert,
  WorkloadHealth,
} from '@kubechart/plugin-kubechart-common';

/** Alerts an answer names. */
export const MAX_ALERTS = 50;
/** Warning events an answer names (the newest). */
export const MAX_WARNINGS = 20;
/**
 * Workloads a health answer names: the worst ones. Whoever may create workloads can leave thousands
 * behind; the answer's counts still count every one.
 */
export const MAX_WORKLOAD_ITEMS = 50;

/**
 * What a cluster health answer could name, before its caps, each list in the order the answer
 * names them and kept to as many per namespace as an answer names in all: a caller who may read
 * only some namespaces is named the first of those in its namespaces (see `clusterHealthFor`), so
 * one namespace's many failures do not crowd another's out of its owner's view.
 */
export type ClusterHealthDetail = {
  items: WorkloadHealth[];
  /** Nodes not Ready. */
  nodeAlerts: HealthAlert[];
  /** Pods with failing containers. */
  failing: HealthAlert[];
  /** Warning events, newest first. */
  warnings: HealthAlert[];
};

const details = new WeakMap<ClusterHealth, ClusterHealthDetail>();

/** Keeps the first `max` of each namespace's entries, in order. */
export function capPerNamespace<T extends { namespace?: string }>(
  list: Iterable<T>,
  max: number,
): T[] {
  const seen = new Map<string, number>();
  const kept: T[] = [];
  for (const x of list) {
    const ns = x.namespace ?? '';
    const n = seen.get(ns) ?? 0;
    if (n >= max) continue;
    seen.set(ns, n + 1);
    kept.push(x);
  }
  return kept;
}

/** Records what `health` (an answer the cache computed) could name, for per-caller views. */
export function setHealthDetail(
  health: ClusterHealth,
  detail: ClusterHealthDetail,
): void {
  details.set(health, detail);
}

/** What `health` could name before its caps; undefined for an answer the cache did not compute. */
export function healthDetail(
  health: ClusterHealth,
): ClusterHealthDetail | undefined {
  return details.get(health);
}
