import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';

/** The namespaces whose detail a caller may see: every one, or those it may read. */
export type VisibleNamespaces = 'all' | ReadonlySet<string>;

/**
 * The namespaces a cluster health answer names in its workloads and alerts: those a caller's
 * scope is asked about.
 */
export function namespacesNamed(health: ClusterHealth): Set<string> {
  return new Set([
    ...health.workloads.items.map(w => w.namespace),
    ...health.alerts.flatMap(a => (a.namespace ? [a.namespace] : [])),
  ]);
}

/**
 * A cluster health answer as a caller may see it. The cache computes one answer for every caller
 * of a cluster; its counts (nodes, workloads, `alertsTotal`) name nothing and stay the cluster's,
 * while the workloads and alerts it names are kept only in namespaces the caller may read: a
 * workload's name and reason, a failing pod's name and an event's message as written belong to
 * the namespace's tenant. An alert without a namespace is kept when it is about a Node (not Ready,
 * or a warning event about one); about any other cluster-scoped object (a Namespace, a
 * PersistentVolume) its object or message can name a tenant's namespace or claim, so only a
 * caller who may read every namespace sees it. `workloads.hidden` and `alertsHidden` say how many
 * were left out, so that a reader is told they exist.
 */
export function clusterHealthFor(
  health: ClusterHealth,
  visible: VisibleNamespaces,
): ClusterHealth {
  if (visible === 'all')
    return {
      ...health,
      workloads: { ...health.workloads, hidden: 0 },
      alertsHidden: 0,
    };
  const items = health.workloads.items.filter(w => visible.has(w.namespace));
  const alerts = health.alerts.filter(a =>
    a.namespace ? visible.has(a.namespace) : a.object.startsWith('Node/'),
  );
  return {
    ...health,
    workloads: {
      ...health.workloads,
      items,
      hidden: health.workloads.items.length - items.length,
    },
    alerts,
    alertsHidden: health.alerts.length - alerts.length,
  };
}
