import {
  ApiBlueprint,
  AppRootElementBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { HomePageWidgetBlueprint } from '@backstage/plugin-home-react/alpha';
import ChatIcon from '@material-ui/icons/Chat';
import { AssistantClient, assistantApiRef } from './api';
import { AssistantLauncher } from './components/AssistantLauncher';
import { rootRouteRef } from './routes';

export { assistantTranslationRef } from './translation';

/** @alpha */
export const kubeAssistantApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: assistantApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new AssistantClient({ discoveryApi, fetchApi }),
    }),
});

/** The assistant on its own page at /kube-assistant. @alpha */
export const kubeAssistantPage = PageBlueprint.make({
  params: {
    path: '/kube-assistant',
    title: 'Kubernetes assistant',
    icon: <ChatIcon />,
    routeRef: rootRouteRef,
    // The app's standard page header (as on every page) above the widget; AssistantPage, with a
    // header of its own, is for legacy apps.
    loader: () =>
      import('./components/AssistantPage').then(m => (
        <m.AssistantPageContent />
      )),
  },
});

/** A home page card. @alpha */
export const kubeAssistantHomeWidget = HomePageWidgetBlueprint.make({
  params: {
    title: 'Kubernetes assistant',
    description:
      'Ask about your workloads in plain language and run the kubectl-equivalent command.',
    components: () => import('./components/HomePageAssistant'),
    layout: { width: { defaultColumns: 6 }, height: { defaultRows: 4 } },
  },
});

/** An entity card scoped to the entity's Kubernetes workloads. @alpha */
export const kubeAssistantEntityCard = EntityCardBlueprint.make({
  params: {
    filter: entity =>
      Boolean(
        entity.metadata.annotations?.['backstage.io/kubernetes-id'] ||
          entity.metadata.annotations?.[
            'backstage.io/kubernetes-label-selector'
          ],
      ),
    loader: () =>
      import('./components/EntityAssistantCard').then(m => (
        <m.EntityAssistantCard />
      )),
  },
});

/**
 * A slim launcher tab on the right edge of every page, shown once signed in. Disabled by default:
 * an app with its own sidebar puts `AssistantSidebarItem` there instead, so nothing floats over
 * page content; enable it with `app-root-element:kube-assistant: true`. @alpha
 */
export const kubeAssistantLauncher = AppRootElementBlueprint.make({
  disabled: true,
  params: { element: <AssistantLauncher /> },
});

/**
 * The Kubernetes assistant for the new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'kube-assistant',
  title: 'Kubernetes assistant',
  icon: <ChatIcon />,
  routes: { root: rootRouteRef },
  extensions: [
    kubeAssistantApi,
    kubeAssistantPage,
    kubeAssistantHomeWidget,
    kubeAssistantEntityCard,
    kubeAssistantLauncher,
  ],
});
