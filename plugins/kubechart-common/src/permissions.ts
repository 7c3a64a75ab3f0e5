import { createPermission } from '@backstage/plugin-permission-common';

/**
 * The resource type of kubechart's read permissions: the catalog entity a run or tenant belongs
 * to, so a permission policy can use the catalog's rules (`IS_ENTITY_OWNER`, …) on them.
 * Equal to `RESOURCE_TYPE_CATALOG_ENTITY` of `@backstage/plugin-catalog-common`.
 * @public
 */
export const KUBECHART_READ_RESOURCE_TYPE = 'catalog-entity';

/**
 * Read runs (deployment history), their events, values, manifests and diffs. A resource
 * permission on the run's catalog entity: a policy may allow it outright, deny it, or answer with
 * catalog conditions (e.g. owners only). A run without an entity is then visible to its actor only.
 * @public
 */
export const kubechartRunsReadPermission = createPermission({
  name: 'kubechart.runs.read',
  attributes: { action: 'read' },
  resourceType: KUBECHART_READ_RESOURCE_TYPE,
});

/**
 * Read tenants, their recent runs and health. A resource permission on the tenant's catalog
 * entity, like {@link kubechartRunsReadPermission}; a conditional decision hides tenants without one.
 * @public
 */
export const kubechartTenantsReadPermission = createPermission({
  name: 'kubechart.tenants.read',
  attributes: { action: 'read' },
  resourceType: KUBECHART_READ_RESOURCE_TYPE,
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
 * Approve or reject a run awaiting approval on a protected target. Holding it is not enough: the
 * caller must also be one of the target's approvers (`kubechart.approvals`), and never the requester.
 * @public
 */
export const kubechartRunsApprovePermission = createPermission({
  name: 'kubechart.runs.approve',
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
 * Apply the cluster-scoped kinds a cluster allows (`kubechart.clusters.<name>.allowedClusterScopedKinds`).
 * Not implied by `kubechart.runs.create`: without it every cluster-scoped object of a run is refused.
 * @public
 */
export const kubechartRunsClusterScopedPermission = createPermission({
  name: 'kubechart.runs.cluster-scoped',
  attributes: { action: 'create' },
});

/**
 * Update or delete a tenant owned by someone else (re-submitting its code with other settings).
 * @public
 */
export const kubechartTenantsAdminPermission = createPermission({
  name: 'kubechart.tenants.admin',
  attributes: { action: 'update' },
});

/**
 * Every permission of the kubechart plugin, for registration with the permission framework.
 * @public
 */
export const kubechartPermissions = [
  kubechartRunsReadPermission,
  kubechartTenantsReadPermission,
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
  kubechartRunsApprovePermission,
  kubechartClustersReadPermission,
  kubechartRunsClusterScopedPermission,
  kubechartTenantsAdminPermission,
];
