/**
 * Signal channel on which changes of a single run are published.
 * Message: {@link RunSignal}.
 * @public
 */
export const runSignalChannel = (runId: string) => `kubechart:run:${runId}`;

/**
 * Signal channel on which every run status change is published, to every signed-in user: its
 * messages name no entity, tenant, namespace or cluster (approval lists listen here).
 * Message: {@link RunSignal}.
 * @public
 */
export const KUBECHART_RUNS_CHANNEL = 'kubechart:runs';

/**
 * Signal channel on which the status changes of one catalog entity's runs are published (its
 * deployment history listens here). Message: {@link RunSignal}.
 * @public
 */
export const entityRunsSignalChannel = (entityRef: string) =>
  `kubechart:runs:${entityRef}`;

/**
 * Signal channel on which cluster health changes are published.
 * Message: {@link ClusterHealthSignal}.
 * @public
 */
export const KUBECHART_CLUSTER_HEALTH_CHANNEL = 'kubechart:cluster-health';

/**
 * Signal channel on which tenant health changes are published, naming no tenant.
 * Message: {@link TenantHealthSignal}.
 * @public
 */
export const KUBECHART_TENANT_HEALTH_CHANNEL = 'kubechart:tenant-health';

/**
 * Signal channel on which one tenant's health changes are published (its page listens here).
 * Message: {@link TenantHealthSignal}.
 * @public
 */
export const tenantHealthSignalChannel = (tenant: string) =>
  `kubechart:tenant-health:${tenant}`;

/**
 * Signal channel on which drift status changes are published, naming no entity or target.
 * Message: {@link DriftSignal}.
 * @public
 */
export const KUBECHART_DRIFT_CHANNEL = 'kubechart:drift';

/**
 * Signal channel on which the drift of one catalog entity's runs is published (its drift panel
 * listens here). Message: {@link DriftSignal}.
 * @public
 */
export const entityDriftSignalChannel = (entityRef: string) =>
  `kubechart:drift:${entityRef}`;

/** @public */
/**
 * Signals are delivered to every subscriber of their channel, whatever it may read: they say what
 * to fetch again (through the permission-checked API), never whose it is.
 * @public
 */
export type DriftSignal = {
  type: 'drift-changed';
  runId: string;
  status: 'in-sync' | 'drifted' | 'unknown';
};

/** @public */
export type RunSignal = {
  type: 'run-updated';
  runId: string;
  status: string;
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
  status: 'healthy' | 'degraded' | 'unhealthy';
};
