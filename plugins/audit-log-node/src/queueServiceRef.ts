import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { AuditEventQueue } from './AuditEventQueue';

/**
 * The root-level queue through which every plugin's auditor hands events to
 * the audit-log backend plugin, which drains it into the database.
 *
 * Configured under `auditLog.queue` (`maxSize`, `batchSize`,
 * `flushIntervalMs`, `maxEnqueueWaitMs`, `maxRetryDurationMs`,
 * `maxShutdownWaitMs`, `maxStoreWaitMs`).
 *
 * @public
 */
export const auditLogQueueServiceRef = createServiceRef<AuditEventQueue>({
  id: 'audit-log.queue',
  scope: 'root',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.rootLogger,
        lifecycle: coreServices.rootLifecycle,
      },
      factory({ config, logger, lifecycle }) {
        const queueConfig = config.getOptionalConfig('auditLog.queue');
        const queueLogger = logger.child({ service: 'audit-log-queue' });
        const queue = new AuditEventQueue({
          logger: queueLogger,
          maxSize: queueConfig?.getOptionalNumber('maxSize'),
          batchSize: queueConfig?.getOptionalNumber('batchSize'),
          flushIntervalMs: queueConfig?.getOptionalNumber('flushIntervalMs'),
          maxEnqueueWaitMs: queueConfig?.getOptionalNumber('maxEnqueueWaitMs'),
          maxRetryDurationMs:
            queueConfig?.getOptionalNumber('maxRetryDurationMs'),
          maxShutdownWaitMs:
            queueConfig?.getOptionalNumber('maxShutdownWaitMs'),
          maxStoreWaitMs: queueConfig?.getOptionalNumber('maxStoreWaitMs'),
        });
        // Backstage runs the plugins' shutdown hooks first (the audit-log
        // plugin drains the queue in its own, with the database open), then all
        // root shutdown hooks at once: the HTTP server's, which waits for the
        // requests in progress, and the database manager's, which closes the
        // PostgreSQL pools. The sink stays attached until here, where the queue
        // closes and reports what it could not store.
        lifecycle.addShutdownHook(() => queue.close());
        return queue;
      },
    }),
});
