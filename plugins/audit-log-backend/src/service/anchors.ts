import {
  AuditorService,
  LoggerService,
  RootConfigService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import { AuditVerifyResult } from '@kubechart/plugin-audit-log-common';
import { AuditLogCreateEventOptions } from '@kubechart/plugin-audit-log-node';
import { AuditChainHead, AuditStore } from '../database/AuditStore';
import {
  AnchorFailure as Failure,
  ChainStart,
  anchorBroken,
} from '../database/anchorCheck';
import { GENESIS_HASH } from '../database/chain';
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

/** How long after start-up the anchor task first runs, and how long a run may take. */
const FIRST_RUN_DELAY_MS = 60_000;
const RUN_TIMEOUT_MS = 60_000;

const UNIT_MS: Record<keyof AnchorFrequency, number> = {
  years: 365 * 86_400_000,
  months: 30 * 86_400_000,
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

/** Anchors checked with one event read each at a time. */
const ANCHOR_READS = 16;

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
 * What this backend knows of the head anchors beyond what the witness file holds now: the newest
 * anchor it published to the file or read from it, and when it started. Verify fails when a file
 * that held an anchor holds none now (moved aside, emptied), and the publisher checks that the
 * chain still holds that anchor before it publishes another one. A missing or empty file is
 * nothing to check against only within one anchor interval (`graceMs`: the frequency, the first
 * run's delay and a run's timeout) after start-up, or after the chain's first event.
 */
export type AnchorMemory = {
  readonly graceMs: number;
  /** When the backend started (`now()` then). */
  readonly startedAt: number;
  now(): number;
  /** The anchor with the highest `seq` this backend published to the witness file or read from it. */
  newest(): AuditAnchorRecord | undefined;
  remember(anchor: AuditAnchorRecord | undefined): void;
};

export function createAnchorMemory(options: {
  frequency: AnchorFrequency;
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number;
}): AnchorMemory {
  const now = options.now ?? Date.now;
  const frequencyMs = Object.entries(options.frequency).reduce(
    (sum, [unit, value]) =>
      sum + (value ?? 0) * UNIT_MS[unit as keyof AnchorFrequency],
    0,
  );
  let newest: AuditAnchorRecord | undefined;
  return {
    graceMs: frequencyMs + FIRST_RUN_DELAY_MS + RUN_TIMEOUT_MS,
    startedAt: now(),
    now,
    newest: () => newest,
    remember: anchor => {
      if (anchor && (!newest || anchor.seq >= newest.seq)) {
        newest = anchor;
      }
    },
  };
}

/**
 * Why `head` cannot be published as an anchor, or undefined: the head row must name an event the
 * database holds with that hash (or the checkpoint, when every event was pruned), and the chain
 * must still hold the newest anchor in the witness file, the newest one this backend remembers
 * and the last one this publisher published (`published`, when it is newer than both; also
 * without a witness file). Otherwise a database writer could have the backend anchor a tail it cut
 * (the next anchor would vouch for it), or a head row it moved for one run (verify would fail for
 * good).
 */
async function headBroken(
  store: Pick<AuditStore, 'get' | 'checkEvent' | 'verify'>,
  head: AuditChainHead,
  records: AuditWitnessRecords | undefined,
  memory: AnchorMemory | undefined,
  published: AuditAnchorRecord | undefined,
): Promise<Failure | undefined> {
  const start = head.checkpoint ?? { seq: 0, hash: GENESIS_HASH };
  const hashAt = async (seq: number) => (await store.get(seq))?.hash;
  if (head.seq > start.seq) {
    // the event's hash recomputed from its content: a head row moved together with an event
    // row written to match it is not anchored
    const event = await store.checkEvent(head.seq);
    const claim = `The chain head records event ${head.seq} with hash ${head.hash}, but`;
    let reason: string | undefined;
    if (!event) {
      reason = `${claim} the database holds no such event: the head row was changed without the events`;
    } else if (event.hash !== head.hash) {
      reason = `${claim} the event has hash ${event.hash}: the head row or the event was changed`;
    } else if (event.check === 'altered') {
      reason = `${claim} the event's content does not give that hash: the event was changed, or written with the head row outside the chain`;
    } else if (event.check === 'unknown-key') {
      reason = `${claim} the event is signed with a key that is not auditLog.chain.key nor any of auditLog.chain.previousKeys: it was written outside the chain, or the key is missing from the configuration`;
    } else if (event.check === 'unkeyed') {
      reason = `${claim} the event is not signed although auditLog.chain.key is set: it was written outside the chain, or by a replica without the key`;
    }
    if (reason) {
      return { failedSeq: head.seq, reason };
    }
  } else if (head.seq < start.seq || head.hash !== start.hash) {
    return {
      failedSeq: head.seq,
      reason: `The chain head records event ${head.seq} with hash ${head.hash}, but the chain starts after event ${start.seq} with hash ${start.hash}: the head row was changed`,
    };
  }
  const remembered = memory?.newest();
  const known = [records?.anchor, remembered];
  const last =
    published && !known.some(anchor => anchor && anchor.seq >= published.seq)
      ? published
      : undefined;
  const anchors = [...known, last].filter(
    (anchor, i, all): anchor is AuditAnchorRecord =>
      !!anchor &&
      !all
        .slice(0, i)
        .some(a => a?.seq === anchor.seq && a.hash === anchor.hash),
  );
  // without a witness file no prune checkpoint is recorded anywhere: the chain's start is taken
  // as it is, as verify takes it then
  const witnessed = records
    ? records.checkpoints
    : [{ throughSeq: start.seq, hash: start.hash }];
  for (const anchor of anchors) {
    const failure = await anchorBroken(
      anchor,
      { headSeq: head.seq, start, witnessed },
      hashAt,
      { grownPast: true },
    );
    if (failure) return failure;
  }
  // every event the anchor would vouch for, checked as verify checks it: from the newest
  // anchor on (the whole chain before the first one), so that no anchor goes to a chain that
  // cannot verify, and each run walks only the events since the last one
  const newest = anchors.reduce<AuditAnchorRecord | undefined>(
    (a, b) => (a && a.seq >= b.seq ? a : b),
    undefined,
  );
  const walk = await store.verify(
    newest ? { from: { seq: newest.seq, hash: newest.hash } } : {},
  );
  if (!walk.ok) {
    return {
      failedSeq: walk.failedSeq ?? head.seq,
      reason: walk.reason ?? 'The chain does not verify',
    };
  }
  return undefined;
}

/**
 * Publishes the chain head as an anchor when it moved since this process last published one
 * (an empty chain has nothing to anchor). Returns the anchor, or undefined when it skipped.
 *
 * It publishes only a head that continues the anchors published before ({@link headBroken}):
 * otherwise it logs an error, records a failed `chain-anchor` event of severity high (once per
 * reason) and publishes nothing, so that the anchors in the file keep showing the change.
 */
export function createAnchorPublisher(options: {
  store: Pick<AuditStore, 'head' | 'get' | 'checkEvent' | 'verify'>;
  witness: AuditWitness;
  logger: LoggerService;
  memory?: AnchorMemory;
  auditor?: AuditorService;
}): () => Promise<AuditAnchorRecord | undefined> {
  const { store, witness, logger, memory, auditor } = options;
  let published: AuditChainHead | undefined;
  /** The last anchor published: checked, and walked from, on the next run (also without a file). */
  let lastAnchor: AuditAnchorRecord | undefined;
  /** The last refusal recorded: the same one on later runs is logged, not recorded again. */
  let refused: string | undefined;
  const readHead = async () => {
    try {
      return await store.head();
    } catch (error) {
      throw new Error(
        `Could not read the audit chain head to publish an anchor (tried again on the next run): ${stringifyError(
          error,
        )}`,
      );
    }
  };
  return async () => {
    const head = await readHead();
    if (head.seq === 0) {
      return undefined;
    }
    if (published?.seq === head.seq && published.hash === head.hash) {
      logger.debug(
        `Audit log anchor: the chain head is still event ${head.seq}, not published again`,
      );
      return undefined;
    }
    const records = await witness.read();
    memory?.remember(records?.anchor);
    let broken: Failure | undefined;
    try {
      broken = await headBroken(store, head, records, memory, lastAnchor);
    } catch (error) {
      throw new Error(
        `Could not check the audit chain head before publishing its anchor (tried again on the next run): ${stringifyError(
          error,
        )}`,
      );
    }
    if (broken) {
      if ((await readHead()).checkpoint?.seq !== head.checkpoint?.seq) {
        // pruned meanwhile (an event read may have gone with it): checked again on the next run
        logger.debug(
          `Audit log anchor: the chain was pruned while its head was checked, not published`,
        );
        return undefined;
      }
      const message = `Not publishing the audit log anchor of event ${head.seq}, which does not continue the anchors published before: ${broken.reason}`;
      logger.error(message);
      if (auditor && refused !== broken.reason) {
        refused = broken.reason;
        try {
          const eventOptions: AuditLogCreateEventOptions = {
            eventId: 'chain-anchor',
            severityLevel: 'high',
            // nothing is published: its record holds nothing back
            changesNothing: true,
          };
          const auditEvent = await auditor.createEvent(eventOptions);
          await auditEvent.fail({
            error: new Error(message),
            meta: {
              outcome: 'refused',
              headSeq: head.seq,
              failedSeq: broken.failedSeq,
            },
          });
        } catch (error) {
          logger.error(
            `Could not record the refused audit log anchor: ${stringifyError(
              error,
            )}`,
          );
        }
      }
      return undefined;
    }
    refused = undefined;
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
    lastAnchor = record;
    if (records) {
      memory?.remember(record);
    }
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
  store: Pick<AuditStore, 'head' | 'get' | 'checkEvent' | 'verify'>;
  witness: AuditWitness;
  logger: LoggerService;
  memory?: AnchorMemory;
  auditor?: AuditorService;
}): Promise<void> {
  const { settings, scheduler, store, witness, logger, memory, auditor } =
    options;
  if (!settings.enabled) {
    logger.info(
      'Audit log head anchors are off (auditLog.anchor.enabled: false): a tail cut from the database is not detectable',
    );
    return;
  }
  const publish = createAnchorPublisher({
    store,
    witness,
    logger,
    memory,
    auditor,
  });
  await scheduler.scheduleTask({
    id: 'audit-log-anchor',
    frequency: settings.frequency,
    timeout: { milliseconds: RUN_TIMEOUT_MS },
    initialDelay: { milliseconds: FIRST_RUN_DELAY_MS },
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
 * Every other anchor in the part read is checked too ({@link olderAnchorsBroken}): a tail cut
 * below one of them stays visible after the chain grew past it again and a newer one was
 * published.
 *
 * While anchors are published (`anchorsPublished`, default true), a file that does not vouch for
 * the chain's tail fails verify (`anchorMissing`): one that holds records but no anchor in the
 * part read (its newest anchor was pushed out of what verify reads, more than 1 MiB of other
 * lines since, or none was published to it yet), one that cannot be read, and one that does not
 * exist or holds no record although the chain holds events, since a tail cut from the database
 * cannot be ruled out. The last is nothing to check against only when this backend never saw an
 * anchor in it (`memory`) and within one anchor interval after it started or after the chain's
 * first event; without `memory`, never.
 *
 * A prune that runs between the read and the walk witnesses its checkpoint after the read, so the
 * walk would meet a start no checkpoint it was given records. A failed verify therefore reads the
 * file again and, when it has changed, verifies once more against what it holds now; the answer is
 * always the chain checked against one reading of the file.
 */
export async function verifyAgainstWitness(options: {
  store: Pick<AuditStore, 'verify' | 'get' | 'head'>;
  witness: Pick<AuditWitness, 'read'>;
  /** Whether the backend publishes head anchors (`auditLog.anchor.enabled`); default true. */
  anchorsPublished?: boolean;
  memory?: AnchorMemory;
}): Promise<AuditVerifyResult> {
  const { store, memory } = options;
  const anchorsPublished = options.anchorsPublished ?? true;
  const verifyWith = async (
    records: AuditWitnessRecords | undefined,
  ): Promise<AuditVerifyResult> => {
    memory?.remember(records?.anchor);
    const result = await store.verify(
      records?.anchor
        ? { anchor: records.anchor, witnessedCheckpoints: records.checkpoints }
        : undefined,
    );
    if (!result.ok) return result;
    const broken = records?.anchor
      ? await olderAnchorsBroken(store, records, memory?.newest(), result)
      : undefined;
    if (broken) {
      return { ...result, ok: false, keyed: false, ...broken };
    }
    const missing =
      anchorsPublished && records && !records.anchor
        ? await anchorMissing(store, records, result, memory)
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
 * The anchors in the part of the witness file read, other than the newest one the store checked,
 * and the newest one this backend remembers (`remembered`, when the file no longer holds it),
 * against the chain that verified: each must still be held ({@link anchorBroken}). The events are
 * read once each (at most one per anchor line in the 1 MiB read, {@link ANCHOR_READS} at a
 * time); an anchored event the database no longer holds because a prune ran since the walk is
 * left to the next verify, which checks that prune against the file.
 */
async function olderAnchorsBroken(
  store: Pick<AuditStore, 'get' | 'head'>,
  records: AuditWitnessRecords,
  remembered: AuditAnchorRecord | undefined,
  result: AuditVerifyResult,
): Promise<(Failure & Pick<AuditVerifyResult, 'anchorMismatch'>) | undefined> {
  const newest = records.anchor!;
  const start: ChainStart = result.pruned
    ? { seq: result.pruned.throughSeq, hash: result.pruned.hash }
    : { seq: 0, hash: GENESIS_HASH };
  const seen = new Set([JSON.stringify({ ...newest, at: undefined })]);
  const anchors = [
    ...(records.anchors ?? []),
    ...(remembered ? [remembered] : []),
  ]
    .filter(anchor => {
      const key = JSON.stringify({ ...anchor, at: undefined });
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.seq - b.seq);
  const seqs = [
    ...new Set(anchors.map(a => a.seq).filter(seq => seq > start.seq)),
  ];
  const hashes = new Map<number, string | undefined>();
  for (let i = 0; i < seqs.length; i += ANCHOR_READS) {
    const chunk = seqs.slice(i, i + ANCHOR_READS);
    const events = await Promise.all(chunk.map(seq => store.get(seq)));
    chunk.forEach((seq, j) => hashes.set(seq, events[j]?.hash));
  }
  // an event gone since the walk: pruned meanwhile, or removed
  const prunedThrough = [...hashes.values()].includes(undefined)
    ? (await store.head()).checkpoint?.seq ?? 0
    : 0;
  for (const anchor of anchors) {
    if (anchor.seq > start.seq && anchor.seq <= prunedThrough) continue;
    const failure = await anchorBroken(
      anchor,
      { headSeq: result.headSeq, start, witnessed: records.checkpoints },
      async seq => hashes.get(seq),
      { grownPast: true },
    );
    if (failure) {
      return { ...failure, anchorMismatch: { seq: anchor.seq, at: anchor.at } };
    }
  }
  return undefined;
}

/**
 * Why a witness file without an anchor in the part read cannot vouch for the chain's tail, or
 * undefined when there is nothing to vouch for yet (see {@link verifyAgainstWitness}).
 */
async function anchorMissing(
  store: Pick<AuditStore, 'get'>,
  records: AuditWitnessRecords,
  result: AuditVerifyResult,
  memory: AnchorMemory | undefined,
): Promise<string | undefined> {
  const { headSeq } = result;
  const after = `events after ${headSeq} may have been removed`;
  const remembered = memory?.newest();
  if (headSeq === 0 && !remembered) {
    return undefined;
  }
  if (records.unreadable) {
    return `The witness file could not be read (${records.unreadable}): a tail cut from the database cannot be ruled out (${after})`;
  }
  if (records.partial) {
    return `No head anchor in the last ${
      (WITNESS_TAIL_BYTES * WITNESS_MAX_READ_FACTOR) / 1024
    } KiB of the witness file, which is longer: the newest anchor was pushed out of what verify reads, so a tail cut from the database cannot be ruled out (${after})`;
  }
  const others =
    records.checkpoints.length +
    (records.losses?.length ?? 0) +
    (records.resolved?.length ?? 0);
  if (others > 0) {
    return `The witness file holds no head anchor, only ${others} other record(s): a tail cut from the database cannot be ruled out (${after}) until the next anchor is published`;
  }
  const file = records.missing
    ? 'The witness file does not exist'
    : 'The witness file holds no record';
  const cut = `it was moved aside or emptied, so a tail cut from the database cannot be ruled out (${after}) until the next anchor is published`;
  if (remembered) {
    return `${file}, but it held the anchor of event ${remembered.seq} published at ${remembered.at} when this backend last read or wrote it: ${cut}`;
  }
  if (memory) {
    const now = memory.now();
    if (now - memory.startedAt < memory.graceMs) {
      return undefined; // started without an anchor: the first one is not due yet
    }
    if (result.firstSeq === 1 && !result.pruned) {
      const first = await store.get(1);
      const since = first ? now - Date.parse(first.occurredAt) : NaN;
      if (Math.abs(since) < memory.graceMs) {
        return undefined; // a new chain: its first anchor is not due yet
      }
    }
  }
  const due = memory
    ? `at most ${Math.ceil(memory.graceMs / 60_000)} minutes`
    : 'one anchor interval';
  return `${file}, although the chain holds events up to ${headSeq} and head anchors are published (the first one is due ${due} after start-up or after the first event): ${cut}`;
}
