import { CustomErrorBase, ServiceUnavailableError } from '@backstage/errors';

/** Most of the time a run counts that it leaves unused, for a timer that fires late. */
const MAX_MARGIN_MS = 1000;

/**
 * Most of the time a run counts that is kept for the saving of its record after the rest of the run
 * is given up (a tenth of it when that is less): a record a slow audit backend left to the end of
 * the run's time is still saved, and gives back the run's place, before the run stops counting.
 */
export const MAX_RECORD_GRACE_MS = 2000;

/**
 * The time a run of `POST /execute` has. A run counts among its user's runs at once
 * (`kubeAssistant.limits.runsAtOncePerUser`) for `countedForMs` from when it is taken; after that, a
 * run of its user records it as not reported and no longer counts it. So the run ends before: every
 * wait of the run after it is taken (its audit events, its checks, the cluster) is bounded by what
 * is left but the record's grace (`inTime`), and `signal` is aborted then, with the reason, which
 * gives up the requests to the cluster under way; the saving of its record is waited for that grace
 * more (`inRecordTime`). What it stopped waiting for settles on its own (a record saved late
 * replaces its marking as not reported).
 */
export class RunTime {
  readonly #stop = new AbortController();
  readonly #recordStop = new AbortController();
  readonly #timers: NodeJS.Timeout[];

  /**
   * @param from - `performance.now()` before the run was taken: it is taken later, on the database's
   *   clock, so the run ends before it stops counting.
   * @param countedForMs - How long the run counts from when it is taken.
   */
  constructor(from: number, countedForMs: number) {
    const recordedBy =
      countedForMs - Math.min(MAX_MARGIN_MS, countedForMs / 10);
    const endsAfter =
      recordedBy - Math.min(MAX_RECORD_GRACE_MS, countedForMs / 10);
    const reason = new ServiceUnavailableError(
      `The run was given up at the longest a run may take (${
        countedForMs / 1000
      } s: kubeAssistant.executionTimeoutSeconds and the time to record it), after which it no longer counts among its user's runs at once (kubeAssistant.limits.runsAtOncePerUser).`,
    );
    const at = (after: number, stop: AbortController) => {
      const timer = setTimeout(
        () => stop.abort(reason),
        Math.max(0, from + after - performance.now()),
      );
      timer.unref();
      return timer;
    };
    this.#timers = [
      at(endsAfter, this.#stop),
      at(recordedBy, this.#recordStop),
    ];
  }

  /** Aborted, with the reason (an Error), when the run's time is up. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /**
   * Settles as `work` does, unless the run's time is up first: rejects then with the reason, and
   * `work` goes on unwaited for (its failure then is ignored).
   */
  inTime<T>(work: Promise<T>): Promise<T> {
    return untilAborted(work, this.signal);
  }

  /**
   * Settles as `work` does, unless the time kept for the run's record is up first (after `signal`,
   * see {@link MAX_RECORD_GRACE_MS}): rejects then with the reason, and `work` goes on unwaited for.
   */
  inRecordTime<T>(work: Promise<T>): Promise<T> {
    return untilAborted(work, this.#recordStop.signal);
  }

  /** The run ended: its time is no longer kept. */
  end() {
    for (const timer of this.#timers) clearTimeout(timer);
  }
}

/**
 * Settles as `work` does, unless `signal` is aborted first: rejects then with its reason, and `work`
 * goes on unwaited for (its failure then is ignored).
 */
export function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    work.then(
      value => {
        signal.removeEventListener('abort', stop);
        resolve(value);
      },
      error => {
        signal.removeEventListener('abort', stop);
        reject(error);
      },
    );
  });
}

/**
 * A run given up because its client went away (the browser closed, the connection dropped) before
 * its answer was sent; 499, as proxies log a request their client closed (no one reads the answer).
 */
export class RunCancelledError extends CustomErrorBase {
  name = 'RunCancelledError' as const;
  readonly statusCode = 499;
}

/**
 * A signal aborted with a {@link RunCancelledError} when `closed` is: the client of the run went away
 * before its answer was sent.
 */
export function cancelledWhen(closed: AbortSignal): AbortSignal {
  const cancelled = new AbortController();
  const cancel = () =>
    cancelled.abort(
      new RunCancelledError(
        'Cancelled: the client went away before the answer was sent, so the assistant stopped reading from the cluster.',
      ),
    );
  if (closed.aborted) cancel();
  else closed.addEventListener('abort', cancel, { once: true });
  return cancelled.signal;
}
