import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceRef,
  metricsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import {
  KUBECHART_CLUSTER_HEALTH_CHANNEL,
  KUBECHART_DRIFT_CHANNEL,
  KUBECHART_RUNS_CHANNEL,
  KUBECHART_TENANT_HEALTH_CHANNEL,
  RefetchSignal,
  Run,
  RunSignal,
  entityDriftSignalChannel,
  entityRunsSignalChannel,
  kubechartPermissions,
  runSignalChannel,
  tenantHealthSignalChannel,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
  PolicyRule,
  TenantResourceProvider,
  kubechartPolicyRulesExtensionPoint,
  KUBECHART_TENANTS_TOPIC,
  KubechartRunsClient,
  KubechartTenantChangedEvent,
  kubechartTenantResourcesExtensionPoint,
} from '@kubechart/plugin-kubechart-node';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { Handler } from 'express';
import { warnWhenOwnActorLeftOut } from '@kubechart/plugin-audit-log-common';
import { createApprovalNotifier } from './approvals/notifier';
import { readApprovalSettings } from './approvals/rules';
import { fetchNamingInvoker } from './actions/actionInvoker';
import { ActionRefusalAuditor } from './actions/actionRefusals';
import { registerKubechartActions } from './actions/kubechartActions';
import { DatabaseDriftStore } from './database/DatabaseDriftStore';
import { DatabaseRunStore } from './database/DatabaseRunStore';
import { DriftService } from './drift/DriftService';
import { REAPPLICABLE_KINDS } from './drift/reapply';
import { catalogRequesters } from './engine/caller';
import { deployerReadingUser } from './engine/deployer';
import { RunEngine } from './engine/RunEngine';
import { settleEndedRuns } from './engine/runOutcomes';
import { withSecretScrubbing } from './engine/secretScrubbingStore';
import { readEngineSettings } from './engine/settings';
import { HealthService } from './health/HealthService';
import {
  KUBECHART_PLUGIN,
  readOnBehalfOfServices,
  readRelayingPlugins,
  RELAY_SETTING,
} from './service/identity';
import { createRouter } from './service/router';
import { createRunOutcomeAuditor } from './service/runAudit';
import { KubechartMetrics } from './service/metrics';

const DRIFT_TASK_ID = 'kubechart-drift';
const OUTCOMES_TASK_ID = 'kubechart-run-outcomes';

/**
 * The kubechart backend plugin: provisioning engine, deployment history, cluster and tenant health.
 * @public
 */
export const kubechartPlugin = createBackendPlugin({
  pluginId: 'kubechart',
  register(env) {
    const policyRules: PolicyRule[] = [];
    const tenantResources: TenantResourceProvider[] = [];
    env.registerExtensionPoint(kubechartPolicyRulesExtensionPoint, {
      addPolicyRules: (...rules) => policyRules.push(...rules),
    });
    env.registerExtensionPoint(kubechartTenantResourcesExtensionPoint, {
      addTenantResources: (...providers) => tenantResources.push(...providers),
    });
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        userInfo: coreServices.userInfo,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        signals: signalsServiceRef,
        events: eventsServiceRef,
        actionsRegistry: actionsRegistryServiceRef,
        discovery: coreServices.discovery,
        catalog: catalogServiceRef,
        metricsService: metricsServiceRef,
        notifications: notificationService,
      },
      async init({
        config,
        logger,
        database,
        httpRouter,
        httpAuth,
        auth,
        permissions,
        userInfo,
        permissionsRegistry,
        auditor,
        scheduler,
        lifecycle,
        signals,
        events,
        actionsRegistry,
        discovery,
        catalog,
        metricsService,
        notifications,
      }) {
        permissionsRegistry.addPermissions(kubechartPermissions);
        // The same operations as tools for AI agents (MCP), through this plugin's own REST API as the
        // caller; each call names the plugin that invoked the action, for the REST API's trail.
        registerKubechartActions({
          actionsRegistry,
          runs: new KubechartRunsClient({
            auth,
            discovery,
            fetch: fetchNamingInvoker(),
          }),
          config,
        });
        // Everything stored for an executing run passes through that run's known secrets first.
        const store = withSecretScrubbing(
          await DatabaseRunStore.create({ database }),
        );
        const clusters = ClusterRegistry.fromConfig(config);
        const publish = (channel: string, message: any) =>
          signals
            .publish({ recipients: { type: 'broadcast' }, channel, message })
            .catch(e => logger.warn(`Signal not published: ${e}`));
        // Any signed-in user may subscribe to any channel by name: a channel named for one tenant or
        // entity is told only that there is something to fetch again, through the permission-checked
        // API (not which run, nor how it went).
        const refetch: RefetchSignal = { type: 'refetch' };
        // Every run that ends gets one run-finished audit event, kept owed in the database until the
        // auditor took it (see createRunOutcomeAuditor and the outcome pass below).
        const auditRunOutcome = createRunOutcomeAuditor(auditor, logger, store);
        const driftEnabled =
          config.getOptionalBoolean('kubechart.drift.enabled') ?? true;
        const onRunChanged = (run: Run) => {
          void auditRunOutcome(run);
          // A run that applied something is compared with the cluster soon after, not only on the next pass.
          if (
            driftEnabled &&
            run.status === 'succeeded' &&
            (REAPPLICABLE_KINDS.includes(run.kind) ||
              run.kind === 'tenant-delete')
          ) {
            scheduler
              .triggerTask(DRIFT_TASK_ID)
              .catch(e =>
                logger.debug(
                  `Drift check after run ${run.id} not triggered: ${e}`,
                ),
              );
          }
          // Signals reach every subscriber of a channel, whatever it may read. The run's own channel,
          // heard only by who knows its id, names the run and its status; the common channel (heard
          // by every signed-in user) and the entity's own carry not even that (see `refetch`).
          const message: RunSignal = {
            type: 'run-updated',
            runId: run.id,
            status: run.status,
          };
          publish(runSignalChannel(run.id), message);
          publish(KUBECHART_RUNS_CHANNEL, refetch);
          if (run.entityRef)
            publish(entityRunsSignalChannel(run.entityRef), refetch);
          // A tenant run that was created or ended changed the tenant: the catalog's tenant entities follow at once.
          if (
            (run.kind === 'tenant' || run.kind === 'tenant-delete') &&
            run.status !== 'running'
          ) {
            const eventPayload: KubechartTenantChangedEvent = {
              cluster: run.target.cluster,
              tenant: String(run.input.tenant ?? ''),
              runId: run.id,
              status: run.status,
            };
            events
              .publish({ topic: KUBECHART_TENANTS_TOPIC, eventPayload })
              .catch(e => logger.warn(`Tenant change not published: ${e}`));
          }
          // A finished tenant run changes what the tenant pages show; tell them to refresh (a run
          // that succeeded is not a tenant that is healthy: the health is read anew).
          if (
            (run.kind === 'tenant' || run.kind === 'tenant-delete') &&
            (run.status === 'succeeded' || run.status === 'failed')
          ) {
            publish(KUBECHART_TENANT_HEALTH_CHANNEL, refetch);
            publish(
              tenantHealthSignalChannel(String(run.input.tenant ?? '')),
              refetch,
            );
          }
        };
        const settings = readEngineSettings(config);
        const metrics = new KubechartMetrics(metricsService);
        const helm = HelmCli.fromConfig(config, {
          onCommand: metrics.helmCommand,
        });
        const policy = PolicyEngine.fromConfig(config, policyRules);
        const engine = new RunEngine({
          store,
          clusters,
          helm,
          policy,
          tenantResources,
          logger,
          settings,
          listener: { onRunChanged },
          metrics,
          approvals: readApprovalSettings(config),
          notifier: createApprovalNotifier(notifications, logger),
          // What a kept approved run's requester owns when it starts: the catalog's user and groups.
          requesters: catalogRequesters(catalog, auth),
        });
        const watchTimeoutSeconds = config.getOptionalNumber(
          'kubechart.health.watchTimeoutSeconds',
        );
        if (watchTimeoutSeconds !== undefined && !(watchTimeoutSeconds >= 1))
          throw new Error(
            `kubechart.health.watchTimeoutSeconds must be at least 1, got ${watchTimeoutSeconds}`,
          );
        const health = new HealthService(clusters, logger, {
          minWatchTimeoutSeconds: watchTimeoutSeconds,
          // Each cluster's cache reads metrics.k8s.io usage on its own timer, so every replica's
          // answers are as current as this.
          metricsIntervalMs:
            Math.max(
              1,
              config.getOptionalNumber(
                'kubechart.health.metricsIntervalSeconds',
              ) ?? 60,
            ) * 1000,
          // Heard by every signed-in user, also by one who may not read clusters
          // (kubechart.clusters.read): names no cluster and no status; both are read through the API.
          onClusterHealthChange: () =>
            publish(KUBECHART_CLUSTER_HEALTH_CHANNEL, refetch),
        });
        metrics.observe({
          helmPool: () => helm.poolState(),
          healthCaches: () => health.cacheStates(),
        });
        if (config.getOptionalBoolean('kubechart.health.startOnBoot') ?? true)
          health.startAll();

        await scheduler.scheduleTask({
          id: 'kubechart-recover-stale-runs',
          frequency: {
            minutes:
              config.getOptionalNumber('kubechart.recovery.frequencyMinutes') ??
              2,
          },
          timeout: { minutes: 5 },
          initialDelay: { seconds: 5 },
          fn: async () => {
            const n = await engine.recoverStaleRuns();
            if (n) logger.info(`Reconciled ${n} stale run(s)`);
          },
        });
        // The outbox of run ends: what an instance could not do right after recording a run's end
        // (the database failing for a moment, the process stopping) is done here, once per run
        // across replicas: the run-finished audit event, and the tenant record of a tenant run.
        await scheduler.scheduleTask({
          id: OUTCOMES_TASK_ID,
          scope: 'global',
          frequency: { seconds: 30 },
          timeout: { minutes: 5 },
          initialDelay: { seconds: 20 },
          fn: async () => {
            const { tenants, audited } = await settleEndedRuns({
              store,
              logger,
              audit: auditRunOutcome,
              onRunChanged,
            });
            if (tenants || audited)
              logger.info(
                `Outcome pass: ${audited} run end(s) audited, ${tenants} tenant(s) settled`,
              );
          },
        });
        await scheduler.scheduleTask({
          id: 'kubechart-approvals',
          frequency: {
            seconds:
              config.getOptionalNumber('kubechart.approvals.checkSeconds') ??
              60,
          },
          timeout: { minutes: 5 },
          initialDelay: { seconds: 10 },
          fn: async () => {
            const { expired, started } = await engine.tendApprovals();
            if (expired || started)
              logger.info(
                `Approvals: ${expired} expired, ${started} approved run(s) started`,
              );
          },
        });
        const driftStore = await DatabaseDriftStore.create({ database });
        if (driftEnabled) {
          const drift = new DriftService({
            runs: store,
            drift: driftStore,
            clusters,
            client: cluster => engine.client(cluster),
            logger,
            // The cluster-scoped kinds runs may apply: drift reads no other cluster-scoped object.
            settings,
            // Fields other managers add that are not drift (replaces the default list when set);
            // tenant runs keep those labels and annotations (the same setting).
            ...(settings.driftIgnoreAddedFields
              ? { ignoreAddedFields: settings.driftIgnoreAddedFields }
              : {}),
            onDriftChanged: d => {
              // Heard by every signed-in user: says only that some drift changed, not whose or how.
              publish(KUBECHART_DRIFT_CHANNEL, refetch);
              if (d.entityRef)
                publish(entityDriftSignalChannel(d.entityRef), refetch);
            },
          });
          // One replica at a time compares (scope global); the records are in the database for all.
          await scheduler.scheduleTask({
            id: DRIFT_TASK_ID,
            scope: 'global',
            frequency: {
              seconds:
                config.getOptionalNumber('kubechart.drift.frequencySeconds') ??
                120,
            },
            timeout: {
              seconds:
                config.getOptionalNumber('kubechart.drift.timeoutSeconds') ??
                300,
            },
            initialDelay: { seconds: 15 },
            fn: async () => {
              const records = await drift.checkAll();
              const drifted = records.filter(
                r => r.status === 'drifted',
              ).length;
              if (drifted)
                logger.info(
                  `Drift check: ${drifted} of ${records.length} run(s) drifted`,
                );
            },
          });
        }
        lifecycle.addShutdownHook(async () => {
          await health.stop();
        });

        // A tool call refused before any run was asked for (the actions registry's 404 for a caller
        // without the permission, a service's call): recorded as POST /runs records its refusals.
        const relayingPlugins = readRelayingPlugins(config);
        // Without plugin:kubechart every kubechart.* action is refused by this plugin's own REST API:
        // said once at start-up, not only to each user who invokes one.
        warnWhenOwnActorLeftOut(logger, relayingPlugins, {
          setting: RELAY_SETTING,
          actor: KUBECHART_PLUGIN,
          refused: 'every kubechart.* action',
          invokedBy: 'MCP, a template step',
          calls: 'the actions call the kubechart REST API',
          offers: 'the actions',
        });
        // A followed run event stream ends after this long, and its client asks again (and is checked again).
        const followStreamMaxSeconds =
          config.getOptionalNumber('kubechart.limits.followStreamMaxSeconds') ??
          900;
        if (!(followStreamMaxSeconds >= 1))
          throw new Error(
            `kubechart.limits.followStreamMaxSeconds must be at least 1, got ${followStreamMaxSeconds}`,
          );
        const actionRefusals = new ActionRefusalAuditor({
          pluginId: 'kubechart',
          httpAuth,
          permissions,
          logger,
          relayingPlugins,
        });
        httpRouter.use(
          await createRouter({
            engine,
            store,
            health,
            helm,
            policy,
            httpAuth,
            permissions,
            userInfo,
            catalog,
            auth,
            auditor,
            logger,
            settings,
            onBehalfOfServices: readOnBehalfOfServices(config),
            relayingPlugins,
            followMaxMs: followStreamMaxSeconds * 1000,
            onRunChanged,
            metrics,
            lifecycle,
            actionRefusals,
            drift: {
              store: driftStore,
              // As the namespace's deployer, like the rollback run it is for (the one from before
              // kubechart.tenant.deployer.namespace until a run ensures the new one).
              history: async ({ cluster, namespace, release }) =>
                helm.history({
                  release,
                  namespace,
                  kubeconfig: clusters.kubeconfigYaml(cluster),
                  impersonate: {
                    user: await deployerReadingUser(
                      engine.client(cluster),
                      namespace,
                      settings,
                    ),
                  },
                }),
            },
          }),
        );
        // After the actions registry's router; express calls a handler of four arguments with errors only.
        httpRouter.use(actionRefusals.handler() as unknown as Handler);
      },
    });
  },
});
