/**
 * KubeChart frontend plugin: deployment history, cluster and tenant health, tenants page.
 *
 * @packageDocumentation
 */
export {
  kubechartPlugin,
  EntityDeploymentHistoryContent,
  EntityClusterHealthCard,
  ClusterHealthCard,
  HomePageClusterHealthCard,
  TenantsPage,
} from './plugin';
export { isKubechartAvailable } from './lib/entity';
export { KubechartClient, kubechartApiRef } from './api';
export type { KubechartApi, ListRunsQuery } from './api';
export { kubechartTranslationRef } from './translation';
