/**
 * Signal channel on which changes of a single run are published.
 * Message: {@link RunSignal}.
 * @public
 */
export const runSignalChannel = (runId: string) => `kubechart:run:${runId}`;

/**
 * Signal channel on which every run status change is told, to every signed-in user (approval lists
 * listen here). Message: {@link RefetchSignal}: it names no run, status, entity, tenant, namespace or
 * cluster; what changed is read through the API, which checks who may read it.
 * @public
 */
export const KUBECHART_RUNS_CHANNEL = 'kubechart:runs';

/**
 * Signal channel on which a change of one catalog entity's runs is told (its deployment history
 * listens here). Message: {@link RefetchSignal}: which run changed, and how, is read through the API.
 * @public
 */
export const entityRunsSignalChannel = (entityRef: string) =>
  `kubechart:runs:${entityRef}`;

/**
 * Signal channel on which a change of some cluster's health status is told, to every signed-in user
 * (also to one who may not read clusters). Message: {@link RefetchSignal}: it names no cluster and no
 * status; the health is read through the API, which checks who may read it.
 * @public
 */
export const KUBECHART_CLUSTER_HEALTH_CHANNEL = 'kubechart:cluster-health';

/**
 * Signal channel on which a change of some tenant (one of its tenant runs ended) is told, naming no
 * tenant. Message: {@link RefetchSignal}.
 * @public
 */
export const KUBECHART_TENANT_HEALTH_CHANNEL = 'kubechart:tenant-health';

/**
 * Signal channel on which a change of one tenant (one of its tenant runs ended) is told (its page
 * listens here). Message: {@link RefetchSignal}: its health is read through the API.
 * @public
 */
export const tenantHealthSignalChannel = (tenant: string) =>
  `kubechart:tenant-health:${tenant}`;

/**
 * Signal channel on which every drift status change is told, to every signed-in user.
 * Message: {@link RefetchSignal}: it names no run, status, entity or target; the drift is read
 * through the API.
 * @public
 */
export const KUBECHART_DRIFT_CHANNEL = 'kubechart:drift';

/**
 * Signal channel on which a change of the drift of one catalog entity's runs is told (its drift
 * panel listens here). Message: {@link RefetchSignal}: the drift is read through the API.
 * @public
 */
export const entityDriftSignalChannel = (entityRef: string) =>
  `kubechart:drift:${entityRef}`;

/**
 * What a channel named for one tenant or entity carries: only that what it shows changed, to be
 * fetched again through the API, which checks who may read it. Backstage delivers a signal to every
 * signed-in user who subscribes to its channel, whose name anyone can spell: it tells nothing of
 * what changed (no run, status or outcome).
 * @public
 */
export type RefetchSignal = { type: 'refetch' };

/**
 * @public
 * @deprecated No channel carries it any more: `kubechart:drift` and the entity drift channels carry
 * a {@link RefetchSignal}, as a run's drift status told to every signed-in user told who may not
 * read the run how it went.
 */
export type DriftSignal = {
  type: 'drift-changed';
  runId: string;
  status: 'in-sync' | 'drifted' | 'unknown';
};

/**
 * What the channel of one run ({@link runSignalChannel}) carries: heard only by who names the run's
 * id. The common channel {@link KUBECHART_RUNS_CHANNEL} carries a {@link RefetchSignal}.
 * @public
 */
export type RunSignal = {
  type: 'run-updated';
  runId: string;
  status: string;
};

/**
 * @public
 * @deprecated No channel carries it any more: `kubechart:cluster-health` carries a
 * {@link RefetchSignal}, as cluster names and statuses told to every signed-in user told them to
 * users whose policy denies `kubechart.clusters.read`.
 */
export type ClusterHealthSignal = {
  type: 'cluster-health';
  cluster: string;
  status: 'ok' | 'degraded' | 'error';
};

/**
 * @public
 * @deprecated The tenant health channels carry a {@link RefetchSignal}: a tenant run that ended
 * says nothing about the tenant's health, and the tenant's own channel is heard by whoever names it.
 */
export type TenantHealthSignal = RefetchSignal;
