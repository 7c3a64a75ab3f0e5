import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { kubechartPlugin } from '../../plugin';
import {
  manifestsReviewFieldOptions,
  typedConfirmationFieldOptions,
  yamlValuesFieldOptions,
} from './fields';

/**
 * The manifests review field for apps on the legacy frontend system: put it inside
 * `<ScaffolderFieldExtensions>` of the scaffolder route.
 * @public
 */
export const KubechartManifestsReviewFieldExtension = kubechartPlugin.provide(
  createScaffolderFieldExtension(manifestsReviewFieldOptions),
);

/**
 * The typed-name confirmation field for apps on the legacy frontend system.
 * @public
 */
export const KubechartTypedConfirmationFieldExtension = kubechartPlugin.provide(
  createScaffolderFieldExtension(typedConfirmationFieldOptions),
);

/**
 * The YAML values field for apps on the legacy frontend system.
 * @public
 */
export const KubechartYamlValuesFieldExtension = kubechartPlugin.provide(
  createScaffolderFieldExtension(yamlValuesFieldOptions),
);
