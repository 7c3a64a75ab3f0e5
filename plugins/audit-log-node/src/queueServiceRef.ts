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
 * `flushIntervalMs`, `maxEnqueueWaitMs`, `maxRetryDurationMs`).
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
        });
        // The audit-log plugin drains the queue in its own shutdown hook,
        // which runs before this one; anything left here could not be stored.
        lifecycle.addShutdownHook(async () => {
          await queue.drain();
          const { buffered, unrecordedDrops } = queue.stats();
          if (buffered > 0 || unrecordedDrops > 0) {
            queueLogger.warn(
              `Audit queue stopped with ${buffered} unwritten event(s) and ${unrecordedDrops} dropped event(s) that no gap record marks`,
            );
          }
        });
        return queue;
      },
    }),
});
