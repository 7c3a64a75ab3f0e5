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
 * `drain` writes everything that is buffered, for a clean shutdown.
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

  constructor(options: AuditEventQueueOptions) {
    this.#logger = options.logger;
    this.#maxSize = options.maxSize ?? 10000;
    this.#batchSize = options.batchSize ?? 500;
    this.#flushIntervalMs = options.flushIntervalMs ?? 50;
    this.#maxEnqueueWaitMs = options.maxEnqueueWaitMs ?? 100;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.#maxRetryDurationMs = options.maxRetryDurationMs ?? 300000;
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
      unrecordedDrops: this.#gap?.dropped ?? 0,
    };
  }

  /**
   * Adds an event. Resolves once it is buffered, or after at most
   * `maxEnqueueWaitMs` when the buffer stays full while a sink is attached
   * (the event is then dropped; without a sink it is dropped at once).
   * Never rejects.
   */
  async enqueue(event: AuditEventInput): Promise<void> {
    if (this.#buffer.length >= this.#maxSize) {
      // Only wait when a sink is draining the buffer; without one, waiting
      // would just slow every audited request down.
      if (this.#sink) {
        await this.#waitForRoom();
      }
      if (this.#buffer.length >= this.#maxSize) {
        this.#drop([event], 'queue full');
        return;
      }
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
   * or when a write fails (the failure is logged and the events kept).
   */
  async drain(): Promise<void> {
    this.#clearTimer();
    while (this.#sink && (this.#buffer.length > 0 || this.#gap)) {
      const ok = await this.#flush();
      if (!ok) {
        break;
      }
    }
  }

  #drop(events: AuditEventInput[], reason: string) {
    if (events.length === 0) {
      return;
    }
    this.#dropped += events.length;
    const times = events.map(e => e.occurredAt).sort();
    const gap = this.#gap ?? {
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
    let delay = immediate || full ? 0 : this.#flushIntervalMs;
    if (this.#retryDelayMs > 0) {
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
    const newer = this.#gap;
    if (!newer) {
      this.#gap = gap;
      return;
    }
    const reasons = { ...gap.reasons };
    for (const [reason, count] of Object.entries(newer.reasons)) {
      reasons[reason] = (reasons[reason] ?? 0) + count;
    }
    this.#gap = {
      dropped: gap.dropped + newer.dropped,
      firstOccurredAt:
        gap.firstOccurredAt < newer.firstOccurredAt
          ? gap.firstOccurredAt
          : newer.firstOccurredAt,
      lastOccurredAt:
        gap.lastOccurredAt > newer.lastOccurredAt
          ? gap.lastOccurredAt
          : newer.lastOccurredAt,
      reasons,
    };
  }
}
