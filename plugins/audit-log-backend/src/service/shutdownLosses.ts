import { LoggerService } from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import {
  AuditEventQueue,
  createGapEvent,
} from '@kubechart/plugin-audit-log-node';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { AuditWitness } from './checkpointWitness';

/** Losses checked and appended in one transaction (one `LIKE` each in the query). */
const LOSSES_PER_APPEND = 200;

/**
 * Appends to the chain the gap record of every loss that a backend recorded in the witness file
 * (events a stopping backend could not store once the database had closed, drops a running
 * backend recorded before it was killed, and events its queue held for the database when it was
 * killed, whose record it never resolved) and that the chain does not hold yet. Runs at start-up, before new events are written; a failure is logged and
 * the losses are tried again at the next start.
 */
export async function appendRecordedLosses(options: {
  store: Pick<DatabaseAuditStore, 'appendLosses'>;
  witness: Pick<AuditWitness, 'read'>;
  logger: LoggerService;
}): Promise<void> {
  const { store, witness, logger } = options;
  const records = await witness.read();
  const recorded = records?.losses;
  if (!recorded?.length) {
    return;
  }
  // A loss recorded while the backend ran is recorded again under its id as it grows: the last
  // record of an id (in file order) has its counts. Events a queue held while the database did
  // not take them are no loss once it resolved their record: it stored them.
  const resolved = new Set(records?.resolved);
  const latest = new Map<string, (typeof recorded)[number]>();
  for (const loss of recorded) {
    latest.delete(loss.id);
    if (!resolved.has(loss.id)) latest.set(loss.id, loss);
  }
  const losses = [...latest.values()];
  try {
    let appended = 0;
    for (let i = 0; i < losses.length; i += LOSSES_PER_APPEND) {
      appended += await store.appendLosses(
        losses
          .slice(i, i + LOSSES_PER_APPEND)
          .map(({ type: _type, id, at, ...gap }) => {
            const event = createGapEvent(gap);
            return {
              id,
              at,
              event: { ...event, meta: { ...event.meta, lossId: id } },
            };
          }),
      );
    }
    if (appended > 0) {
      logger.warn(
        `Appended ${appended} gap record(s) for audit events that a stopping backend could not store (loss records of the witness file)`,
      );
    }
  } catch (error) {
    logger.error(
      `Could not append the gap records of audit events lost when a backend stopped; tried again at the next start: ${stringifyError(
        error,
      )}`,
    );
  }
}

/**
 * Has the queue record outside the database, through the witness (its file, webhook and log),
 * the events it drops and those it holds while the database does not take them, so that a
 * backend killed before it stores them (or their gap record) leaves a trace the next start turns
 * into a gap record ({@link appendRecordedLosses}).
 */
export function recordQueueLosses(
  queue: Pick<AuditEventQueue, 'recordLossesWith' | 'recordHeldWith'>,
  witness: Pick<AuditWitness, 'loss' | 'held'>,
): void {
  queue.recordLossesWith((loss, context) => witness.loss(loss, context));
  queue.recordHeldWith((held, context) => witness.held(held, context));
}
