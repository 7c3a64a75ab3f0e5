import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceRef,
  metricsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { auditLogPermissions } from '@kubechart/plugin-audit-log-common';
import {
  auditLogQueueServiceRef,
  catalogEntityOwners,
} from '@kubechart/plugin-audit-log-node';
import { registerAuditLogActions } from './actions/auditActions';
import { readChainKeys } from './database/chainKeys';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';
import {
  createAnchorMemory,
  readAnchorSettings,
  scheduleAnchors,
} from './service/anchors';
import { createAuditWitness } from './service/checkpointWitness';
import {
  CATALOG_READ_TIMEOUT_MS,
  createOwnerRecorder,
} from './service/entityOwners';
import { readRetentionSettings, scheduleRetention } from './service/retention';
import { LiveTailPublisher } from './service/LiveTailPublisher';
import { observeAuditQueue } from './service/queueMetrics';
import { readRelayingPolicy } from './service/relayingPlugins';
import { createRouter } from './service/router';
import {
  appendRecordedLosses,
  recordQueueLosses,
} from './service/shutdownLosses';

/**
 * The audit-log backend plugin: stores every audit event in a hash chain and
 * serves it under /api/audit-log.
 *
 * @public
 */
export const auditLogPlugin = createBackendPlugin({
  pluginId: 'audit-log',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        auditor: coreServices.auditor,
        queue: auditLogQueueServiceRef,
        signals: signalsServiceRef,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        actionsRegistry: actionsRegistryServiceRef,
        metrics: metricsServiceRef,
        catalog: catalogServiceRef,
      },
      async init({
        config,
        logger,
        database,
        httpRouter,
        httpAuth,
        permissions,
        permissionsRegistry,
        scheduler,
        lifecycle,
        auditor,
        queue,
        signals,
        auth,
        discovery,
        actionsRegistry,
        metrics,
        catalog,
      }) {
        permissionsRegistry.addPermissions(auditLogPermissions);
        // The plugins that may pass a user's credentials on (auditLog.onBehalfOf.relayingPlugins).
        const relaying = readRelayingPolicy(config, logger);
        // The trail as a read-only tool for AI agents (MCP), through GET /events as the caller.
        registerAuditLogActions({ actionsRegistry, auth, discovery, relaying });

        const chainKeys = readChainKeys(config);
        const store = await DatabaseAuditStore.create({ database, chainKeys });
        if (chainKeys) {
          // before anything else is appended: verify needs the newest event to be keyed
          if (await store.signChainHead()) {
            // Logged outside the database on purpose: expected once per key, a repeat for the
            // same key id means its signed events were rewritten or removed.
            logger.warn(
              `Signed the audit chain head with the key of id ${chainKeys.current.id} (audit-log / chain-key-configured): the newest event was not signed with it. Expected once per new or rotated key; otherwise events signed with it may have been rewritten or removed in the database.`,
            );
          }
        } else {
          logger.warn(
            'auditLog.chain.key is not set: the audit trail is an unkeyed hash chain, which anyone who can write its database can rewrite and still have verify report it valid. Set a key of at least 32 characters (see the README of @kubechart/plugin-audit-log-backend).',
          );
        }
        observeAuditQueue(metrics, queue);
        const liveTail = new LiveTailPublisher({ signals, logger });
        // the log, file and webhook outside the database: prune checkpoints, head anchors and
        // the audit events the queue dropped (at once) or a stopping backend could not store
        const auditWitness = createAuditWitness({ config, logger });
        await appendRecordedLosses({ store, witness: auditWitness, logger });
        recordQueueLosses(queue, auditWitness);

        // Who owns the entities events name: recorded with each event as it is appended, and
        // compared with the owner now when a reader limited to their entities reads it.
        const entityOwners = catalogEntityOwners(
          catalog,
          auth,
          CATALOG_READ_TIMEOUT_MS,
        );
        const recordOwners = createOwnerRecorder({
          owners: entityOwners,
          logger,
        });

        // Drain the process-wide queue into the chain.
        queue.attachSink(async batch => {
          const { placeholders } = await store.append(
            await recordOwners(batch),
          );
          if (placeholders) {
            logger.warn(
              `The database refused ${placeholders} audit event(s) even after cleaning; stored placeholders in their place`,
            );
          }
          liveTail.notify();
        });
        // Backstage runs the plugins' shutdown hooks before the root ones, which stop the HTTP
        // server and close the database at the same time: wait here, with the database open, for
        // the audited requests in progress. The sink stays attached; the queue's root shutdown
        // hook closes it and reports what could not be stored.
        lifecycle.addShutdownHook(async () => {
          await queue.drainOnShutdown();
          liveTail.stop();
          // no copy of the search text may start once the database closes
          await store.stopCopyingSearchText();
        });

        const retention = readRetentionSettings(config);
        const witness = auditWitness.checkpoint;
        const anchorSettings = readAnchorSettings(config);
        // the newest anchor in the file at start-up: verify fails if the file later holds none
        const anchorMemory = createAnchorMemory(anchorSettings);
        anchorMemory.remember((await auditWitness.read())?.anchor);
        await scheduleAnchors({
          settings: anchorSettings,
          scheduler,
          store,
          witness: auditWitness,
          logger,
          memory: anchorMemory,
          auditor,
        });
        await scheduleRetention({
          config,
          settings: retention,
          scheduler,
          store,
          logger,
          auditor,
          witness,
        });

        httpRouter.use(
          await createRouter({
            store,
            httpAuth,
            permissions,
            auditor,
            logger,
            witness,
            readWitness: auditWitness.read,
            anchorsPublished: anchorSettings.enabled,
            anchorMemory,
            minimumRetentionDays: retention.minimumDays,
            lifecycle,
            relaying,
            entityOwners,
          }),
        );
      },
    });
  },
});
