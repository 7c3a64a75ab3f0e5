/**
 * Signal channel on which changes of a single run are published.
 * Message: {@link RunSignal}.
 * @public
 */
export const runSignalChannel = (runId: string) => `kubechart:run:${runId}`;

/**
 * Signal channel on which every run status change is published (history pages listen here).
 * @public
 */
export const KUBECHART_RUNS_CHANNEL = 'kubechart:runs';

/**
 * Signal channel on which cluster health changes are published.
 * Message: {@link ClusterHealthSignal}.
 * @public
 */
export const KUBECHART_CLUSTER_HEALTH_CHANNEL = 'kubechart:cluster-health';

/**
 * Signal channel on which tenant health changes are published.
 * @public
 */
export const KUBECHART_TENANT_HEALTH_CHANNEL = 'kubechart:tenant-health';

/**
 * Signal channel on which drift status changes are published.
 * Message: {@link DriftSignal}.
 * @public
 */
export const KUBECHART_DRIFT_CHANNEL = 'kubechart:drift';

/** @public */
export type DriftSignal = {
  type: 'drift-changed';
  runId: string;
  cluster: string;
  namespace: string;
  release?: string;
  entityRef?: string;
  status: 'in-sync' | 'drifted' | 'unknown';
};

/** @public */
export type RunSignal = {
  type: 'run-updated';
  runId: string;
  status: string;
  entityRef?: string;
  kind: string;
};

/** @public */
export type ClusterHealthSignal = {
  type: 'cluster-health';
  cluster: string;
  status: 'ok' | 'degraded' | 'error';
};

/** @public */
export type TenantHealthSignal = {
  type: 'tenant-health';
  cluster: string;
  tenant: string;
  status: 'healthy' | 'degraded' | 'unhealthy';
};
