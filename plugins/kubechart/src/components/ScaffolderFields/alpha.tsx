import {
  FormFieldBlueprint,
  createFormField,
} from '@backstage/plugin-scaffolder-react/alpha';

/** The manifests review field (`ui:field: KubechartManifestsReview`) for the new frontend system. */
export const manifestsReviewFormField = FormFieldBlueprint.make({
  name: 'manifests-review',
  params: {
    field: () =>
      import('./fields').then(m =>
        createFormField(m.manifestsReviewFieldOptions),
      ),
  },
});

/** The typed-name confirmation field (`ui:field: KubechartTypedConfirmation`) for the new frontend system. */
export const typedConfirmationFormField = FormFieldBlueprint.make({
  name: 'typed-confirmation',
  params: {
    field: () =>
      import('./fields').then(m =>
        createFormField(m.typedConfirmationFieldOptions),
      ),
  },
});

/** Helm values typed as YAML, kept as an object (`ui:field: KubechartYamlValues`), for the new frontend system. */
export const yamlValuesFormField = FormFieldBlueprint.make({
  name: 'yaml-values',
  params: {
    field: () =>
      import('./fields').then(m => createFormField(m.yamlValuesFieldOptions)),
  },
});
