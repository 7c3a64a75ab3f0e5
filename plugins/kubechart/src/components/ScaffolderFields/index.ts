export {
  ManifestsReviewField,
  MANIFESTS_REVIEW_FIELD,
} from './ManifestsReviewField';
export type { ManifestsReviewOptions } from './ManifestsReviewField';
export {
  TypedConfirmationField,
  TYPED_CONFIRMATION_FIELD,
} from './TypedConfirmationField';
export { YamlValuesField, YAML_VALUES_FIELD } from './YamlValuesField';
export type { TypedConfirmationOptions } from './TypedConfirmationField';
export { generateWorkloadManifests } from './workloadManifests';
export type { WorkloadForm } from './workloadManifests';
