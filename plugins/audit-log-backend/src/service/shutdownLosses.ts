import { LoggerService } from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import { createGapEvent } from '@kubechart/plugin-audit-log-node';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { AuditWitness } from './checkpointWitness';

/** Losses checked and appended in one transaction (one `LIKE` each in the query). */
const LOSSES_PER_APPEND = 200;

/**
 * Appends to the chain the gap record of every loss that a stopping backend recorded in the
 * witness file (events it could not store once the database had closed) and that the chain
 * does not hold yet. Runs at start-up, before new events are written; a failure is logged and
 * the losses are tried again at the next start.
 */
export async function appendRecordedLosses(options: {
  store: Pick<DatabaseAuditStore, 'appendLosses'>;
  witness: Pick<AuditWitness, 'read'>;
  logger: LoggerService;
}): Promise<void> {
  const { store, witness, logger } = options;
  const losses = (await witness.read())?.losses;
  if (!losses?.length) {
    return;
  }
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
