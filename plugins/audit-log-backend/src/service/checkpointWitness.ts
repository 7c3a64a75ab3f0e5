import {
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import {
  AUDIT_EVENT_SEVERITIES,
  AuditEventSeverity,
  AuditGapInfo,
  describeGap,
} from '@kubechart/plugin-audit-log-common';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { appendFile, FileHandle, open } from 'node:fs/promises';
import { AuditChainHead, AuditPruneCut } from '../database/AuditStore';
import { GAP_EVENT_KEY, MAX_GAP_EVENT_KEYS } from '../database/rows';

/** How long the webhook target may take to accept a checkpoint or an anchor. */
const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * How much of the end of the witness file verify reads: the newest anchor and the prune
 * checkpoints written after it are there (an anchor line is ≈150 bytes, so 64 KiB hold the
 * anchors of more than a day at the default frequency), however long the file has grown.
 * When that part holds no anchor, or starts within a run of loss records (more may come
 * before), twice as much is read, and so on up to {@link WITNESS_MAX_READ_FACTOR} times it:
 * loss lines never hide the anchor, nor one another.
 */
export const WITNESS_TAIL_BYTES = 64 * 1024;

/** How many times {@link WITNESS_TAIL_BYTES} verify reads at most (1 MiB). */
export const WITNESS_MAX_READ_FACTOR = 16;

const HASH = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The reasons of a loss record read back: more would not come from this code. */
const MAX_LOSS_REASONS = 20;
/**
 * A reason of a loss record read back: short printable text (no control, format or unassigned
 * characters), so that the gap record's `meta` stays far below its limits and keeps `lossId`.
 */
const LOSS_REASON = /^[^\p{C}]{1,200}$/u;
/** A time as `Date.prototype.toISOString` writes it. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isIsoTime(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) {
    return false;
  }
  const time = new Date(value);
  // no 2026-02-30: the date must read back as written
  return !Number.isNaN(time.getTime()) && time.toISOString() === value;
}

/**
 * The checkpoint an external witness keeps: enough to check that the chain
 * still in the database continues from the cut (`prevHash` of event
 * `throughSeq + 1` equals `hash`).
 */
export type AuditCheckpointRecord = {
  type: 'audit-log-checkpoint';
  fromSeq: number;
  throughSeq: number;
  hash: string;
  cutoff: string;
  prunedAt: string;
  reason: 'scheduled retention' | 'on request';
  actor?: string;
};

/**
 * A head anchor: the chain head (its newest event `seq` and that event's `hash`) at time `at`,
 * kept outside the database so that verify can tell a chain cut back below it.
 */
export type AuditAnchorRecord = {
  type: 'audit-log-anchor';
  seq: number;
  hash: string;
  at: string;
  /** Where the chain started then: the event it was pruned through (0: never) and its hash. */
  checkpointSeq?: number;
  checkpointHash?: string;
};

/**
 * Audit events the backend could not store: kept outside the database so that the next start
 * appends their gap record, with `id` in its `meta.lossId`, unless the chain holds it already.
 * Written when a stopping backend gives events up (the database had closed), and while it runs
 * as soon as it drops events (`incomplete`: counts so far, updated under the same `id`; the
 * queue writes the gap record itself once the database takes writes again, but a backend that
 * is killed first leaves only this). Of several records with one `id`, the last counts.
 */
export type AuditLossRecord = AuditGapInfo & {
  type: 'audit-log-gap';
  id: string;
  /** When the loss was recorded. */
  at: string;
};

/**
 * The end of a loss record the queue made of events it held while the database did not take
 * them (see {@link AuditWitness.held}): it wrote them all (or recorded those it dropped as a
 * loss of their own), so the records of `id` count nothing lost.
 */
export type AuditLossResolvedRecord = {
  type: 'audit-log-gap-resolved';
  id: string;
  at: string;
};

/** What verify, the anchor publisher and the start-up read from the end of the witness file. */
export type AuditWitnessRecords = {
  /** The newest anchor (the highest `seq`) in the part read, if any. */
  anchor?: AuditAnchorRecord;
  /** Every anchor in the part read, in file order; absent when there is none. */
  anchors?: AuditAnchorRecord[];
  /** The prune checkpoints in the part read, in file order. */
  checkpoints: AuditCheckpointRecord[];
  /** The loss records in the part read, in file order; absent when there is none. */
  losses?: AuditLossRecord[];
  /** The ids of the loss records resolved in the part read; absent when there is none. */
  resolved?: string[];
  /**
   * True when the file is longer than the part read (at most {@link WITNESS_MAX_READ_FACTOR}
   * times {@link WITNESS_TAIL_BYTES}); absent when it was read whole.
   */
  partial?: true;
  /** True when the file does not exist (nothing was written to it yet, or it was moved aside). */
  missing?: true;
  /** Why the file could not be read, when it could not (it then holds no records here). */
  unreadable?: string;
};

/**
 * Emits a prune's checkpoint outside the database before the prune happens:
 * always as a `warn` log line, and to the file and webhook configured under
 * `auditLog.retention.checkpoint`. Throws (so nothing is pruned) when a
 * configured target cannot take it.
 */
export type CheckpointWitness = (
  cut: AuditPruneCut,
  context: { reason: AuditCheckpointRecord['reason']; actor?: string },
) => Promise<AuditCheckpointRecord>;

/**
 * The witnesses outside the database: the log, and the file and webhook configured under
 * `auditLog.retention.checkpoint`. It takes two kinds of records, one JSON line each:
 * prune checkpoints (`audit-log-checkpoint`, see {@link CheckpointWitness}) and head anchors
 * (`audit-log-anchor`), and reads back the end of the file for verify.
 */
export type AuditWitness = {
  checkpoint: CheckpointWitness;
  /**
   * Publishes the chain head as an anchor: an `info` log line, then the file and the webhook.
   * Throws when a configured target cannot take it.
   */
  anchor(head: AuditChainHead): Promise<AuditAnchorRecord>;
  /**
   * Records events the backend could not store: a log line (`warn`, `error` without a file),
   * the file (written synchronously: the process may exit next) and the webhook (not awaited).
   * Never throws; a target that fails is logged. `context.id` is the loss's id (a new one
   * without it); `context.pending` says the queue still holds the loss and will store its gap
   * record itself if it can: the record is then `incomplete`.
   */
  loss(
    gap: AuditGapInfo,
    context?: { id?: string; pending?: boolean },
  ): AuditLossRecord;
  /**
   * Records the events the queue holds but could not write yet (the database is down or does not
   * answer), which a backend killed now would lose: a loss record under `context.id` (written
   * synchronously), of which the last one counts, and, once the queue holds none of them
   * (`context.resolved`), a line `audit-log-gap-resolved` with that id: the next start appends
   * the gap record of a loss record only while it is not resolved. Never throws.
   */
  held(
    held: AuditGapInfo,
    context: { id: string; resolved: boolean },
  ): AuditLossRecord | AuditLossResolvedRecord;
  /**
   * The anchors and the checkpoints at the end of the witness file; undefined when no file is
   * configured. A file that does not exist yet holds no records (`missing`); one that cannot be
   * read holds none either (`unreadable`: why, also logged).
   */
  read(): Promise<AuditWitnessRecords | undefined>;
};

export function createAuditWitness(options: {
  config: RootConfigService;
  logger: LoggerService;
}): AuditWitness {
  const { config, logger } = options;
  const file = config.getOptionalString('auditLog.retention.checkpoint.file');
  const webhookUrl = config.getOptionalString(
    'auditLog.retention.checkpoint.webhook.url',
  );
  const webhookToken = config.getOptionalString(
    'auditLog.retention.checkpoint.webhook.token',
  );
  if (webhookUrl) {
    const url = new URL(webhookUrl); // throws on a malformed URL at start-up
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error(
        `auditLog.retention.checkpoint.webhook.url must be http(s), got ${url.protocol}`,
      );
    }
    // A password in the URL would be repeated by every error that names the URL (fetch refuses
    // such a URL too): the webhook's credential goes in its own secret setting.
    if (url.username || url.password) {
      throw new Error(
        'auditLog.retention.checkpoint.webhook.url must not carry a user or password; set auditLog.retention.checkpoint.webhook.token instead',
      );
    }
  }

  if (!file) {
    // the start-up appends gap records from the file only: a webhook or a log line is no way back
    logger.warn(
      'No auditLog.retention.checkpoint.file is configured: the audit events a stopping backend cannot store, and those a backend killed before it stored their gap record had dropped or held, are recorded only in the log (and the webhook, if set), and the next start cannot append their gap records: these losses never reach the chain. Set it to a file on persistent storage that only the backend can write (see the README of @kubechart/plugin-audit-log-backend).',
    );
  }

  const post = async (line: string, prefix: string, noun: string) => {
    if (webhookUrl) {
      let response: Response;
      try {
        response = await fetch(webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(webhookToken
              ? { authorization: `Bearer ${webhookToken}` }
              : {}),
          },
          body: line,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
      } catch (error) {
        throw new Error(
          `${prefix}the ${noun} webhook could not be reached: ${stringifyError(
            error,
          )}`,
        );
      }
      if (!response.ok) {
        throw new Error(
          `${prefix}the ${noun} webhook answered ${response.status}`,
        );
      }
    }
  };

  /**
   * A loss line (or its resolution), which the process may not outlive: to the file at once
   * (synchronously), to the webhook without waiting. A target that fails is logged.
   */
  /** Writes `line` to the file (synchronously) and the webhook; returns whether the file took it. */
  const deliverNow = (line: string): boolean => {
    let written = false;
    if (file) {
      try {
        appendFileSync(file, `${line}\n`, { encoding: 'utf8', mode: 0o600 });
        written = true;
      } catch (error) {
        logger.error(
          `Could not write the audit loss record to ${file}, no gap record will mark it in the chain: ${stringifyError(
            error,
          )}`,
        );
      }
    }
    post(line, '', 'loss record').catch(error =>
      logger.error(stringifyError(error)),
    );
    return written;
  };

  /** The one place that writes to the file and the webhook. */
  const deliver = async (
    line: string,
    failure: { prefix: string; noun: string },
  ) => {
    const { prefix, noun } = failure;
    if (file) {
      try {
        await appendFile(file, `${line}\n`, { encoding: 'utf8', mode: 0o600 });
      } catch (error) {
        throw new Error(
          `${prefix}could not write the ${noun} to ${file}: ${stringifyError(
            error,
          )}`,
        );
      }
    }
    await post(line, prefix, noun);
  };

  return {
    checkpoint: async (cut, context) => {
      const record: AuditCheckpointRecord = {
        type: 'audit-log-checkpoint',
        ...cut,
        prunedAt: new Date().toISOString(),
        reason: context.reason,
        ...(context.actor ? { actor: context.actor } : {}),
      };
      const line = JSON.stringify(record);
      logger.warn(
        `Audit log checkpoint: pruning events ${cut.fromSeq}-${cut.throughSeq}; the chain continues from hash ${cut.hash}`,
        { auditCheckpoint: line },
      );
      await deliver(line, { prefix: 'Not pruning: ', noun: 'checkpoint' });
      return record;
    },

    anchor: async head => {
      const record: AuditAnchorRecord = {
        type: 'audit-log-anchor',
        seq: head.seq,
        hash: head.hash,
        at: new Date().toISOString(),
        ...(head.checkpoint
          ? {
              checkpointSeq: head.checkpoint.seq,
              checkpointHash: head.checkpoint.hash,
            }
          : {}),
      };
      const line = JSON.stringify(record);
      logger.info(
        `Audit log anchor: the chain head is event ${head.seq} with hash ${head.hash}`,
        { auditAnchor: line },
      );
      await deliver(line, { prefix: '', noun: 'anchor' });
      return record;
    },

    loss: (gap, context) => {
      const record: AuditLossRecord = {
        type: 'audit-log-gap',
        id: context?.id && UUID.test(context.id) ? context.id : randomUUID(),
        dropped: gap.dropped,
        firstOccurredAt: gap.firstOccurredAt,
        lastOccurredAt: gap.lastOccurredAt,
        reasons: { ...gap.reasons },
        ...(gap.bySeverity ? { bySeverity: { ...gap.bySeverity } } : {}),
        ...(gap.byEvent ? { byEvent: { ...gap.byEvent } } : {}),
        ...(context?.pending ? { incomplete: true } : {}),
        at: new Date().toISOString(),
      };
      const line = JSON.stringify(record);
      // written first: the line says whether the file holds the record
      const written = deliverNow(line);
      const noFile = file
        ? `${file} could not take this record`
        : 'without auditLog.retention.checkpoint.file';
      if (context?.pending) {
        // the queue writes their gap record itself once the database takes writes again
        logger.warn(
          `Audit log loss record: ${
            gap.dropped
          } event(s) dropped so far (${describeGap(gap)}); ${
            written
              ? `kept in ${file} in case the backend stops before their gap record is stored`
              : `${noFile}: this log line is their only trace if the backend stops before their gap record is stored`
          }`,
          { auditLoss: line },
        );
      } else if (written) {
        logger.warn(
          `Audit log loss record: ${gap.dropped} event(s) not stored while the backend stopped; the next start appends their gap record from ${file}`,
          { auditLoss: line },
        );
      } else {
        logger.error(
          `Audit log loss record: ${gap.dropped} event(s) not stored while the backend stopped; ${noFile}: no gap record will mark them in the chain, this log line is their only trace`,
          { auditLoss: line },
        );
      }
      return record;
    },

    held: (held, context) => {
      const id = UUID.test(context.id) ? context.id : randomUUID();
      if (context.resolved) {
        const resolved: AuditLossResolvedRecord = {
          type: 'audit-log-gap-resolved',
          id,
          at: new Date().toISOString(),
        };
        const line = JSON.stringify(resolved);
        logger.info(
          `Audit log loss record ${id} resolved: the audit events that waited in memory for the database are stored (or recorded as lost)`,
          { auditLoss: line },
        );
        deliverNow(line);
        return resolved;
      }
      const record: AuditLossRecord = {
        type: 'audit-log-gap',
        id,
        dropped: held.dropped,
        firstOccurredAt: held.firstOccurredAt,
        lastOccurredAt: held.lastOccurredAt,
        reasons: { ...held.reasons },
        ...(held.bySeverity ? { bySeverity: { ...held.bySeverity } } : {}),
        at: new Date().toISOString(),
      };
      const line = JSON.stringify(record);
      // written first: the line says whether the file holds the record
      const written = deliverNow(line);
      logger.warn(
        `Audit log loss record: ${
          held.dropped
        } audit event(s) occurred between ${held.firstOccurredAt} and ${
          held.lastOccurredAt
        } wait in memory for the database; ${
          written
            ? `kept in ${file} until they are stored, so that the next start marks them in the chain if the backend is killed first`
            : `${
                file
                  ? `${file} could not take this record`
                  : 'without auditLog.retention.checkpoint.file'
              }: this log line is their only trace if the backend is killed before they are stored`
        }`,
        { auditLoss: line },
      );
      return record;
    },

    read: async () => {
      if (!file) {
        return undefined;
      }
      try {
        return await readWitnessFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') {
          // nothing published yet, or moved aside
          return { checkpoints: [], missing: true };
        }
        const why = stringifyError(error);
        logger.warn(
          `Could not read the audit witness file ${file}, so verify checks no anchor (and fails while anchors are published): ${why}`,
        );
        return { checkpoints: [], unreadable: why };
      }
    },
  };
}

/**
 * Emits a prune's checkpoint outside the database; see {@link createAuditWitness}.
 */
export function createCheckpointWitness(options: {
  config: RootConfigService;
  logger: LoggerService;
}): CheckpointWitness {
  return createAuditWitness(options).checkpoint;
}

function parseLoss(value: any): AuditLossRecord | undefined {
  const reasons = parseCounts(value.reasons, MAX_LOSS_REASONS, key =>
    LOSS_REASON.test(key),
  );
  if (
    typeof value.id !== 'string' ||
    !UUID.test(value.id) ||
    !Number.isSafeInteger(value.dropped) ||
    value.dropped < 1 ||
    !isIsoTime(value.firstOccurredAt) ||
    !isIsoTime(value.lastOccurredAt) ||
    !isIsoTime(value.at) ||
    !reasons
  ) {
    return undefined;
  }
  // the breakdowns are kept when well-formed, else left out: the loss itself still counts
  const bySeverity = parseCounts(
    value.bySeverity,
    AUDIT_EVENT_SEVERITIES.length,
    key => AUDIT_EVENT_SEVERITIES.includes(key as AuditEventSeverity),
  );
  // the keys the queue writes (`plugin.eventId (severity)`, up to 244 characters) and the store keeps
  const byEvent = parseCounts(value.byEvent, MAX_GAP_EVENT_KEYS, key =>
    GAP_EVENT_KEY.test(key),
  );
  return {
    type: 'audit-log-gap',
    id: value.id,
    dropped: value.dropped,
    firstOccurredAt: value.firstOccurredAt,
    lastOccurredAt: value.lastOccurredAt,
    reasons,
    ...(bySeverity
      ? {
          bySeverity: bySeverity as Partial<Record<AuditEventSeverity, number>>,
        }
      : {}),
    ...(byEvent ? { byEvent } : {}),
    ...(value.incomplete === true ? { incomplete: true } : {}),
    at: value.at,
  };
}

/** An object of at most `max` positive counts under keys `validKey` accepts, else undefined. */
function parseCounts(
  value: unknown,
  max: number,
  validKey: (key: string) => boolean,
): Record<string, number> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const entries = Object.entries(value);
  if (
    entries.length < 1 ||
    entries.length > max ||
    entries.some(
      ([key, count]) =>
        !validKey(key) || !Number.isSafeInteger(count) || (count as number) < 1,
    )
  ) {
    return undefined;
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

function parseRecord(
  line: string,
):
  | AuditAnchorRecord
  | AuditCheckpointRecord
  | AuditLossRecord
  | AuditLossResolvedRecord
  | undefined {
  let value: any;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined; // not a record, or a line still being written
  }
  if (!value || typeof value !== 'object') {
    return undefined;
  }
  if (
    value.type === 'audit-log-anchor' &&
    Number.isSafeInteger(value.seq) &&
    value.seq > 0 &&
    typeof value.hash === 'string' &&
    HASH.test(value.hash) &&
    typeof value.at === 'string'
  ) {
    const start =
      Number.isSafeInteger(value.checkpointSeq) &&
      value.checkpointSeq >= 0 &&
      typeof value.checkpointHash === 'string' &&
      HASH.test(value.checkpointHash)
        ? {
            checkpointSeq: value.checkpointSeq as number,
            checkpointHash: value.checkpointHash as string,
          }
        : {};
    return {
      type: value.type,
      seq: value.seq,
      hash: value.hash,
      at: value.at,
      ...start,
    };
  }
  if (
    value.type === 'audit-log-checkpoint' &&
    Number.isSafeInteger(value.throughSeq) &&
    typeof value.hash === 'string' &&
    HASH.test(value.hash)
  ) {
    return value as AuditCheckpointRecord;
  }
  if (value.type === 'audit-log-gap') {
    return parseLoss(value);
  }
  if (
    value.type === 'audit-log-gap-resolved' &&
    typeof value.id === 'string' &&
    UUID.test(value.id) &&
    isIsoTime(value.at)
  ) {
    return { type: value.type, id: value.id, at: value.at };
  }
  return undefined;
}

/**
 * The whole lines of the last `length` bytes of a file of `size` bytes (a line the part starts
 * in is left out), and whether the part is the whole file.
 */
async function readTail(
  handle: FileHandle,
  size: number,
  length: number,
): Promise<{ lines: string[]; whole: boolean }> {
  const start = size - Math.min(size, length);
  // one byte more when starting mid-file: whether it is a newline says if the first line read
  // is whole
  const from = start > 0 ? start - 1 : 0;
  const buffer = Buffer.alloc(size - from);
  let read = 0;
  while (read < buffer.length) {
    const { bytesRead } = await handle.read(
      buffer,
      read,
      buffer.length - read,
      from + read,
    );
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  let text = buffer.subarray(0, read).toString('utf8');
  if (from < start) {
    // drop the (possibly partial) line the window starts in
    const newline = text.indexOf('\n');
    text = newline < 0 ? '' : text.slice(newline + 1);
  }
  return { lines: text.split('\n'), whole: start === 0 };
}

/**
 * Reads the end of the witness file and returns the anchors (all of them, and the one with the
 * highest `seq`), the checkpoints and the loss records among the complete lines there. It reads the last
 * `maxBytes`; when they hold no anchor, or their first record is a loss record, twice as much,
 * and so on, never more than {@link WITNESS_MAX_READ_FACTOR} times `maxBytes` however large the
 * file is (see {@link WITNESS_TAIL_BYTES}).
 */
export async function readWitnessFile(
  file: string,
  maxBytes = WITNESS_TAIL_BYTES,
): Promise<AuditWitnessRecords> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    for (let length = maxBytes; ; length *= 2) {
      const last = length >= maxBytes * WITNESS_MAX_READ_FACTOR;
      const { lines, whole } = await readTail(
        handle,
        size,
        Math.min(length, maxBytes * WITNESS_MAX_READ_FACTOR),
      );
      const records: AuditWitnessRecords = whole
        ? { checkpoints: [] }
        : { checkpoints: [], partial: true };
      let first: ReturnType<typeof parseRecord> | undefined;
      for (const line of lines) {
        const record = line ? parseRecord(line) : undefined;
        first ??= record;
        if (record?.type === 'audit-log-anchor') {
          (records.anchors ??= []).push(record);
          if (!records.anchor || record.seq >= records.anchor.seq) {
            records.anchor = record;
          }
        } else if (record?.type === 'audit-log-checkpoint') {
          records.checkpoints.push(record);
        } else if (record?.type === 'audit-log-gap') {
          (records.losses ??= []).push(record);
        } else if (record?.type === 'audit-log-gap-resolved') {
          (records.resolved ??= []).push(record.id);
        }
      }
      if (
        whole ||
        last ||
        (records.anchor &&
          first?.type !== 'audit-log-gap' &&
          first?.type !== 'audit-log-gap-resolved')
      ) {
        return records;
      }
    }
  } finally {
    await handle.close();
  }
}
