import LayersIcon from '@material-ui/icons/Layers';
import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import {
  clusterHealthHomeWidget,
  entityClusterHealthCard,
  entityDeploymentHistoryContent,
  kubechartApi,
  tenantsPage,
  tenantsPageRouteRef,
} from './extensions';

/**
 * The kubechart plugin for the new frontend system: the deployment-history entity tab, the
 * cluster health card (entity overview and home page) and the tenants page.
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'kubechart',
  title: 'KubeChart',
  icon: <LayersIcon />,
  info: { packageJson: () => import('../../package.json') },
  extensions: [
    kubechartApi,
    entityDeploymentHistoryContent,
    entityClusterHealthCard,
    tenantsPage,
    clusterHealthHomeWidget,
  ],
  routes: { tenants: tenantsPageRouteRef },
});
