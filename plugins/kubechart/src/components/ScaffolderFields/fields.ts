import {
  YAML_VALUES_FIELD,
  YamlValuesField,
  yamlValuesValidation,
} from './YamlValuesField';
import {
  MANIFESTS_REVIEW_FIELD,
  ManifestsReviewField,
  manifestsReviewValidation,
} from './ManifestsReviewField';
import {
  TYPED_CONFIRMATION_FIELD,
  TypedConfirmationField,
  typedConfirmationValidation,
} from './TypedConfirmationField';

/** The options of both field extensions, shared by the legacy and the new frontend system. */
export const manifestsReviewFieldOptions = {
  name: MANIFESTS_REVIEW_FIELD,
  component: ManifestsReviewField,
  validation: manifestsReviewValidation,
};

export const typedConfirmationFieldOptions = {
  name: TYPED_CONFIRMATION_FIELD,
  component: TypedConfirmationField,
  validation: typedConfirmationValidation,
};

export const yamlValuesFieldOptions = {
  name: YAML_VALUES_FIELD,
  component: YamlValuesField,
  validation: yamlValuesValidation,
};
