import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { createCardExtension } from '@backstage/plugin-home-react';
import { AssistantClient, assistantApiRef } from './api';
import { rootRouteRef } from './routes';

/**
 * The Kubernetes assistant for apps on the legacy frontend system.
 *
 * @public
 */
export const assistantPlugin = createPlugin({
  id: 'kube-assistant',
  routes: { root: rootRouteRef },
  apis: [
    createApiFactory({
      api: assistantApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new AssistantClient({ discoveryApi, fetchApi }),
    }),
  ],
});

/** `<Route path="/kube-assistant" element={<KubeAssistantPage />} />` @public */
export const KubeAssistantPage = assistantPlugin.provide(
  createRoutableExtension({
    name: 'KubeAssistantPage',
    component: () =>
      import('./components/AssistantPage').then(m => m.AssistantPage),
    mountPoint: rootRouteRef,
  }),
);

/** For the entity page's overview grid. @public */
export const EntityKubeAssistantCard = assistantPlugin.provide(
  createComponentExtension({
    name: 'EntityKubeAssistantCard',
    component: {
      lazy: () =>
        import('./components/EntityAssistantCard').then(
          m => m.EntityAssistantCard,
        ),
    },
  }),
);

/** A floating button that opens the assistant; render it once in the app root. @public */
export const KubeAssistantLauncher = assistantPlugin.provide(
  createComponentExtension({
    name: 'KubeAssistantLauncher',
    component: {
      lazy: () =>
        import('./components/AssistantLauncher').then(m => m.AssistantLauncher),
    },
  }),
);

/** A card for the legacy home page. @public */
export const HomePageKubeAssistant = assistantPlugin.provide(
  createCardExtension({
    name: 'HomePageKubeAssistant',
    title: 'Kubernetes assistant',
    components: () => import('./components/HomePageAssistant'),
  }),
);
