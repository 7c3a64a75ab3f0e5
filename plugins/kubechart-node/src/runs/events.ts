/**
 * Topic of Backstage's events service on which the kubechart backend tells other plugins that a
 * tenant changed: a tenant run was created or ended. The catalog module refreshes its tenant
 * entities on it, so a provisioned tenant's entity does not wait for the next scheduled refresh.
 * Payload: {@link KubechartTenantChangedEvent}.
 * @public
 */
export const KUBECHART_TENANTS_TOPIC = 'kubechart.tenants';

/**
 * Payload of {@link KUBECHART_TENANTS_TOPIC}. It names the tenant only; subscribers read the
 * tenant itself through the kubechart API.
 * @public
 */
export type KubechartTenantChangedEvent = {
  cluster: string;
  tenant: string;
  runId: string;
  status: string;
};
