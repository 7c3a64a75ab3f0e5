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
export {
  KubechartManifestsReviewFieldExtension,
  KubechartTypedConfirmationFieldExtension,
  KubechartYamlValuesFieldExtension,
} from './components/ScaffolderFields/legacy';
export {
  ManifestsReviewField,
  TypedConfirmationField,
  YamlValuesField,
  generateWorkloadManifests,
} from './components/ScaffolderFields';
export type {
  ManifestsReviewOptions,
  TypedConfirmationOptions,
  WorkloadForm,
} from './components/ScaffolderFields';
export { isKubechartAvailable } from './lib/entity';
export { KubechartClient, kubechartApiRef } from './api';
export type { KubechartApi, ListDriftQuery, ListRunsQuery } from './api';
export { kubechartTranslationRef } from './translation';
