import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  catalogProcessingExtensionPoint,
  catalogServiceRef,
} from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import {
  KUBECHART_TENANTS_TOPIC,
  kubechartRunsServiceRef,
} from '@kubechart/plugin-kubechart-node';
import { TenantEntityProvider } from './TenantEntityProvider';

/**
 * Adds {@link TenantEntityProvider} to the catalog: one entity per KubeChart tenant.
 * It refreshes when the kubechart backend publishes a tenant change on Backstage's events service
 * (topic `kubechart.tenants`), and on a schedule besides: `kubechart.catalog.frequencySeconds`
 * (default every 30 seconds), which also catches up after an event was missed. What a refresh
 * changes in the catalog is recorded with the catalog's auditor (`tenant-entities-changed`),
 * compared with the provider's entities that the catalog holds (read through the catalog service),
 * so that the record is right whichever replica applies a change.
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
        catalogService: catalogServiceRef,
        auth: coreServices.auth,
        auditor: coreServices.auditor,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        config: coreServices.rootConfig,
        events: eventsServiceRef,
      },
      async init({
        catalog,
        runs,
        catalogService,
        auth,
        auditor,
        logger,
        scheduler,
        config,
        events,
      }) {
        const frequency = config.getOptionalNumber(
          'kubechart.catalog.frequencySeconds',
        );
        const provider = new TenantEntityProvider({
          runs,
          auth,
          catalog: catalogService,
          auditor,
          logger,
          taskRunner: scheduler.createScheduledTaskRunner({
            frequency: { seconds: frequency ?? 30 },
            timeout: { minutes: 1 },
            initialDelay: { seconds: 5 },
          }),
        });
        catalog.addEntityProvider(provider);
        await events.subscribe({
          id: 'catalog-kubechart-tenants',
          topics: [KUBECHART_TENANTS_TOPIC],
          // Before the catalog connected the provider, its first scheduled refresh is still to come.
          onEvent: async () => {
            if (provider.isConnected()) await provider.refreshSoon();
          },
        });
      },
    });
  },
});
