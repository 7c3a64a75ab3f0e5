import LayersIcon from '@material-ui/icons/Layers';
import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import {
  approvalsHomeWidget,
  clusterHealthHomeWidget,
  entityClusterHealthCard,
  entityDeploymentHistoryContent,
  kubechartApi,
  runPage,
  tenantsPage,
  tenantsPageRouteRef,
} from './extensions';
import {
  manifestsReviewFormField,
  typedConfirmationFormField,
  yamlValuesFormField,
} from '../components/ScaffolderFields/alpha';

/**
 * The kubechart plugin for the new frontend system: the deployment-history entity tab, the
 * cluster health card (entity overview and home page), the approvals home page widget, the tenants
 * page, and the scaffolder fields that review generated manifests before Create and confirm a
 * deletion by its typed name.
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
    runPage,
    clusterHealthHomeWidget,
    approvalsHomeWidget,
    manifestsReviewFormField,
    typedConfirmationFormField,
    yamlValuesFormField,
  ],
  routes: { tenants: tenantsPageRouteRef },
});
