import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { AssistantProvider } from './provider';

/**
 * Lets modules add providers to the `kube-assistant` backend plugin.
 *
 * @public
 */
export interface AssistantProvidersExtensionPoint {
  /**
   * Adds providers. They are tried in the order listed in
   * `kubeAssistant.providers`; providers that are not listed there are
   * tried after the listed ones, in the order they were added.
   */
  addProvider(...providers: AssistantProvider[]): void;
}

/**
 * Extension point for adding question-to-plan providers.
 *
 * @public
 */
export const assistantProvidersExtensionPoint =
  createExtensionPoint<AssistantProvidersExtensionPoint>({
    id: 'kube-assistant.providers',
  });
