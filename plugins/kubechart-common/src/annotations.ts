/**
 * Label put on every tenant namespace (and the objects kubechart creates in it); value is the tenant code.
 * @public
 */
export const KUBECHART_TENANT_LABEL = 'kubechart.io/tenant';

/**
 * Catalog annotation naming the Helm release an entity corresponds to.
 * @public
 */
export const KUBECHART_RELEASE_ANNOTATION = 'kubechart.io/release';

/**
 * Catalog annotation naming the cluster (from `kubernetes.clusterLocatorMethods`) an entity is deployed to.
 * @public
 */
export const KUBECHART_CLUSTER_ANNOTATION = 'kubechart.io/cluster';

/**
 * Catalog annotation naming the tenant code of an entity.
 * @public
 */
export const KUBECHART_TENANT_ANNOTATION = 'kubechart.io/tenant';

/**
 * Catalog annotation naming the namespace of an entity's release.
 * @public
 */
export const KUBECHART_NAMESPACE_ANNOTATION = 'kubechart.io/namespace';

/**
 * The standard `app.kubernetes.io/managed-by` label and the value kubechart sets.
 * @public
 */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** @public */
export const MANAGED_BY_VALUE = 'kubechart';

/**
 * Label put on objects that belong to one release of a tenant.
 * @public
 */
export const KUBECHART_RELEASE_LABEL = 'kubechart.io/release';

/**
 * Name of the per-tenant Secret that holds generated credentials.
 * @public
 */
export const TENANT_CREDENTIALS_SECRET = 'kubechart-tenant-credentials';
