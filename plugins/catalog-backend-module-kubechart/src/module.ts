import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { kubechartRunsServiceRef } from '@kubechart/plugin-kubechart-node';
import { TenantEntityProvider } from './TenantEntityProvider';

/**
 * Adds {@link TenantEntityProvider} to the catalog: one entity per KubeChart tenant.
 * Its refresh frequency is `kubechart.catalog.frequency` (default every 30 seconds).
 * @public
 */
export const catalogModuleKubechartTenants = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'kubechart-tenants',
  register({ registerInit }) {
    registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        runs: kubechartRunsServiceRef,
        auth: coreServices.auth,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        config: coreServices.rootConfig,
      },
      async init({ catalog, runs, auth, logger, scheduler, config }) {
        const frequency = config.getOptionalNumber(
          'kubechart.catalog.frequencySeconds',
        );
        catalog.addEntityProvider(
          new TenantEntityProvider({
            runs,
            auth,
            logger,
            taskRunner: scheduler.createScheduledTaskRunner({
              frequency: { seconds: frequency ?? 30 },
              timeout: { minutes: 1 },
              initialDelay: { seconds: 5 },
            }),
          }),
        );
      },
    });
  },
});
