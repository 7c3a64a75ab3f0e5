import { LoggerService } from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import {
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEventInput,
  AuditGapInfo,
  describeGap,
} from '@kubechart/plugin-audit-log-common';

/**
 * Writes a batch of events to durable storage. Must either store the whole
 * batch or throw.
 * @public
 */
export type AuditEventSink = (batch: AuditEventInput[]) => Promise<void>;

/**
 * Records outside the database events a stopping backend could not store, so that the loss
 * leaves a trace once the database is gone (see {@link AuditEventQueue.recordLossesWith}).
 * Called synchronously: the process may exit right after.
 * @public
 */
export type AuditLossRecorder = (loss: AuditGapInfo) => void;

/**
 * How long after it closed the queue waits before it records the events enqueued since (once;
 * later ones are recorded when the process exits).
 */
const LATE_LOSS_DELAY_MS = 1000;

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
export function createGapEvent(gap: AuditGapInfo): AuditEventInput {
  return {
    occurredAt: new Date().toISOString(),
    plugin: AUDIT_LOG_PLUGIN_ID,
    eventId: AUDIT_GAP_EVENT_ID,
    severity: 'high',
    status: 'failed',
    target: {},
    meta: { gap: { ...gap, reasons: { ...gap.reasons } } },
    error: describeGap(gap),
  };
}

/**
 * A bounded in-memory queue between the auditor service (which every plugin
 * uses) and the audit store (which lives in the audit-log backend plugin).
 *
 * `enqueue` never throws and waits at most `maxEnqueueWaitMs`: when the buffer
 * is full it applies back-pressure for that long, then drops the event and
 * counts it. Events are handed to the sink in batches, in order; a failed write
 * is retried with backoff without losing the batch, for at most
 * `maxRetryDurationMs`, after which failing batches are dropped. Every drop is
 * remembered and written to the chain as a gap record ("N events dropped
 * between … and … because …") in front of the next batch that is stored.
 * `drain` writes everything that is buffered.
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
  #gap: AuditGapInfo | undefined;
  #failingSince: number | undefined;

  #buffer: AuditEventInput[] = [];
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
  /** Events lost while the backend stops, not reported yet, and the last error why. */
  #loss: { gap: AuditGapInfo; cause?: unknown } | undefined;
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
        (this.#gap?.dropped ?? 0) + (this.#loss?.gap.dropped ?? 0),
    };
  }

  /**
   * Adds an event. Resolves once it is buffered, or after at most
   * `maxEnqueueWaitMs` when the buffer stays full while a sink is attached
   * (the event is then dropped; without a sink it is dropped at once).
   * Never rejects.
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
    if (this.#buffer.length >= this.#maxSize) {
      this.#drop([event], 'queue full');
      return;
    }
    this.#buffer.push(event);
    this.#schedule();
  }

  /**
   * Connects the store. Buffered events start flowing to it right away.
   */
  attachSink(sink: AuditEventSink): void {
    this.#sink = sink;
    this.#retryDelayMs = 0;
    this.#schedule(true);
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
    this.#drop(this.#buffer.splice(0), 'not stored before the backend stopped');
    if (this.#gap) {
      // dropped before the shutdown began, with no write since to carry its gap record
      this.#addLoss(this.#gap);
      this.#gap = undefined;
    }
    this.#reportLoss();
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
  #addLoss(gap: AuditGapInfo, cause?: unknown) {
    if (!this.#loss) {
      process.once('exit', this.#onExit);
    }
    this.#loss = {
      gap: this.#loss ? mergeGaps(this.#loss.gap, gap) : gap,
      cause: cause ?? this.#loss?.cause,
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
    const { gap, cause } = loss;
    this.#logger.error(
      `Audit events lost while the backend stopped: ${describeGap(gap)}${
        cause === undefined ? '' : ` (${stringifyError(cause)})`
      }`,
    );
    try {
      this.#recordLoss?.(gap);
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
    const times = events.map(e => e.occurredAt).sort();
    const gap = (this.#stopping ? undefined : this.#gap) ?? {
      dropped: 0,
      firstOccurredAt: times[0],
      lastOccurredAt: times[times.length - 1],
      reasons: {},
    };
    gap.dropped += events.length;
    if (times[0] < gap.firstOccurredAt) gap.firstOccurredAt = times[0];
    if (times[times.length - 1] > gap.lastOccurredAt) {
      gap.lastOccurredAt = times[times.length - 1];
    }
    gap.reasons[reason] = (gap.reasons[reason] ?? 0) + events.length;
    if (this.#stopping) {
      // a loss of its own, however many drops: it goes to the loss recorder, not the chain
      this.#addLoss(gap, cause);
      return;
    }
    this.#gap = gap;
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
    // while the backend stops, every event may be the last chance to write
    let delay = immediate || full || this.#stopping ? 0 : this.#flushIntervalMs;
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
    const events = this.#buffer.slice(0, this.#batchSize - (gap ? 1 : 0));
    const batch = gap ? [createGapEvent(gap), ...events] : events;
    let ok = true;
    this.#flushing = (async () => {
      try {
        await sink(batch);
        this.#buffer.splice(0, events.length);
        this.#written += events.length;
        this.#retryDelayMs = 0;
        this.#failingSince = undefined;
        if (gap) {
          this.#logger.warn(`Audit chain gap recorded: ${describeGap(gap)}`);
        }
        this.#wakeWaiters();
      } catch (error) {
        ok = false;
        this.#failedWrites += 1;
        if (this.#stopping) {
          // the database may be closed already: no later write to retry in
          if (gap) {
            this.#addLoss(gap, error);
          }
          this.#buffer.splice(0, events.length);
          this.#drop(
            events,
            'database unavailable while the backend stopped',
            error,
          );
          this.#wakeWaiters();
          return;
        }
        if (gap) {
          this.#mergeGap(gap);
        }
        const now = Date.now();
        this.#failingSince ??= now;
        if (now - this.#failingSince >= this.#maxRetryDurationMs) {
          // The store has been failing for too long: give these events up so
          // the buffer keeps room for new ones, and say so in the chain later.
          this.#buffer.splice(0, events.length);
          this.#drop(
            events,
            `database unavailable for over ${Math.round(
              this.#maxRetryDurationMs / 1000,
            )} s`,
          );
          this.#wakeWaiters();
        }
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

  /** Puts a gap that could not be written back in front of newer drops. */
  #mergeGap(gap: AuditGapInfo) {
    this.#gap = this.#gap ? mergeGaps(gap, this.#gap) : gap;
  }
}

/** One gap for the events of both, older reasons first. */
function mergeGaps(older: AuditGapInfo, newer: AuditGapInfo): AuditGapInfo {
  const reasons = { ...older.reasons };
  for (const [reason, count] of Object.entries(newer.reasons)) {
    reasons[reason] = (reasons[reason] ?? 0) + count;
  }
  return {
    dropped: older.dropped + newer.dropped,
    firstOccurredAt:
      older.firstOccurredAt < newer.firstOccurredAt
        ? older.firstOccurredAt
        : newer.firstOccurredAt,
    lastOccurredAt:
      older.lastOccurredAt > newer.lastOccurredAt
        ? older.lastOccurredAt
        : newer.lastOccurredAt,
    reasons,
  };
}
