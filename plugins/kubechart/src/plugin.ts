import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { createCardExtension } from '@backstage/plugin-home-react';
import { KubechartClient, kubechartApiRef } from './api';
import { runRouteRef, tenantsRouteRef } from './routes';

/**
 * The kubechart plugin for apps on the legacy frontend system.
 * @public
 */
export const kubechartPlugin = createPlugin({
  id: 'kubechart',
  apis: [
    createApiFactory({
      api: kubechartApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new KubechartClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { tenants: tenantsRouteRef, run: runRouteRef },
});

/**
 * The deployment-history tab; put it in an `EntityLayout.Route` with `if={isKubechartAvailable}`.
 * @public
 */
export const EntityDeploymentHistoryContent = kubechartPlugin.provide(
  createComponentExtension({
    name: 'EntityDeploymentHistoryContent',
    component: {
      lazy: () =>
        import('./components/EntityDeploymentHistoryContent').then(
          m => m.EntityDeploymentHistoryContent,
        ),
    },
  }),
);

/**
 * The cluster (or tenant) health card of an entity.
 * @public
 */
export const EntityClusterHealthCard = kubechartPlugin.provide(
  createComponentExtension({
    name: 'EntityClusterHealthCard',
    component: {
      lazy: () =>
        import('./components/EntityClusterHealthCard').then(
          m => m.EntityClusterHealthCard,
        ),
    },
  }),
);

/**
 * Health of every cluster in an info card, for any page.
 * @public
 */
export const ClusterHealthCard = kubechartPlugin.provide(
  createComponentExtension({
    name: 'ClusterHealthCard',
    component: {
      lazy: () =>
        import('./components/ClusterHealthCard').then(m => m.ClusterHealthCard),
    },
  }),
);

/**
 * Health of every cluster as a card of the customizable home page.
 * @public
 */
export const HomePageClusterHealthCard = kubechartPlugin.provide(
  createCardExtension({
    name: 'HomePageClusterHealthCard',
    title: 'Cluster health',
    components: () =>
      import('./components/ClusterHealthCard').then(m => ({
        Content: m.ClusterHealthContent,
      })),
  }),
);

/**
 * Open approval requests the signed-in user may decide on, and the user's own, in an info card
 * for any page.
 * @public
 */
export const ApprovalsCard = kubechartPlugin.provide(
  createComponentExtension({
    name: 'ApprovalsCard',
    component: {
      lazy: () =>
        import('./components/ApprovalsCard').then(m => m.ApprovalsCard),
    },
  }),
);

/**
 * Open approval requests for the signed-in user as a card of the customizable home page.
 * @public
 */
export const HomePageApprovalsCard = kubechartPlugin.provide(
  createCardExtension({
    name: 'HomePageApprovalsCard',
    title: 'Approvals',
    components: () =>
      import('./components/ApprovalsCard').then(m => ({
        Content: m.ApprovalsContent,
      })),
  }),
);

/**
 * The tenants page; mount it at e.g. `/kubechart/tenants`.
 * @public
 */
export const TenantsPage = kubechartPlugin.provide(
  createRoutableExtension({
    name: 'TenantsPage',
    component: () =>
      import('./components/TenantsPage').then(m => m.TenantsPage),
    mountPoint: tenantsRouteRef,
  }),
);

/**
 * A run on a page of its own, reading `?run=<id>`; mount it at `/kubechart/runs`, where approval
 * requests and notifications link.
 * @public
 */
export const RunPage = kubechartPlugin.provide(
  createRoutableExtension({
    name: 'RunPage',
    component: () => import('./components/RunPage').then(m => m.RunPage),
    mountPoint: runRouteRef,
  }),
);
