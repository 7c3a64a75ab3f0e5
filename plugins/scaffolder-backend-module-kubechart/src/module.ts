import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { kubechartRunsServiceRef } from '@kubechart/plugin-kubechart-node';
import {
  createChartInstallAction,
  createChartValidateAction,
  createManifestsApplyAction,
  createTenantDeleteAction,
  createTenantProvisionAction,
} from './actions';

/**
 * Adds the `kubechart:*` template actions to the scaffolder. The actions are thin: they validate
 * input, then drive runs in the kubechart backend plugin on behalf of the user who started the template.
 * @public
 */
export const scaffolderModuleKubechart = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'kubechart',
  register({ registerInit }) {
    registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        runs: kubechartRunsServiceRef,
        config: coreServices.rootConfig,
      },
      async init({ scaffolder, runs, config }) {
        const links = { appBaseUrl: config.getString('app.baseUrl') };
        scaffolder.addActions(
          createTenantProvisionAction({ runs, links }),
          createTenantDeleteAction({ runs, links }),
          createChartInstallAction({ runs, links }),
          createChartValidateAction({ runs }),
          createManifestsApplyAction({ runs, links }),
        );
      },
    });
  },
});
