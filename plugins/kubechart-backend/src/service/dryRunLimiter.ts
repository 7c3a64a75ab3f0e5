import { TooManyRequestsError } from '../engine/errors';

const MINUTE_MS = 60_000;

/**
 * Bounds the dry runs (`POST /runs/preview`, `POST /policy/check`) of each caller: how many at once
 * and how many a minute. They run `helm template` in the pool every run shares and the policy check
 * on what it renders, and unlike runs they record nothing, so without a bound one caller could keep
 * every helm process busy and others' previews and runs waiting. Counted per backend instance.
 */
export class DryRunLimiter {
  readonly #open = new Map<string, number>();
  readonly #started = new Map<string, number[]>();
  #sweptAt = Date.now();

  constructor(private readonly limits: { atOnce: number; perMinute: number }) {}

  /** Runs `work` for `caller`, or throws TooManyRequestsError (429) naming the limit it would break. */
  async run<T>(caller: string, work: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const started = (this.#started.get(caller) ?? []).filter(
      t => t > now - MINUTE_MS,
    );
    const open = this.#open.get(caller) ?? 0;
    if (open >= this.limits.atOnce) {
      throw new TooManyRequestsError(
        `${caller} already has ${open} previews or policy checks under way, the most one caller may have at once (kubechart.limits.previewsPerUserAtOnce); wait for them to finish`,
      );
    }
    if (started.length >= this.limits.perMinute) {
      this.#started.set(caller, started);
      throw new TooManyRequestsError(
        `${caller} asked for ${started.length} previews or policy checks in the last minute; the limit is ${this.limits.perMinute} per minute (kubechart.limits.previewsPerUserPerMinute). Try again shortly.`,
      );
    }
    started.push(now);
    this.#started.set(caller, started);
    this.#open.set(caller, open + 1);
    try {
      return await work();
    } finally {
      const left = (this.#open.get(caller) ?? 1) - 1;
      if (left > 0) this.#open.set(caller, left);
      else this.#open.delete(caller);
      this.#forgetIdle();
    }
  }

  /** Drops callers with nothing under way and nothing in the last minute, so the maps stay small. */
  #forgetIdle() {
    const since = Date.now() - MINUTE_MS;
    if (this.#sweptAt > since) return;
    this.#sweptAt = Date.now();
    for (const [caller, times] of this.#started) {
      if (!this.#open.has(caller) && times[times.length - 1] <= since)
        this.#started.delete(caller);
    }
  }
}

/**
 * Counts the run requests of each caller that were audited and then refused (a 4xx from inside the
 * audited work: out of scope, bad input, locked). Once a caller has had `perMinute` of them in a
 * minute, its further requests that minute are refused before any event is created (and go to
 * the refusal window like a permission refusal), so no caller grows the audit trail at will with
 * requests that are bound to fail. Counted per backend instance.
 */
export class FailedRequestWindow {
  readonly #failed = new Map<string, { start: number; count: number }>();

  constructor(private readonly perMinute: number) {}

  /** Throws TooManyRequestsError (429) when `caller` had its allowance of failed requests this minute. */
  check(caller: string, what: string): void {
    const window = this.#current(caller, Date.now());
    if (window && window.count >= this.perMinute)
      throw new TooManyRequestsError(
        `${caller} had ${window.count} ${what} refused in the last minute, the most the audit trail records one by one (kubechart.limits.refusedAttemptsAuditedPerMinute); try again shortly`,
      );
  }

  /** Counts a refused request of `caller` when `error` is the caller's (HTTP 4xx). */
  failed(caller: string, error: unknown): void {
    const status = (error as { statusCode?: number })?.statusCode;
    const name = (error as { name?: string })?.name;
    const clientError =
      (typeof status === 'number' && status >= 400 && status < 500) ||
      [
        'InputError',
        'NotAllowedError',
        'NotFoundError',
        'ConflictError',
      ].includes(name ?? '');
    if (!clientError) return;
    const now = Date.now();
    const window = this.#current(caller, now) ?? { start: now, count: 0 };
    window.count++;
    this.#failed.set(caller, window);
  }

  /** The caller's window of this minute, if any; old windows are dropped as the map grows. */
  #current(caller: string, now: number) {
    const window = this.#failed.get(caller);
    if (window && now - window.start < MINUTE_MS) return window;
    if (window) this.#failed.delete(caller);
    if (this.#failed.size > 10_000)
      for (const [key, w] of this.#failed)
        if (now - w.start >= MINUTE_MS) this.#failed.delete(key);
    return undefined;
  }
}
