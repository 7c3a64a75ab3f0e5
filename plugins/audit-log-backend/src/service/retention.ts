import {
  AuditorService,
  LoggerService,
  RootConfigService,
  SchedulerService,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { AuditPruneCut, AuditStore } from '../database/AuditStore';
import { CheckpointWitness } from './checkpointWitness';

const DAY_MS = 24 * 3600 * 1000;

/** Default of `auditLog.retention.minimumDays`. */
export const DEFAULT_MINIMUM_RETENTION_DAYS = 90;

/** `auditLog.retention`, validated. */
export type RetentionSettings = {
  /** Scheduled retention in days; undefined keeps events forever. */
  days?: number;
  /** No prune, scheduled or on request, may remove younger events. */
  minimumDays: number;
};

export function readRetentionSettings(
  config: RootConfigService,
): RetentionSettings {
  const minimumDays =
    config.getOptionalNumber('auditLog.retention.minimumDays') ??
    DEFAULT_MINIMUM_RETENTION_DAYS;
  if (!Number.isFinite(minimumDays) || minimumDays < 1) {
    throw new Error(
      `auditLog.retention.minimumDays must be at least 1, got ${minimumDays}`,
    );
  }
  const days = config.getOptionalNumber('auditLog.retention.days');
  if (days !== undefined) {
    if (!Number.isFinite(days) || days <= 0) {
      throw new Error(
        `auditLog.retention.days must be a positive number, got ${days}`,
      );
    }
    if (days < minimumDays) {
      throw new Error(
        `auditLog.retention.days (${days}) is below the minimum retention auditLog.retention.minimumDays (${minimumDays})`,
      );
    }
  }
  return { days, minimumDays };
}

/**
 * Refuses a prune cut-off in the future or inside the minimum retention, so
 * no request can delete recent evidence.
 */
export function checkPruneCutoff(
  before: Date,
  minimumDays: number,
  now = new Date(),
): void {
  if (Number.isNaN(before.getTime())) {
    throw new InputError('Cannot prune: before is not a valid time');
  }
  if (before.getTime() > now.getTime()) {
    throw new InputError(
      `Cannot prune: before (${before.toISOString()}) is in the future`,
    );
  }
  const youngestPrunable = new Date(now.getTime() - minimumDays * DAY_MS);
  if (before.getTime() > youngestPrunable.getTime()) {
    throw new InputError(
      `Cannot prune: before (${before.toISOString()}) is inside the minimum retention of ${minimumDays} days (auditLog.retention.minimumDays); the latest allowed cut-off is ${youngestPrunable.toISOString()}`,
    );
  }
}

/**
 * Schedules pruning of events older than `auditLog.retention.days`, if set.
 * The scheduler runs it on one replica at a time. Each prune that removes
 * anything hands its checkpoint to the witness first and is audited.
 */
export async function scheduleRetention(options: {
  config: RootConfigService;
  settings: RetentionSettings;
  scheduler: SchedulerService;
  store: AuditStore;
  logger: LoggerService;
  auditor: AuditorService;
  witness: CheckpointWitness;
}): Promise<void> {
  const { config, settings, scheduler, store, logger, auditor, witness } =
    options;
  const days = settings.days;
  if (days === undefined) {
    logger.info('Audit log retention is off; events are kept forever');
    return;
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
      const before = new Date(Date.now() - days * DAY_MS);
      await pruneAudited({
        store,
        auditor,
        witness,
        before,
        reason: 'scheduled retention',
        onlyIfAny: true,
      });
    },
  });
}

/**
 * One prune, recorded in the chain as an `events-prune` event (with the cut's
 * hash) and witnessed outside the database before anything is deleted.
 */
export async function pruneAudited(options: {
  store: AuditStore;
  auditor: AuditorService;
  witness: CheckpointWitness;
  before: Date;
  reason: 'scheduled retention' | 'on request';
  request?: Parameters<AuditorService['createEvent']>[0]['request'];
  actor?: string;
  /** Scheduled runs only record a prune that removes something. */
  onlyIfAny?: boolean;
}) {
  const { store, auditor, witness, before, reason, request, actor } = options;
  const meta = { before: before.toISOString(), reason };
  // A scheduled run that finds nothing to prune leaves no event behind.
  let auditEvent:
    | Awaited<ReturnType<AuditorService['createEvent']>>
    | undefined;
  if (!options.onlyIfAny) {
    auditEvent = await auditor.createEvent({
      eventId: 'events-prune',
      severityLevel: 'high',
      request,
      meta,
    });
  }
  /** The cut witnessed, once it is: a failure after it may have moved the checkpoint already. */
  let witnessed: AuditPruneCut | undefined;
  try {
    const result = await store.prune({
      before,
      witness: async cut => {
        auditEvent ??= await auditor.createEvent({
          eventId: 'events-prune',
          severityLevel: 'high',
          request,
          meta,
        });
        await witness(cut, { reason, actor });
        witnessed = cut;
      },
    });
    if (!result.cut && result.deleted > 0) {
      // Nothing new was cut, but events an earlier prune left below the checkpoint (it failed
      // after it moved the checkpoint) were deleted: recorded, scheduled or not.
      auditEvent ??= await auditor.createEvent({
        eventId: 'events-prune',
        severityLevel: 'high',
        request,
        meta,
      });
      await auditEvent.success({
        meta: {
          deleted: result.deleted,
          throughSeq: result.checkpoint?.throughSeq ?? null,
          checkpointHash: result.checkpoint?.hash ?? null,
          belowCheckpoint: true,
        },
      });
      return result;
    }
    await auditEvent?.success({
      meta: {
        deleted: result.deleted,
        throughSeq: result.cut?.throughSeq ?? null,
        checkpointHash: result.cut?.hash ?? null,
      },
    });
    return result;
  } catch (error) {
    await auditEvent?.fail({
      error: error as Error,
      // the cut it was witnessed for: the checkpoint may have moved to it, with events below it
      // still stored (the next prune deletes them)
      ...(witnessed
        ? {
            meta: {
              fromSeq: witnessed.fromSeq,
              throughSeq: witnessed.throughSeq,
              checkpointHash: witnessed.hash,
            },
          }
        : {}),
    });
    throw error;
  }
}
