import type {
  ClusterHealth,
  HealthAlert,
} from '@kubechart/plugin-kubechart-common';
import {
  MAX_ALERTS,
  MAX_WARNINGS,
  MAX_WORKLOAD_ITEMS,
  healthDetail,
} from '../health/healthDetail';

/** The namespaces whose detail a caller may see: every one, or those it may read. */
export type VisibleNamespaces = 'all' | ReadonlySet<string>;

/**
 * The namespaces a cluster health answer names in its workloads and alerts: those a caller's
 * scope is asked about.
 */
export function namespacesNamed(health: ClusterHealth): Set<string> {
  const detail = healthDetail(health);
  const alerts = detail
    ? [...detail.nodeAlerts, ...detail.failing, ...detail.warnings]
    : health.alerts;
  return new Set([
    ...(detail?.items ?? health.workloads.items).map(w => w.namespace),
    ...alerts.flatMap(a => (a.namespace ? [a.namespace] : [])),
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
 * caller who may read every namespace sees it. What the caller may see is chosen before the
 * answer's caps (of an answer the cache computed, see {@link healthDetail}): the worst workloads
 * and first alerts of the caller's namespaces, however many other namespaces have.
 * `workloads.hidden` and `alertsHidden` say how many were left out (of as many per namespace as
 * an answer names), so that a reader is told they exist.
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
  const seen = (a: HealthAlert) =>
    a.namespace ? visible.has(a.namespace) : a.object.startsWith('Node/');
  const detail = healthDetail(health);
  if (!detail) {
    const items = health.workloads.items.filter(w => visible.has(w.namespace));
    const alerts = health.alerts.filter(seen);
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
  const items = detail.items.filter(w => visible.has(w.namespace));
  const nodeAlerts = detail.nodeAlerts.filter(seen);
  const failing = detail.failing.filter(seen);
  const warnings = detail.warnings.filter(seen);
  // Capped as the cluster's answer is: failing pods, then the newest warnings, then in all.
  const alerts = [
    ...nodeAlerts,
    ...failing.slice(0, MAX_ALERTS),
    ...warnings.slice(0, MAX_WARNINGS),
  ].slice(0, MAX_ALERTS);
  const named =
    detail.nodeAlerts.length + detail.failing.length + detail.warnings.length;
  return {
    ...health,
    workloads: {
      ...health.workloads,
      items: items.slice(0, MAX_WORKLOAD_ITEMS),
      hidden: detail.items.length - items.length,
    },
    alerts,
    alertsHidden:
      named - (nodeAlerts.length + failing.length + warnings.length),
  };
}
