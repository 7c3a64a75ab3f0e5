import LayersIcon from '@material-ui/icons/Layers';
import { Content } from '@backstage/core-components';
import {
  ApiBlueprint,
  PageBlueprint,
  createRouteRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { HomePageWidgetBlueprint } from '@backstage/plugin-home-react/alpha';
import { KubechartClient, kubechartApiRef } from '../api';
import { isKubechartAvailable } from '../lib/entity';

/** Route of the tenants page in the new frontend system. */
export const tenantsPageRouteRef = createRouteRef();

/** The kubechart API, talking to the `kubechart` backend plugin. */
export const kubechartApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: kubechartApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new KubechartClient({ discoveryApi, fetchApi }),
    }),
});

/**
 * The deployment-history tab, a top-level tab of the entity page beside the core Kubernetes tab
 * (no content group, so it is not hidden under a "Deployment" menu).
 */
export const entityDeploymentHistoryContent = EntityContentBlueprint.make({
  name: 'deployment-history',
  params: {
    path: '/deployment-history',
    title: 'Deployment history',
    filter: isKubechartAvailable,
    loader: () =>
      import('../components/EntityDeploymentHistoryContent').then(m => (
        <m.EntityDeploymentHistoryContent />
      )),
  },
});

/** The cluster (or tenant) health card on the entity overview. */
export const entityClusterHealthCard = EntityCardBlueprint.make({
  name: 'cluster-health',
  params: {
    filter: isKubechartAvailable,
    loader: () =>
      import('../components/EntityClusterHealthCard').then(m => (
        <m.EntityClusterHealthCard />
      )),
  },
});

/** The tenants page, shown in the sidebar. */
export const tenantsPage = PageBlueprint.make({
  params: {
    path: '/kubechart/tenants',
    title: 'Tenants',
    icon: <LayersIcon />,
    routeRef: tenantsPageRouteRef,
    loader: () =>
      import('../components/TenantsPage').then(m => (
        <Content>
          <m.TenantsTable />
        </Content>
      )),
  },
});

/** One run on a page of its own (`/kubechart/runs?run=<id>`), where approval requests link. Not in the sidebar. */
export const runPage = PageBlueprint.make({
  name: 'run',
  params: {
    path: '/kubechart/runs',
    loader: () => import('../components/RunPage').then(m => <m.RunPage />),
  },
});

/**
 * Health of every cluster, as a home page widget. It has no `name` param, so the home page knows it
 * by its extension id, `home-page-widget:kubechart/cluster-health` (what `page:home` defaultConfig names).
 */
export const clusterHealthHomeWidget = HomePageWidgetBlueprint.make({
  name: 'cluster-health',
  params: {
    title: 'Cluster health',
    description: 'Status, nodes, workloads and utilisation of every cluster',
    components: () =>
      import('../components/ClusterHealthCard').then(m => ({
        Content: m.ClusterHealthContent,
      })),
    layout: { height: { minRows: 4 }, width: { minColumns: 4 } },
  },
});

/**
 * Open approval requests the signed-in user may decide on, and the user's own, as a home page widget
 * (`home-page-widget:kubechart/approvals`).
 */
export const approvalsHomeWidget = HomePageWidgetBlueprint.make({
  name: 'approvals',
  params: {
    title: 'Approvals',
    description:
      'Runs against protected targets waiting for your decision, and your own requests',
    components: () =>
      import('../components/ApprovalsCard').then(m => ({
        Content: m.ApprovalsContent,
      })),
    layout: { height: { minRows: 3 }, width: { minColumns: 4 } },
  },
});
