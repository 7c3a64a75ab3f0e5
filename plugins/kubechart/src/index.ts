/**
 * KubeChart frontend plugin: deployment history with run approvals, cluster and tenant health,
 * tenants page, approvals card.
 *
 * @packageDocumentation
 */
export {
  kubechartPlugin,
  EntityDeploymentHistoryContent,
  EntityClusterHealthCard,
  ClusterHealthCard,
  HomePageClusterHealthCard,
  ApprovalsCard,
  HomePageApprovalsCard,
  TenantsPage,
  RunPage,
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
export {
  APPROVAL_COMMENT_MAX_LENGTH,
  KubechartClient,
  kubechartApiRef,
} from './api';
export type { KubechartApi, ListDriftQuery, ListRunsQuery } from './api';
export { kubechartTranslationRef } from './translation';
