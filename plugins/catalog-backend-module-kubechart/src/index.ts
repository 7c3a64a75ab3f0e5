/**
 * Catalog module that keeps one catalog entity per KubeChart tenant.
 *
 * @packageDocumentation
 */
export { catalogModuleKubechartTenants as default } from './module';
export {
  TenantEntityProvider,
  tenantToEntity,
  DEFAULT_TENANT_OWNER,
} from './TenantEntityProvider';
