import {
  LoggerService,
  RootConfigService,
  SchedulerService,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { AuditStore } from '../database/AuditStore';

/**
 * Schedules pruning of events older than `auditLog.retention.days`, if set.
 * The scheduler runs it on one replica at a time.
 */
export async function scheduleRetention(options: {
  config: RootConfigService;
  scheduler: SchedulerService;
  store: AuditStore;
  logger: LoggerService;
}): Promise<void> {
  const { config, scheduler, store, logger } = options;
  const days = config.getOptionalNumber('auditLog.retention.days');
  if (days === undefined) {
    logger.info('Audit log retention is off; events are kept forever');
    return;
  }
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(
      `auditLog.retention.days must be a positive number, got ${days}`,
    );
  }
  const schedule = config.has('auditLog.retention.schedule')
    ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
        config.getConfig('auditLog.retention.schedule'),
      )
    : {
        frequency: { hours: 1 },
        timeout: { minutes: 30 },
        initialDelay: { minutes: 1 },
      };
  await scheduler.scheduleTask({
    id: 'audit-log-retention',
    ...schedule,
    fn: async () => {
      const before = new Date(Date.now() - days * 24 * 3600 * 1000);
      const result = await store.prune({ before });
      if (result.deleted > 0) {
        logger.info(
          `Pruned ${
            result.deleted
          } audit event(s) older than ${before.toISOString()}; chain continues from event ${
            result.checkpoint?.throughSeq
          }`,
        );
      }
    },
  });
}
