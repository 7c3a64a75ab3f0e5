import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceRef,
  metricsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import { Config } from '@backstage/config';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { kubeAssistantPermissions } from '@kubechart/plugin-assistant-common';
import {
  AssistantProvider,
  assistantProvidersExtensionPoint,
} from '@kubechart/plugin-assistant-node';
import { Handler } from 'express';
import { createActionRefusalAuditor } from './actions/actionRefusals';
import {
  PLAN_QUESTION_ACTION,
  registerAssistantActions,
} from './actions/assistantActions';
import { DatabaseConversationStore } from './database/DatabaseConversationStore';
import { ClusterNames } from './execution/ClusterNames';
import { ClusterRegistry } from './execution/clusters';
import { NamespaceOwners } from './context/namespaceOwners';
import { ProtectedTargets } from './execution/protectedTargets';
import { readImpersonationPrefixes } from './execution/impersonation';
import { PlanExecutor } from './execution/PlanExecutor';
import { createProviderEntries } from './providers/createProviders';
import { ProviderChain } from './providers/ProviderChain';
import {
  AssistantService,
  DEFAULT_NAME_LOOKUP_TIMEOUT_MS,
} from './service/AssistantService';
import { createRouter } from './service/router';
import { createQuestionMetrics } from './service/questionMetrics';
import { readRelayingPolicy } from './service/relayingPlugins';
import {
  assertWholeAtLeast,
  longestRunOf,
  readMessagesPerConversation,
  readRunsAtOncePerUser,
  readRunsPerAnswer,
  readBytesAtOnce,
  readBytesPerAnswer,
  readQuestionLimits,
} from './service/questionLimits';

/**
 * `kubeAssistant.nameLookupTimeoutMs`, or its default. Fails at start-up on a value that is not a
 * whole number of at least 1.
 */
function readNameLookupTimeoutMs(config: Config): number {
  const value =
    config.getOptionalNumber('kubeAssistant.nameLookupTimeoutMs') ??
    DEFAULT_NAME_LOOKUP_TIMEOUT_MS;
  assertWholeAtLeast('kubeAssistant.nameLookupTimeoutMs', value, 1);
  return value;
}

/**
 * The Kubernetes assistant backend plugin (`kube-assistant`).
 *
 * @public
 */
export const assistantPlugin = createBackendPlugin({
  pluginId: 'kube-assistant',
  register(env) {
    const extraProviders: AssistantProvider[] = [];
    env.registerExtensionPoint(assistantProvidersExtensionPoint, {
      addProvider(...providers) {
        extraProviders.push(...providers);
      },
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        lifecycle: coreServices.lifecycle,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        userInfo: coreServices.userInfo,
        auditor: coreServices.auditor,
        catalog: catalogServiceRef,
        actionsRegistry: actionsRegistryServiceRef,
        metrics: metricsServiceRef,
      },
      async init(deps) {
        const { config, logger, httpRouter } = deps;
        deps.permissionsRegistry.addPermissions(kubeAssistantPermissions);
        const executionTimeoutMs =
          (config.getOptionalNumber('kubeAssistant.executionTimeoutSeconds') ??
            30) * 1000;
        const store = await DatabaseConversationStore.create({
          database: deps.database,
          maxMessagesPerConversation: readMessagesPerConversation(config),
          maxRunsPerAnswer: readRunsPerAnswer(config),
          maxRunsAtOncePerUser: readRunsAtOncePerUser(config),
          longestRunMs: longestRunOf(executionTimeoutMs),
        });
        const chain = new ProviderChain(
          createProviderEntries(config, extraProviders),
          logger,
        );
        const clusters = ClusterRegistry.fromConfig(config);
        logger.info(
          `Kubernetes assistant providers: ${chain
            .ids()
            .join(', ')}; clusters: ${clusters.names().join(', ') || 'none'}`,
        );
        const service = new AssistantService({
          chain,
          store,
          clusters,
          executor: new PlanExecutor({
            maxRows: config.getOptionalNumber('kubeAssistant.maxRows') ?? 200,
            timeoutMs: executionTimeoutMs,
            maxReadBytes: readBytesPerAnswer(config),
            maxReadBytesAtOnce: readBytesAtOnce(config),
            // KubeChart's setting, when it is installed in the same Backstage (optional: the
            // assistant installs on its own too, and then KubeChart's default applies).
            deployerServiceAccount: config.getOptionalString(
              'kubechart.tenant.deployer.serviceAccount',
            ),
            deployerNamespace: config.getOptionalString(
              'kubechart.tenant.deployer.namespace',
            ),
          }),
          permissions: deps.permissions,
          auditor: deps.auditor,
          catalog: deps.catalog,
          userInfo: deps.userInfo,
          logger,
          allowDangerous:
            config.getOptionalBoolean('kubeAssistant.allowDangerous') ?? false,
          confirmations: store.confirmations(),
          confirmationTtlMs:
            (config.getOptionalNumber('kubeAssistant.confirmationTtlSeconds') ??
              300) * 1000,
          names: new ClusterNames(),
          nameLookupTimeoutMs: readNameLookupTimeoutMs(config),
          impersonation:
            config.getOptionalBoolean('kubeAssistant.impersonation') ?? false,
          impersonationUserPrefixes: readImpersonationPrefixes(config),
          onQuestion: createQuestionMetrics(deps.metrics),
          protectedTargets: ProtectedTargets.fromConfig(config),
          namespaceOwners: NamespaceOwners.fromConfig(config),
          limits: readQuestionLimits(config),
          relaying: readRelayingPolicy(config),
        });
        // The refusals only counted so far are recorded before the backend stops.
        deps.lifecycle.addShutdownHook(() => service.flushRefusals());
        httpRouter.use(
          await createRouter({ httpAuth: deps.httpAuth, service, store }),
        );
        // Planning (never execution) as a tool for AI agents (MCP).
        registerAssistantActions({
          actionsRegistry: deps.actionsRegistry,
          service,
        });
        // The actions registry answers a caller without `kube-assistant.query` 404 from its own
        // router, before the action runs: this error handler, after that router, records the
        // refusal as `/ask` does. Express calls a handler of four arguments with errors only.
        httpRouter.use(
          createActionRefusalAuditor({
            pluginId: 'kube-assistant',
            actionName: PLAN_QUESTION_ACTION,
            httpAuth: deps.httpAuth,
            service,
            logger,
          }) as unknown as Handler,
        );
      },
    });
  },
});
