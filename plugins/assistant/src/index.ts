/**
 * The Kubernetes assistant widget: ask in plain language, see the kubectl
 * command, run it with the confirmation its safety level needs.
 *
 * @packageDocumentation
 */

export {
  assistantPlugin,
  KubeAssistantPage,
  EntityKubeAssistantCard,
  KubeAssistantLauncher,
  HomePageKubeAssistant,
} from './plugin';
export { AssistantClient, assistantApiRef } from './api';
export type { AssistantApi } from './api';
export { AssistantWidget } from './components/AssistantWidget';
export { AssistantSidebarItem } from './components/AssistantLauncher';
export type { AssistantWidgetProps } from './components/AssistantWidget';
export { assistantTranslationRef } from './translation';
export { rootRouteRef } from './routes';
