import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Read runs (deployment history), their events and diffs, tenants and metrics.
 * @public
 */
export const kubechartRunsReadPermission = createPermission({
  name: 'kubechart.runs.read',
  attributes: { action: 'read' },
});

/**
 * Start a run: provision or delete a tenant, install a chart, apply manifests.
 * @public
 */
export const kubechartRunsCreatePermission = createPermission({
  name: 'kubechart.runs.create',
  attributes: { action: 'create' },
});

/**
 * Roll a Helm release back to a revision recorded by an earlier run.
 * @public
 */
export const kubechartRunsRollbackPermission = createPermission({
  name: 'kubechart.runs.rollback',
  attributes: { action: 'update' },
});

/**
 * Read the configured clusters and their health.
 * @public
 */
export const kubechartClustersReadPermission = createPermission({
  name: 'kubechart.clusters.read',
  attributes: { action: 'read' },
});

/**
 * Every permission of the kubechart plugin, for registration with the permission framework.
 * @public
 */
export const kubechartPermissions = [
  kubechartRunsReadPermission,
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
  kubechartClustersReadPermission,
];
