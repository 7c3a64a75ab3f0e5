import { LoggerService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError, stringifyError } from '@backstage/errors';
import {
  AUDIT_EVENT_SEVERITIES,
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEventInput,
  AuditEventSeverity,
  AuditGapInfo,
  describeGap,
} from '@kubechart/plugin-audit-log-common';
import { randomUUID } from 'node:crypto';

/**
 * Writes a batch of events to durable storage. Must either store the whole
 * batch or throw.
 * @public
 */
export type AuditEventSink = (batch: AuditEventInput[]) => Promise<void>;

/**
 * Which loss an {@link AuditLossRecorder} call records.
 * @public
 */
export type AuditLossContext = {
  /**
   * The loss's id (a UUID): the same in every call for one loss, whose counts only grow, so
   * the last record of an id has its counts. The gap record the queue writes for it carries it
   * as `meta.lossId`.
   */
  id: string;
  /**
   * True while the queue still holds the loss and writes its gap record itself once the
   * database takes writes: the record is only needed if the backend is killed first, and its
   * counts are those so far. False for events a stopping backend gives up.
   */
  pending: boolean;
};

/**
 * Records outside the database events the queue could not store, so that the loss leaves a
 * trace once the database is gone or the process is killed (see
 * {@link AuditEventQueue.recordLossesWith}). Called synchronously: the process may exit right
 * after.
 * @public
 */
export type AuditLossRecorder = (
  loss: AuditGapInfo,
  context: AuditLossContext,
) => void;

/**
 * Which record of held events an {@link AuditHeldRecorder} call makes.
 * @public
 */
export type AuditHeldContext = {
  /**
   * The id of the held events' records (a UUID): the same while the queue holds them, a new one
   * once it held none.
   */
  id: string;
  /**
   * True once the queue holds none of the events the records of `id` counted: written, or
   * dropped and counted by a loss record or a stored gap record. The records of `id` no longer count; `held`
   * is the last one.
   */
  resolved: boolean;
};

/**
 * Records outside the database the events the queue holds but could not write yet (a write
 * failed, or the oldest of them waited over a second past the flush interval): not lost while the backend runs, but lost if it is
 * killed (SIGKILL, out of memory) before it writes them. `held` counts them as a loss
 * (`dropped`, their time range, per severity; no event's content), under a reason that says they
 * waited in memory for the database; of several records of one id the last counts, and a
 * `resolved` one says none of them is lost. See {@link AuditEventQueue.recordHeldWith}. Called
 * synchronously: the process may be killed right after.
 * @public
 */
export type AuditHeldRecorder = (
  held: AuditGapInfo,
  context: AuditHeldContext,
) => void;

/**
 * Why held events are counted lost when a backend was killed before it resolved their record:
 * some of them may have been written after its last record of them.
 */
const HELD_LOSS_REASON =
  'waited in memory for the database when the backend stopped, not known to be stored';

/**
 * How long the oldest buffered event may wait past the flush interval before the events the
 * queue holds are recorded as held, whether a write has not answered or the writes answer too
 * slowly for what comes (a failed write records them at once).
 */
const HELD_RECORD_DELAY_MS = 1000;

/**
 * How long after it closed the queue waits before it records the events enqueued since (once;
 * later ones are recorded when the process exits).
 */
const LATE_LOSS_DELAY_MS = 1000;

/**
 * A pending loss is recorded outside the database at its first drop, at once (synchronously: a
 * backend killed right after leaves its line), then again as it grows: at most once a second
 * when its count has doubled since, else once a minute, so that a flood of drops during a long
 * outage writes a few lines, not one per drop. A new loss (the previous one's gap record was
 * stored) is recorded at its first drop too when the last record is a second old or more, else
 * a second after the last record: a queue that overflows batch after batch writes a short line a
 * second at most, so what verify reads of the file's end still reaches the last head anchor, and
 * a drop is only in memory for a second at most.
 */
const LOSS_RECORD_MIN_INTERVAL_MS = 1000;
const LOSS_RECORD_MAX_INTERVAL_MS = 60000;

/** Keys of a gap record's `byEvent`; further events are counted under {@link OTHER_EVENTS}. */
const MAX_GAP_EVENT_KEYS = 50;
const OTHER_EVENTS = 'other events';

/** Why a queued event was dropped to make room for a more severe one. */
const EVICTED = 'queue full, dropped for a more severe event';

function rankOf(severity: AuditEventSeverity): number {
  return Math.max(0, AUDIT_EVENT_SEVERITIES.indexOf(severity));
}

/**
 * Options of {@link AuditEventQueue}.
 * @public
 */
export type AuditEventQueueOptions = {
  logger: LoggerService;
  /** Maximum number of buffered events. Default 10000. */
  maxSize?: number;
  /** Maximum number of events handed to the sink at once. Default 500. */
  batchSize?: number;
  /** How long a partial batch may wait before it is written. Default 50 ms. */
  flushIntervalMs?: number;
  /**
   * How long `enqueue` may wait for room when the buffer is full before it
   * drops the event. Default 100 ms.
   */
  maxEnqueueWaitMs?: number;
  /** Upper bound of the retry delay after a failed write. Default 5000 ms. */
  maxRetryDelayMs?: number;
  /**
   * How long writes may keep failing before the events of a failing batch are
   * dropped (and recorded in a gap record) instead of retried. Default
   * 300000 ms (5 minutes).
   */
  maxRetryDurationMs?: number;
  /**
   * How long a stopping backend waits, in all, for audited operations in progress to record
   * their outcome before the database closes. Default 10000 ms.
   */
  maxShutdownWaitMs?: number;
  /**
   * How long {@link AuditEventQueue.enqueueStored} waits for its event to be written before it
   * rejects. Default 5000 ms.
   */
  maxStoreWaitMs?: number;
};

/**
 * Counters of an {@link AuditEventQueue}.
 * @public
 */
export type AuditEventQueueStats = {
  buffered: number;
  written: number;
  dropped: number;
  failedWrites: number;
  /** Dropped events not yet recorded in a stored gap record. */
  unrecordedDrops: number;
};

/**
 * The gap record appended to the chain in place of dropped events.
 * @public
 */
export function createGapEvent(
  gap: AuditGapInfo,
  lossId?: string,
  options?: {
    /**
     * The count of the last record of the loss outside the database under `lossId`
     * (`meta.lossRecorded`): a backend starting meanwhile may have appended a gap record for
     * it from that record, and the store then keeps only what the chain's gap records of
     * `lossId` do not count, taking off at most this many. `gap` then counts the whole loss,
     * also the part an earlier gap record of it counts.
     */
    recorded?: number;
  },
): AuditEventInput {
  return {
    occurredAt: new Date().toISOString(),
    plugin: AUDIT_LOG_PLUGIN_ID,
    eventId: AUDIT_GAP_EVENT_ID,
    severity: 'high',
    status: 'failed',
    target: {},
    meta: {
      gap: copyGap(gap),
      ...(lossId ? { lossId } : {}),
      ...(lossId && options?.recorded && options.recorded > 0
        ? { lossRecorded: options.recorded }
        : {}),
    },
    error: describeGap(gap),
  };
}

/**
 * Dropped events not in the chain yet, under the id their loss records carry. `stored`: a loss
 * that goes on after a gap record of it was stored (see {@link AuditEventQueue}'s write), whose
 * `info` counts the whole loss and the first `stored` events of it are in the chain.
 */
type PendingGap = { id: string; info: AuditGapInfo; stored?: number };

/** Someone waiting for an event to be written (see {@link AuditEventQueue.enqueueStored}). */
type StoreWaiter = { resolve: () => void; reject: (error: Error) => void };

/**
 * A bounded in-memory queue between the auditor service (which every plugin
 * uses) and the audit store (which lives in the audit-log backend plugin).
 *
 * `enqueue` never throws and waits at most `maxEnqueueWaitMs`: when the buffer
 * is full it applies back-pressure for that long, then makes room by dropping
 * the newest queued event less severe than the new one (a flood of `low` events
 * never crowds out a `high` one), or else drops the new event, and counts it.
 * `enqueueStored` (for an event that must be in the trail before the change it
 * announces is made) resolves only once the batch holding its event is written,
 * and rejects with a `ServiceUnavailableError` when the event is dropped or not
 * written within `maxStoreWaitMs`. Events are handed to the sink in batches, in
 * order; a failed write is retried with backoff without losing the batch, for at
 * most `maxRetryDurationMs`, after which failing batches are dropped. Every drop
 * is remembered and written to the chain as a gap record ("N events dropped
 * between … and … because …; by severity: …", with counts per event) in front
 * of the next batch that is stored, and recorded at once outside the database
 * by the {@link AuditLossRecorder} (again as it grows), so that a backend killed
 * before the gap record is written leaves a trace of it. `drain` writes
 * everything that is buffered.
 *
 * On shutdown (`drainOnShutdown`, then `close`) the sink stays attached until the queue closes,
 * so requests that complete while the backend stops have their events written; a write that
 * fails then is not retried. What cannot be stored is merged into one loss, reported when the
 * queue closes: an `error` log line with the counts and the {@link AuditLossRecorder}, which
 * keeps it outside the database. Events enqueued after that are merged again and reported once
 * more, a second after the first of them, and what comes later still when the process exits:
 * at most three loss records per shutdown, however many events are lost.
 *
 * @public
 */
export class AuditEventQueue {
  readonly #logger: LoggerService;
  readonly #maxSize: number;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxEnqueueWaitMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #maxRetryDurationMs: number;
  readonly #maxShutdownWaitMs: number;
  readonly #maxStoreWaitMs: number;
  /** Dropped events whose gap record is still to be written. */
  #gap: PendingGap | undefined;
  /** The gap record of the write in progress. */
  #flightGap: PendingGap | undefined;
  /** The last record of a pending loss: its id, count and when (see {@link LOSS_RECORD_MIN_INTERVAL_MS}). */
  #lossRecorded: { id: string; dropped: number; at: number } | undefined;
  #lossRecordTimer: ReturnType<typeof setTimeout> | undefined;
  #lossRecordDue = 0;
  /**
   * The count of the last record outside the database of each pending loss, until its gap
   * record is stored.
   */
  #recordedLosses = new Map<string, number>();
  #failingSince: number | undefined;

  #buffer: AuditEventInput[] = [];
  /** Buffered events per severity rank. */
  #bufferedBySeverity: number[] = AUDIT_EVENT_SEVERITIES.map(() => 0);
  /** The first events of the buffer, handed to the sink by the write in progress. */
  #inFlight = 0;
  #storeWaiters = new Map<AuditEventInput, StoreWaiter>();
  #sink: AuditEventSink | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #retryDelayMs = 0;
  #waiters: Array<() => void> = [];
  #written = 0;
  #dropped = 0;
  #failedWrites = 0;
  #lastDropWarning = 0;
  /** Audited operations whose outcome event is still to come. */
  #openEvents = 0;
  #settledWaiters: Array<() => void> = [];
  /** When a stopping backend stops waiting for open events. */
  #shutdownDeadline: number | undefined;
  #closed = false;
  #recordLoss: AuditLossRecorder | undefined;
  #recordHeld: AuditHeldRecorder | undefined;
  /**
   * Whether the queue cannot write: a write failed (until one succeeds), or one has gone
   * unanswered for {@link HELD_RECORD_DELAY_MS}. Meanwhile what it holds is recorded as held.
   */
  #stuck = false;
  /**
   * The events recorded as held under `id`, until the queue holds none of them: `recorded` is
   * the count and time of its last record, `changed` says some left the buffer since.
   */
  #held:
    | {
        id: string;
        events: Set<AuditEventInput>;
        /**
         * Those of them that were dropped, by where their loss is: the record goes on counting
         * them until a loss record outside the database or a stored gap record counts them, so
         * that a backend killed in between counts them twice at worst, never not at all.
         */
        dropped: HeldDrops;
        recorded: { count: number; at: number; info: AuditGapInfo };
        /** Some of them were written or counted elsewhere since the last record. */
        changed: boolean;
      }
    | undefined;
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  #heldDue = 0;
  /** When each buffered event came (or the sink was attached, if later): how long it waited. */
  #enqueuedAt = new WeakMap<AuditEventInput, number>();
  #sinkAttachedAt = 0;
  #ageTimer: ReturnType<typeof setTimeout> | undefined;
  /** When held events were last recorded, and the delay of a new record after it. */
  #heldRecordedAt: number | undefined;
  #newHeldDelay = LOSS_RECORD_MIN_INTERVAL_MS;
  /**
   * Events lost while the backend stops, not reported yet, the last error why, and the id of
   * the pending loss they continue (recorded before under that id).
   */
  #loss:
    | { gap: AuditGapInfo; cause?: unknown; id?: string; stored?: number }
    | undefined;
  #lateLossTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the loss of the events enqueued after the queue closed was reported once. */
  #lateLossReported = false;
  #closeReported = false;
  readonly #onExit = () => this.#reportLoss();

  constructor(options: AuditEventQueueOptions) {
    this.#logger = options.logger;
    this.#maxSize = options.maxSize ?? 10000;
    this.#batchSize = options.batchSize ?? 500;
    this.#flushIntervalMs = options.flushIntervalMs ?? 50;
    this.#maxEnqueueWaitMs = options.maxEnqueueWaitMs ?? 100;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.#maxRetryDurationMs = options.maxRetryDurationMs ?? 300000;
    this.#maxShutdownWaitMs = options.maxShutdownWaitMs ?? 10000;
    this.#maxStoreWaitMs = options.maxStoreWaitMs ?? 5000;
    if (this.#maxSize < 1 || this.#batchSize < 1) {
      throw new Error('Audit queue maxSize and batchSize must be positive');
    }
  }

  /** Current counters. */
  stats(): AuditEventQueueStats {
    return {
      buffered: this.#buffer.length,
      written: this.#written,
      dropped: this.#dropped,
      failedWrites: this.#failedWrites,
      unrecordedDrops:
        (this.#gap ? this.#gap.info.dropped - (this.#gap.stored ?? 0) : 0) +
        (this.#loss ? this.#loss.gap.dropped - (this.#loss.stored ?? 0) : 0),
    };
  }

  /**
   * Adds an event. Resolves once it is buffered, or after at most
   * `maxEnqueueWaitMs` when the buffer stays full while a sink is attached
   * (without a sink at once): the newest queued event less severe than this one
   * is then dropped in its place, or else this one. Never rejects.
   */
  async enqueue(event: AuditEventInput): Promise<void> {
    // Only wait when a sink is draining the buffer; without one, waiting
    // would just slow every audited request down.
    if (this.#buffer.length >= this.#maxSize && this.#sink) {
      await this.#waitForRoom();
    }
    if (this.#closed) {
      this.#drop([event], 'audited after the backend stopped');
      return;
    }
    if (
      this.#buffer.length >= this.#maxSize &&
      !this.#dropLessSevereThan(event.severity)
    ) {
      this.#drop([event], 'queue full');
      return;
    }
    this.#buffer.push(event);
    this.#bufferedBySeverity[rankOf(event.severity)] += 1;
    this.#enqueuedAt.set(event, Date.now());
    if (this.#stuck) {
      this.#recordHeldSoon();
    } else if (!this.#ageTimer) {
      this.#checkAge();
    }
    this.#schedule();
  }

  /**
   * Adds an event that must be in the trail before the change it announces is made: resolves
   * once the batch holding it is written. Rejects with a `ServiceUnavailableError` when it is
   * dropped, or not written within `maxStoreWaitMs` (the database is down or overloaded); it may
   * still be written later then. While such an event waits, batches are written without waiting
   * for the flush interval.
   */
  async enqueueStored(event: AuditEventInput): Promise<void> {
    const waitMs = this.#maxStoreWaitMs;
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const stored = new Promise<void>((resolve, reject) => {
      this.#storeWaiters.set(event, { resolve, reject });
      timer = setTimeout(
        () =>
          reject(
            new ServiceUnavailableError(
              `The audit trail did not store this event within ${waitMs} ms (auditLog.queue.maxStoreWaitMs): the audit database is unavailable or overloaded`,
            ),
          ),
        waitMs,
      );
    });
    // settled before it is awaited when the event is dropped at once
    stored.catch(() => {});
    try {
      await this.enqueue(event);
      await stored;
    } finally {
      clearTimeout(timer);
      this.#storeWaiters.delete(event);
    }
  }

  /**
   * Connects the store. Buffered events start flowing to it right away.
   */
  attachSink(sink: AuditEventSink): void {
    this.#sink = sink;
    this.#retryDelayMs = 0;
    this.#sinkAttachedAt = Date.now();
    this.#schedule(true);
    this.#checkAge();
  }

  /**
   * Writes everything buffered, then disconnects the sink. Used on shutdown.
   * Stops early (leaving events buffered) if the sink keeps failing.
   */
  async detachSink(): Promise<void> {
    await this.drain();
    this.#sink = undefined;
    this.#clearTimer();
  }

  /**
   * Writes every buffered event to the sink. Resolves when the buffer is empty,
   * or when a write fails (the failure is logged and the events kept; while
   * the backend stops, given up and reported instead).
   */
  async drain(): Promise<void> {
    this.#clearTimer();
    while (this.#sink && (this.#buffer.length > 0 || this.#gap)) {
      const ok = await this.#flush();
      if (!ok && !this.#stopping) {
        break;
      }
    }
  }

  /**
   * Marks an audited operation as started: its outcome event is still to come.
   * Call the returned function once the outcome is enqueued (later calls do
   * nothing); a stopping backend waits for these before its database closes.
   */
  beginEvent(): () => void {
    this.#openEvents += 1;
    let ended = false;
    return () => {
      if (ended) {
        return;
      }
      ended = true;
      this.#openEvents -= 1;
      if (this.#openEvents === 0) {
        const waiters = this.#settledWaiters;
        this.#settledWaiters = [];
        waiters.forEach(settled => settled());
      }
    };
  }

  /**
   * Where events a stopping backend cannot store are recorded outside the
   * database (the audit-log backend plugin keeps them in its witness file and
   * appends their gap record on the next start).
   */
  recordLossesWith(recorder: AuditLossRecorder): void {
    this.#recordLoss = recorder;
    // events dropped before (at start-up, with no sink yet)
    this.#recordPendingLossSoon();
  }

  /**
   * Where the events the queue holds but cannot write are recorded outside the database (the
   * audit-log backend plugin keeps them in its witness file, and the next start appends the gap
   * record of those a killed backend never resolved). They are recorded at once when a write
   * fails, or when the oldest buffered event waited over a second past the flush interval;
   * again, under the same id, as more come (at most once a second) or are written (after a
   * second when their count halved, else after a minute); a dropped one stays counted until a
   * loss record, written first, or a stored gap record counts it; and resolved once the queue
   * holds none of them. Held events a new write cannot take, soon after
   * the last ones were resolved, are recorded only if still held after a delay that starts at a
   * second and doubles with each, up to a minute.
   */
  recordHeldWith(recorder: AuditHeldRecorder): void {
    this.#recordHeld = recorder;
  }

  /**
   * First step of a shutdown, while the database is still open (the audit-log
   * plugin's shutdown hook): waits until the audited operations in progress
   * have enqueued their outcome (at most `maxShutdownWaitMs` over the whole
   * shutdown), then writes everything buffered. The sink stays attached, so
   * events that come later are written as long as the database takes them;
   * from now on a failed write is not retried, its events are reported lost.
   */
  async drainOnShutdown(): Promise<void> {
    if (this.#shutdownDeadline === undefined) {
      this.#shutdownDeadline = Date.now() + this.#maxShutdownWaitMs;
    }
    await this.#waitForOpenEvents();
    await this.drain();
  }

  /**
   * Last step of a shutdown (the queue's root shutdown hook): `drainOnShutdown`,
   * then closes the queue. What is still unstored, with every event lost since
   * the shutdown began, is reported in one loss (`error` log line with the
   * counts, and the loss recorder). Events enqueued after are dropped and
   * reported together: once a second after the first of them, then when the
   * process exits.
   */
  async close(): Promise<void> {
    await this.drainOnShutdown();
    this.#closed = true;
    this.#sink = undefined;
    this.#clearTimer();
    clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
    clearTimeout(this.#lossRecordTimer);
    this.#lossRecordTimer = undefined;
    const left = this.#buffer.splice(0);
    this.#bufferedBySeverity.fill(0);
    this.#inFlight = 0;
    this.#drop(left, 'not stored before the backend stopped');
    if (this.#gap) {
      // dropped before the shutdown began, with no write since to carry its gap record: the
      // loss goes on under the id it was recorded with
      this.#addLoss(this.#gap.info, undefined, this.#gap.id, this.#gap.stored);
      this.#gap = undefined;
    }
    this.#heldDropsMoved('gap', 'loss');
    // the loss first, then the held record that no longer counts what it does: a backend killed
    // in between counts those events twice, never not at all
    this.#reportLoss();
    this.#recordHeldSoon();
    this.#closeReported = true;
    this.#wakeWaiters();
  }

  get #stopping(): boolean {
    return this.#shutdownDeadline !== undefined;
  }

  async #waitForOpenEvents(): Promise<void> {
    const wait = (this.#shutdownDeadline ?? 0) - Date.now();
    if (this.#openEvents === 0 || wait <= 0) {
      return;
    }
    const settled = await new Promise<boolean>(resolve => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const onSettled = () => {
        clearTimeout(timer);
        resolve(true);
      };
      timer = setTimeout(() => {
        this.#settledWaiters = this.#settledWaiters.filter(
          w => w !== onSettled,
        );
        resolve(false);
      }, wait);
      this.#settledWaiters.push(onSettled);
    });
    if (!settled) {
      this.#logger.warn(
        `Stopped waiting for ${
          this.#openEvents
        } audited operation(s) in progress after ${
          this.#maxShutdownWaitMs
        } ms (auditLog.queue.maxShutdownWaitMs): their outcome events are stored if they come while the database is open, otherwise reported lost`,
      );
    }
  }

  /**
   * While the backend stops there may be no later write to carry a gap record: the dropped
   * events are merged into one loss, reported when the queue closes (and, for events that
   * come after, later: see {@link AuditEventQueue.close}) or when the process exits first.
   */
  #addLoss(gap: AuditGapInfo, cause?: unknown, id?: string, stored?: number) {
    if (id && this.#loss?.id && this.#loss.id !== id) {
      // two losses recorded under their ids: merged, the next start would count one twice
      this.#reportLoss();
    }
    if (!this.#loss) {
      process.once('exit', this.#onExit);
    }
    this.#loss = {
      gap: this.#loss ? mergeGaps(this.#loss.gap, gap) : gap,
      cause: cause ?? this.#loss?.cause,
      id: id ?? this.#loss?.id,
      stored: stored ?? this.#loss?.stored,
    };
    if (
      this.#closeReported &&
      !this.#lateLossReported &&
      !this.#lateLossTimer
    ) {
      this.#lateLossTimer = setTimeout(() => {
        this.#lateLossTimer = undefined;
        this.#lateLossReported = true;
        this.#reportLoss();
      }, LATE_LOSS_DELAY_MS);
      this.#lateLossTimer.unref?.();
    }
  }

  /** Logs the pending loss and hands it to the loss recorder. */
  #reportLoss() {
    const loss = this.#loss;
    if (!loss) {
      return;
    }
    this.#loss = undefined;
    process.removeListener('exit', this.#onExit);
    const { gap, cause, id = randomUUID(), stored } = loss;
    this.#logger.error(
      `Audit events lost while the backend stopped: ${describeGap(gap)}${
        stored ? `, of which a gap record in the chain counts ${stored}` : ''
      }${cause === undefined ? '' : ` (${stringifyError(cause)})`}`,
    );
    try {
      if (this.#recordLoss) {
        this.#recordLoss(copyGap(gap), { id, pending: false });
        if (this.#heldDropsCounted('loss')) {
          this.#recordHeldNow();
        }
      }
    } catch (error) {
      this.#logger.error(
        `Could not record the lost audit events outside the database: ${stringifyError(
          error,
        )}`,
      );
    }
  }

  #drop(events: AuditEventInput[], reason: string, cause?: unknown) {
    if (events.length === 0) {
      return;
    }
    this.#dropped += events.length;
    if (this.#storeWaiters.size > 0) {
      const error = new ServiceUnavailableError(
        `The audit trail could not take this event: ${reason}`,
      );
      for (const event of events) {
        this.#storeWaiters.get(event)?.reject(error);
      }
    }
    if (this.#stopping) {
      // a loss of its own, however many drops: it goes to the loss recorder, not the chain
      this.#addLoss(addDrops(newGap(events), events, reason), cause);
      this.#heldDropped(events, 'loss');
      return;
    }
    this.#gap ??= { id: randomUUID(), info: newGap(events) };
    addDrops(this.#gap.info, events, reason);
    this.#heldDropped(events, 'gap');
    this.#recordPendingLossSoon();
    const now = Date.now();
    // one warning per second at most, the counter tells the rest
    if (now - this.#lastDropWarning > 1000) {
      this.#lastDropWarning = now;
      this.#logger.warn(
        `Audit events dropped (${reason}); ${
          this.#dropped
        } event(s) dropped so far, a gap record will mark them in the chain`,
      );
    }
  }

  /**
   * Drops the newest queued event (not being written) of the lowest severity below `severity`,
   * to make room for an event of that severity. Returns whether it did.
   */
  #dropLessSevereThan(severity: AuditEventSeverity): boolean {
    const rank = rankOf(severity);
    for (let lower = 0; lower < rank; lower++) {
      if (this.#bufferedBySeverity[lower] === 0) continue;
      for (let i = this.#buffer.length - 1; i >= this.#inFlight; i--) {
        if (rankOf(this.#buffer[i].severity) === lower) {
          const [dropped] = this.#buffer.splice(i, 1);
          this.#bufferedBySeverity[lower] -= 1;
          this.#drop([dropped], EVICTED);
          return true;
        }
      }
    }
    return false;
  }

  /** Removes the first `count` buffered events (written, or given up). */
  #removeHead(count: number) {
    for (const event of this.#buffer.splice(0, count)) {
      this.#bufferedBySeverity[rankOf(event.severity)] -= 1;
    }
  }

  /**
   * The dropped events whose gap record is not in the chain yet, as their loss record says:
   * while a gap record is being written, the drops since count under its id (they join it if
   * the write fails; if it succeeds, they go on under its id when a loss record counted them
   * there, else they are a loss of their own).
   */
  #pendingLoss(): PendingGap | undefined {
    const flight = this.#flightGap;
    if (flight) {
      return this.#gap
        ? { id: flight.id, info: mergeGaps(flight.info, this.#gap.info) }
        : undefined;
    }
    return this.#gap;
  }

  /**
   * Records the pending loss outside the database: a new loss at once when the last record is
   * {@link LOSS_RECORD_MIN_INTERVAL_MS} old, else when it is; one that grew after
   * {@link LOSS_RECORD_MIN_INTERVAL_MS} if its count doubled, {@link LOSS_RECORD_MAX_INTERVAL_MS}
   * otherwise (at once when nothing was recorded for that long).
   */
  #recordPendingLossSoon() {
    if (!this.#recordLoss || this.#stopping) {
      return;
    }
    const loss = this.#pendingLoss();
    const last = this.#lossRecorded;
    if (!loss) {
      return;
    }
    if (last?.id === loss.id && loss.info.dropped <= last.dropped) {
      return;
    }
    const since = last ? Date.now() - last.at : Infinity;
    if (
      since >= LOSS_RECORD_MAX_INTERVAL_MS ||
      (last?.id !== loss.id && since >= LOSS_RECORD_MIN_INTERVAL_MS)
    ) {
      this.#recordPendingLoss();
      return;
    }
    // `last` is set: a new loss a second after the last record, one that doubled a second after
    // its last, one that grew less a minute after
    const due =
      last!.at +
      (last!.id !== loss.id || loss.info.dropped >= 2 * last!.dropped
        ? LOSS_RECORD_MIN_INTERVAL_MS
        : LOSS_RECORD_MAX_INTERVAL_MS);
    if (this.#lossRecordTimer && this.#lossRecordDue <= due) {
      return;
    }
    clearTimeout(this.#lossRecordTimer);
    this.#lossRecordDue = due;
    this.#lossRecordTimer = setTimeout(
      () => this.#recordPendingLoss(),
      Math.max(0, due - Date.now()),
    );
    this.#lossRecordTimer.unref?.();
  }

  #recordPendingLoss() {
    clearTimeout(this.#lossRecordTimer);
    this.#lossRecordTimer = undefined;
    const loss = this.#pendingLoss();
    if (!loss || !this.#recordLoss || this.#stopping) {
      return;
    }
    const last = this.#lossRecorded;
    if (last?.id === loss.id && loss.info.dropped <= last.dropped) {
      return; // recorded with these counts already
    }
    const now = Date.now();
    this.#lossRecorded = { id: loss.id, dropped: loss.info.dropped, at: now };
    this.#recordedLosses.set(loss.id, loss.info.dropped);
    try {
      this.#recordLoss(copyGap(loss.info), { id: loss.id, pending: true });
      // the held record no longer counts what this loss record does (written first: a backend
      // killed in between counts them twice, never not at all)
      if (this.#heldDropsCounted('gap', 'flight')) {
        this.#recordHeldNow();
      }
    } catch (error) {
      this.#logger.error(
        `Could not record the dropped audit events outside the database: ${stringifyError(
          error,
        )}`,
      );
    }
  }

  /** Takes written events off the held events. */
  #releaseHeld(events: AuditEventInput[]) {
    const held = this.#held;
    if (!held) {
      return;
    }
    for (const event of events) {
      if (held.events.delete(event)) {
        held.changed = true;
      }
    }
  }

  /**
   * Held events that were dropped, their loss now in `where`: still counted by the held record
   * until a record outside memory counts them ({@link AuditEventQueue.#heldDropsCounted}).
   */
  #heldDropped(events: AuditEventInput[], where: keyof HeldDrops) {
    const held = this.#held;
    if (!held) {
      return;
    }
    for (const event of events) {
      if (held.events.delete(event)) {
        held.dropped[where].add(event);
      }
    }
  }

  /** The loss of dropped held events moved, e.g. a gap record that could not be written. */
  #heldDropsMoved(from: keyof HeldDrops, to: keyof HeldDrops) {
    const dropped = this.#held?.dropped;
    if (!dropped || dropped[from].size === 0) {
      return;
    }
    for (const event of dropped[from]) {
      dropped[to].add(event);
    }
    dropped[from] = new Set();
  }

  /**
   * A loss record outside the database, or a stored gap record, now counts the dropped held
   * events whose loss is in `where`: the held record leaves them out, at once after a loss
   * record (itself throttled), as it shrinks otherwise after a stored gap record.
   */
  #heldDropsCounted(...where: Array<keyof HeldDrops>): boolean {
    const held = this.#held;
    if (!held || where.every(w => held.dropped[w].size === 0)) {
      return false;
    }
    for (const w of where) {
      held.dropped[w] = new Set();
    }
    held.changed = true;
    return true;
  }

  /**
   * Marks the queue stuck once its oldest buffered event waited {@link HELD_RECORD_DELAY_MS}
   * past the flush interval (since the sink was attached), and records what it holds; else
   * checks again when it will have.
   */
  #checkAge() {
    clearTimeout(this.#ageTimer);
    this.#ageTimer = undefined;
    if (
      !this.#recordHeld ||
      !this.#sink ||
      this.#closed ||
      this.#buffer.length === 0
    ) {
      return;
    }
    const now = Date.now();
    const since = Math.max(
      this.#enqueuedAt.get(this.#buffer[0]) ?? now,
      this.#sinkAttachedAt,
    );
    const due = since + this.#flushIntervalMs + HELD_RECORD_DELAY_MS;
    if (due <= now) {
      this.#stuck = true;
      this.#recordHeldSoon();
      return;
    }
    this.#ageTimer = setTimeout(() => this.#checkAge(), due - now);
    this.#ageTimer.unref?.();
  }

  /**
   * Records the held events: at once when the queue gets stuck (after the delay of new records
   * when the last was less than a minute ago), then as they grow (while stuck) or leave the
   * buffer (see {@link AuditEventQueue.recordHeldWith}); resolved at once when none is left.
   */
  #recordHeldSoon() {
    if (!this.#recordHeld) {
      return;
    }
    const held = this.#held;
    const now = Date.now();
    let due: number;
    if (!held) {
      if (!this.#stuck || this.#buffer.length === 0) {
        return;
      }
      const last = this.#heldRecordedAt;
      due =
        last === undefined || now - last >= LOSS_RECORD_MAX_INTERVAL_MS
          ? now
          : last + this.#newHeldDelay;
    } else {
      const count =
        (this.#stuck ? this.#buffer.length : held.events.size) +
        heldDropCount(held.dropped);
      const { count: recorded, at } = held.recorded;
      if (count === 0) {
        due = now;
      } else if (count === recorded && !held.changed) {
        return;
      } else {
        // more than the record counts: again within a second while they grow; fewer: after
        // a second when halved, else after a minute (the record counts too many meanwhile)
        due =
          at +
          (count > recorded || 2 * count <= recorded
            ? LOSS_RECORD_MIN_INTERVAL_MS
            : LOSS_RECORD_MAX_INTERVAL_MS);
      }
    }
    if (due <= now) {
      this.#recordHeldNow();
      return;
    }
    if (this.#heldTimer && this.#heldDue <= due) {
      return;
    }
    clearTimeout(this.#heldTimer);
    this.#heldDue = due;
    this.#heldTimer = setTimeout(
      () => this.#recordHeldNow(),
      Math.max(0, due - now),
    );
    this.#heldTimer.unref?.();
  }

  /**
   * Records now what the queue holds (while stuck: everything buffered) or what is left of the
   * events recorded before; resolves their record when none is left.
   */
  #recordHeldNow() {
    clearTimeout(this.#heldTimer);
    this.#heldTimer = undefined;
    const recorder = this.#recordHeld;
    if (!recorder) {
      return;
    }
    const now = Date.now();
    let held = this.#held;
    if (!held) {
      if (!this.#stuck || this.#buffer.length === 0) {
        return;
      }
      const last = this.#heldRecordedAt;
      if (last !== undefined) {
        // doubled while the queue gets stuck again and again, back to a second after a quiet minute
        this.#newHeldDelay =
          now - last >= LOSS_RECORD_MAX_INTERVAL_MS
            ? LOSS_RECORD_MIN_INTERVAL_MS
            : Math.min(LOSS_RECORD_MAX_INTERVAL_MS, this.#newHeldDelay * 2);
      }
      held = {
        id: randomUUID(),
        events: new Set(),
        dropped: { gap: new Set(), flight: new Set(), loss: new Set() },
        recorded: { count: 0, at: now, info: newGap(this.#buffer) },
        changed: false,
      };
      this.#held = held;
    }
    if (this.#stuck) {
      for (const event of this.#buffer) {
        held.events.add(event);
      }
    }
    held.changed = false;
    let info: AuditGapInfo;
    let resolved = false;
    const events = [
      ...held.events,
      ...held.dropped.gap,
      ...held.dropped.flight,
      ...held.dropped.loss,
    ];
    if (events.length === 0) {
      this.#held = undefined;
      info = held.recorded.info;
      resolved = true;
    } else {
      info = addDrops(newGap(events), events, HELD_LOSS_REASON);
      // their time range and severities only: the count per event is not recorded for them
      delete info.byEvent;
      held.recorded = { count: events.length, at: now, info };
    }
    this.#heldRecordedAt = now;
    try {
      recorder(copyGap(info), { id: held.id, resolved });
    } catch (error) {
      this.#logger.error(
        `Could not record the audit events waiting for the database outside it: ${stringifyError(
          error,
        )}`,
      );
    }
  }

  #waitForRoom(): Promise<void> {
    return new Promise(resolve => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = () => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter(w => w !== finish);
          resolve();
        }
      };
      timer = setTimeout(finish, this.#maxEnqueueWaitMs);
      this.#waiters.push(finish);
      // make sure someone is working on freeing room
      this.#schedule(true);
    });
  }

  #wakeWaiters() {
    let room = this.#maxSize - this.#buffer.length;
    while (room > 0 && this.#waiters.length > 0) {
      this.#waiters.shift()!();
      room -= 1;
    }
  }

  #clearTimer() {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule(immediate = false) {
    if (
      !this.#sink ||
      this.#flushing ||
      (this.#buffer.length === 0 && !this.#gap)
    ) {
      return;
    }
    const full = this.#buffer.length >= this.#batchSize;
    // while the backend stops, every event may be the last chance to write; an event a change
    // waits for is written as soon as the write in progress is done
    let delay =
      immediate || full || this.#stopping || this.#storeWaiters.size > 0
        ? 0
        : this.#flushIntervalMs;
    if (this.#retryDelayMs > 0 && !this.#stopping) {
      delay = this.#retryDelayMs;
    }
    if (this.#timer) {
      if (delay > 0) {
        return; // a flush is already scheduled
      }
      this.#clearTimer();
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush().then(() => this.#schedule());
    }, delay);
    this.#timer.unref?.();
  }

  /** Writes one batch. Returns false if the write failed. */
  async #flush(): Promise<boolean> {
    if (this.#flushing) {
      await this.#flushing;
      return true;
    }
    const sink = this.#sink;
    if (!sink || (this.#buffer.length === 0 && !this.#gap)) {
      return true;
    }
    // A pending gap record travels in front of the events that follow it.
    const gap = this.#gap;
    this.#gap = undefined;
    this.#flightGap = gap;
    const events = this.#buffer.slice(0, this.#batchSize - (gap ? 1 : 0));
    this.#inFlight = events.length;
    const batch = gap
      ? [
          createGapEvent(gap.info, gap.id, {
            recorded: this.#recordedLosses.get(gap.id),
          }),
          ...events,
        ]
      : events;
    if (gap) {
      // counted by the gap record once it is stored
      this.#heldDropsMoved('gap', 'flight');
    }
    let ok = true;
    this.#flushing = (async () => {
      try {
        await sink(batch);
        this.#inFlight = 0;
        this.#flightGap = undefined;
        this.#removeHead(events.length);
        this.#written += events.length;
        this.#retryDelayMs = 0;
        this.#failingSince = undefined;
        this.#stuck = false;
        this.#releaseHeld(events);
        this.#heldDropsCounted('flight');
        if (this.#held?.changed) {
          this.#recordHeldSoon();
        }
        // still stuck if what is left waited too long: the writes do not keep up
        this.#checkAge();
        if (gap) {
          this.#logger.warn(
            `Audit chain gap recorded: ${describeGap(gap.info)}${
              gap.stored
                ? `, of which an earlier gap record counts ${gap.stored}`
                : ''
            }`,
          );
          if ((this.#recordedLosses.get(gap.id) ?? 0) > gap.info.dropped) {
            // The loss record outside the database counts, under this id, drops made during
            // the write: a backend killed now would find the id in the chain. The loss goes on
            // under it, its gap record counting it whole (the store keeps what the chain's
            // gap records of the id do not count), so the next start appends the rest.
            this.#gap = this.#gap && {
              id: gap.id,
              info: mergeGaps(gap.info, this.#gap.info),
              stored: gap.info.dropped,
            };
          } else {
            this.#recordedLosses.delete(gap.id);
          }
        }
        if (this.#storeWaiters.size > 0) {
          for (const event of events) {
            this.#storeWaiters.get(event)?.resolve();
          }
        }
        this.#wakeWaiters();
        // drops during the write: a loss of their own now that this gap record is stored, or
        // the rest of its loss
        this.#recordPendingLossSoon();
      } catch (error) {
        ok = false;
        this.#failedWrites += 1;
        this.#inFlight = 0;
        this.#flightGap = undefined;
        if (gap) {
          // the drops during the write join the gap record that could not be written
          this.#gap = this.#gap
            ? { ...gap, info: mergeGaps(gap.info, this.#gap.info) }
            : gap;
          this.#heldDropsMoved('flight', 'gap');
        }
        if (this.#stopping) {
          // the database may be closed already: no later write to retry in
          if (this.#gap) {
            this.#addLoss(
              this.#gap.info,
              error,
              this.#gap.id,
              this.#gap.stored,
            );
            this.#gap = undefined;
            this.#heldDropsMoved('gap', 'loss');
          }
          this.#removeHead(events.length);
          this.#drop(
            events,
            'database unavailable while the backend stopped',
            error,
          );
          this.#wakeWaiters();
          // what the queue still holds is at risk until it is written or reported lost
          this.#stuck = true;
          this.#recordHeldSoon();
          return;
        }
        const now = Date.now();
        this.#failingSince ??= now;
        if (now - this.#failingSince >= this.#maxRetryDurationMs) {
          // The store has been failing for too long: give these events up so
          // the buffer keeps room for new ones, and say so in the chain later.
          this.#removeHead(events.length);
          this.#drop(
            events,
            `database unavailable for over ${Math.round(
              this.#maxRetryDurationMs / 1000,
            )} s`,
          );
          this.#wakeWaiters();
        }
        this.#stuck = true;
        this.#recordHeldSoon();
        this.#recordPendingLossSoon();
        this.#retryDelayMs = Math.min(
          this.#maxRetryDelayMs,
          Math.max(100, this.#retryDelayMs * 2),
        );
        this.#logger.error(
          `Failed to write ${batch.length} audit event(s), retrying in ${
            this.#retryDelayMs
          } ms: ${stringifyError(error)}`,
        );
      }
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
    return ok;
  }
}

/**
 * Dropped held events by where their loss is: the pending gap record, the one being written,
 * or the loss of a stopping backend, reported when the queue closes.
 */
type HeldDrops = Record<'gap' | 'flight' | 'loss', Set<AuditEventInput>>;

function heldDropCount(dropped: HeldDrops): number {
  return dropped.gap.size + dropped.flight.size + dropped.loss.size;
}

/** A gap for `events`, with nothing counted yet. */
function newGap(events: AuditEventInput[]): AuditGapInfo {
  return {
    dropped: 0,
    firstOccurredAt: events[0].occurredAt,
    lastOccurredAt: events[0].occurredAt,
    reasons: {},
    bySeverity: {},
    byEvent: {},
  };
}

/** `plugin.eventId (severity)`, printable and short enough for a loss record. */
function eventKey(event: AuditEventInput): string {
  const clean = (text: string) =>
    String(text).slice(0, 80).replace(/\p{C}/gu, '?');
  return `${clean(event.plugin)}.${clean(event.eventId)} (${clean(
    event.severity,
  )})`;
}

/** Adds `count` under `key`, or under {@link OTHER_EVENTS} once there are enough keys. */
function addCount(counts: Record<string, number>, key: string, count: number) {
  const k =
    key in counts || Object.keys(counts).length < MAX_GAP_EVENT_KEYS
      ? key
      : OTHER_EVENTS;
  counts[k] = (counts[k] ?? 0) + count;
}

/** Counts `events`, dropped for `reason`, in `gap`; returns it. */
function addDrops(
  gap: AuditGapInfo,
  events: AuditEventInput[],
  reason: string,
): AuditGapInfo {
  gap.dropped += events.length;
  gap.reasons[reason] = (gap.reasons[reason] ?? 0) + events.length;
  const bySeverity = (gap.bySeverity ??= {});
  const byEvent = (gap.byEvent ??= {});
  for (const event of events) {
    if (event.occurredAt < gap.firstOccurredAt) {
      gap.firstOccurredAt = event.occurredAt;
    }
    if (event.occurredAt > gap.lastOccurredAt) {
      gap.lastOccurredAt = event.occurredAt;
    }
    const severity = AUDIT_EVENT_SEVERITIES[rankOf(event.severity)];
    bySeverity[severity] = (bySeverity[severity] ?? 0) + 1;
    addCount(byEvent, eventKey(event), 1);
  }
  return gap;
}

/** A copy of `gap` that later drops do not change. */
function copyGap(gap: AuditGapInfo): AuditGapInfo {
  return {
    ...gap,
    reasons: { ...gap.reasons },
    ...(gap.bySeverity ? { bySeverity: { ...gap.bySeverity } } : {}),
    ...(gap.byEvent ? { byEvent: { ...gap.byEvent } } : {}),
  };
}

/** One gap for the events of both, older reasons first. */
function mergeGaps(older: AuditGapInfo, newer: AuditGapInfo): AuditGapInfo {
  const merged = copyGap(older);
  merged.dropped += newer.dropped;
  if (newer.firstOccurredAt < merged.firstOccurredAt) {
    merged.firstOccurredAt = newer.firstOccurredAt;
  }
  if (newer.lastOccurredAt > merged.lastOccurredAt) {
    merged.lastOccurredAt = newer.lastOccurredAt;
  }
  for (const [reason, count] of Object.entries(newer.reasons)) {
    merged.reasons[reason] = (merged.reasons[reason] ?? 0) + count;
  }
  if (newer.bySeverity) {
    const bySeverity = (merged.bySeverity ??= {});
    for (const [severity, count] of Object.entries(newer.bySeverity)) {
      const key = severity as AuditEventSeverity;
      bySeverity[key] = (bySeverity[key] ?? 0) + (count ?? 0);
    }
  }
  if (newer.byEvent) {
    const byEvent = (merged.byEvent ??= {});
    for (const [key, count] of Object.entries(newer.byEvent)) {
      addCount(byEvent, key, count);
    }
  }
  return merged;
}
