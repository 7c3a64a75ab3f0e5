import {
  LoggerService,
  RootConfigService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import { AuditVerifyResult } from '@kubechart/plugin-audit-log-common';
import { AuditChainHead, AuditStore } from '../database/AuditStore';
import {
  AuditAnchorRecord,
  AuditWitness,
  AuditWitnessRecords,
  WITNESS_MAX_READ_FACTOR,
  WITNESS_TAIL_BYTES,
} from './checkpointWitness';

const DURATION_UNITS = [
  'years',
  'months',
  'weeks',
  'days',
  'hours',
  'minutes',
  'seconds',
  'milliseconds',
] as const;

/** A duration as Backstage configuration writes it, e.g. `{ minutes: 5 }`. */
export type AnchorFrequency = Partial<
  Record<(typeof DURATION_UNITS)[number], number>
>;

/** Default of `auditLog.anchor.frequency`. */
export const DEFAULT_ANCHOR_FREQUENCY: AnchorFrequency = { minutes: 5 };

/** `auditLog.anchor`, validated. */
export type AnchorSettings = {
  /** Whether the head is published on a schedule (default true). */
  enabled: boolean;
  frequency: AnchorFrequency;
};

export function readAnchorSettings(config: RootConfigService): AnchorSettings {
  const enabled = config.getOptionalBoolean('auditLog.anchor.enabled') ?? true;
  if (!config.has('auditLog.anchor.frequency')) {
    return { enabled, frequency: DEFAULT_ANCHOR_FREQUENCY };
  }
  const section = config.getConfig('auditLog.anchor.frequency');
  const frequency: AnchorFrequency = {};
  for (const unit of section.keys()) {
    if (!(DURATION_UNITS as readonly string[]).includes(unit)) {
      throw new Error(
        `auditLog.anchor.frequency: unknown unit ${unit}, expected one of ${DURATION_UNITS.join(
          ', ',
        )}`,
      );
    }
    const value = section.getNumber(unit);
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(
        `auditLog.anchor.frequency.${unit} must be a number of at least 0, got ${value}`,
      );
    }
    frequency[unit as keyof AnchorFrequency] = value;
  }
  if (!Object.values(frequency).some(value => value! > 0)) {
    throw new Error(
      'auditLog.anchor.frequency must be a positive duration, e.g. { minutes: 5 }',
    );
  }
  return { enabled, frequency };
}

/**
 * Publishes the chain head as an anchor when it moved since this process last published one
 * (an empty chain has nothing to anchor). Returns the anchor, or undefined when it skipped.
 */
export function createAnchorPublisher(options: {
  store: Pick<AuditStore, 'head'>;
  witness: AuditWitness;
  logger: LoggerService;
}): () => Promise<AuditAnchorRecord | undefined> {
  const { store, witness, logger } = options;
  let published: AuditChainHead | undefined;
  return async () => {
    let head: AuditChainHead;
    try {
      head = await store.head();
    } catch (error) {
      throw new Error(
        `Could not read the audit chain head to publish an anchor (tried again on the next run): ${stringifyError(
          error,
        )}`,
      );
    }
    if (head.seq === 0) {
      return undefined;
    }
    if (published?.seq === head.seq && published.hash === head.hash) {
      logger.debug(
        `Audit log anchor: the chain head is still event ${head.seq}, not published again`,
      );
      return undefined;
    }
    let record: AuditAnchorRecord;
    try {
      record = await witness.anchor(head);
    } catch (error) {
      throw new Error(
        `Could not publish the audit log anchor of event ${
          head.seq
        } (tried again on the next run): ${
          error instanceof Error ? error.message : stringifyError(error)
        }`,
      );
    }
    // only once every target took it: a failed one is tried again on the next run
    published = head;
    return record;
  };
}

/**
 * Publishes head anchors every `auditLog.anchor.frequency` (default 5 minutes), on one replica
 * at a time (a global scheduler task), unless `auditLog.anchor.enabled` is false.
 */
export async function scheduleAnchors(options: {
  settings: AnchorSettings;
  scheduler: SchedulerService;
  store: Pick<AuditStore, 'head'>;
  witness: AuditWitness;
  logger: LoggerService;
}): Promise<void> {
  const { settings, scheduler, store, witness, logger } = options;
  if (!settings.enabled) {
    logger.info(
      'Audit log head anchors are off (auditLog.anchor.enabled: false): a tail cut from the database is not detectable',
    );
    return;
  }
  const publish = createAnchorPublisher({ store, witness, logger });
  await scheduler.scheduleTask({
    id: 'audit-log-anchor',
    frequency: settings.frequency,
    timeout: { minutes: 1 },
    initialDelay: { minutes: 1 },
    fn: async () => {
      try {
        await publish();
      } catch (error) {
        logger.warn(
          error instanceof Error ? error.message : stringifyError(error),
        );
      }
    },
  });
}

/**
 * Verifies the chain against the witness file: its newest anchor, and the prune checkpoints
 * recorded with it. The file is read before the chain so that an anchor published meanwhile
 * cannot name a head the walk did not see. Without a file: the chain alone, no `anchor`.
 *
 * A file that holds records but no anchor in the part read fails verify (`anchorMissing`) while
 * anchors are published (`anchorsPublished`, default true): its newest anchor was pushed out of
 * what verify reads (more than 1 MiB of other lines since), or none was published to it yet
 * (moved aside, or newly created by a loss record or a prune), and either way a tail cut from the
 * database cannot be ruled out. A file that does not exist yet, or is empty, holds nothing to
 * check against.
 *
 * A prune that runs between the read and the walk witnesses its checkpoint after the read, so the
 * walk would meet a start no checkpoint it was given records. A failed verify therefore reads the
 * file again and, when it has changed, verifies once more against what it holds now; the answer is
 * always the chain checked against one reading of the file.
 */
export async function verifyAgainstWitness(options: {
  store: Pick<AuditStore, 'verify'>;
  witness: Pick<AuditWitness, 'read'>;
  /** Whether the backend publishes head anchors (`auditLog.anchor.enabled`); default true. */
  anchorsPublished?: boolean;
}): Promise<AuditVerifyResult> {
  const anchorsPublished = options.anchorsPublished ?? true;
  const verifyWith = async (records: AuditWitnessRecords | undefined) => {
    const result = await options.store.verify(
      records?.anchor
        ? { anchor: records.anchor, witnessedCheckpoints: records.checkpoints }
        : undefined,
    );
    const missing =
      result.ok && anchorsPublished && records && !records.anchor
        ? anchorMissing(records, result.headSeq)
        : undefined;
    return missing
      ? {
          ...result,
          ok: false,
          keyed: false,
          failedSeq: result.headSeq + 1,
          reason: missing,
          anchorMissing: true,
        }
      : result;
  };
  const records = await options.witness.read();
  const result = await verifyWith(records);
  if (result.ok) return result;
  const again = await options.witness.read();
  return JSON.stringify(again) === JSON.stringify(records)
    ? result
    : verifyWith(again);
}

/**
 * Why a witness file without an anchor in the part read cannot vouch for the chain's tail, or
 * undefined when it holds nothing (not written to yet).
 */
function anchorMissing(
  records: AuditWitnessRecords,
  headSeq: number,
): string | undefined {
  const after = `events after ${headSeq} may have been removed`;
  if (records.partial) {
    return `No head anchor in the last ${
      (WITNESS_TAIL_BYTES * WITNESS_MAX_READ_FACTOR) / 1024
    } KiB of the witness file, which is longer: the newest anchor was pushed out of what verify reads, so a tail cut from the database cannot be ruled out (${after})`;
  }
  const others = records.checkpoints.length + (records.losses?.length ?? 0);
  if (others === 0) {
    return undefined;
  }
  return `The witness file holds no head anchor, only ${others} other record(s): a tail cut from the database cannot be ruled out (${after}) until the next anchor is published`;
}
