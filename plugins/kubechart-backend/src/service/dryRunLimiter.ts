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
 * How many refused attempts of each caller the audit trail records one by one: `perMinute` in a
 * minute; the ones beyond are counted, and that count goes with the first one recorded after or,
 * when the caller stops before, to `onUnrecorded` when its minute ends (or at `flush`, on shutdown),
 * so that every refusal leaves a trace. Counted per backend instance.
 */
export class RefusalWindow {
  readonly #windows = new Map<
    string,
    {
      start: number;
      recorded: number;
      notRecorded: number;
      timer?: ReturnType<typeof setTimeout>;
    }
  >();

  constructor(
    private readonly perMinute: number,
    private readonly onFirstSkipped: (caller: string) => void,
    private readonly onUnrecorded?: (
      caller: string,
      count: number,
      since: Date,
    ) => void | Promise<void>,
  ) {}

  /**
   * Undefined when this refusal is not to be recorded (it is counted); otherwise how many of the
   * caller's were not recorded since the last one that was.
   */
  take(caller: string): number | undefined {
    const now = Date.now();
    let window = this.#windows.get(caller);
    let carried = 0;
    if (!window || now - window.start >= MINUTE_MS) {
      carried = window?.notRecorded ?? 0;
      if (window?.timer) clearTimeout(window.timer);
      if (this.#windows.size > 10_000) {
        for (const [key, w] of this.#windows)
          if (now - w.start >= MINUTE_MS && !w.notRecorded)
            this.#windows.delete(key);
      }
      window = { start: now, recorded: 0, notRecorded: 0 };
      this.#windows.set(caller, window);
    }
    if (window.recorded >= this.perMinute) {
      window.notRecorded += 1;
      if (window.notRecorded === 1) {
        this.onFirstSkipped(caller);
        const ending = window;
        ending.timer = setTimeout(
          () => void this.#report(caller, ending),
          Math.max(0, ending.start + MINUTE_MS - now),
        );
        ending.timer.unref?.();
      }
      return undefined;
    }
    window.recorded += 1;
    return carried;
  }

  /** Reports every count not yet recorded now (the backend stops), resolving when reported. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.#windows].map(([caller, window]) =>
        this.#report(caller, window),
      ),
    );
  }

  async #report(
    caller: string,
    window: {
      start: number;
      notRecorded: number;
      timer?: ReturnType<typeof setTimeout>;
    },
  ): Promise<void> {
    if (window.timer) clearTimeout(window.timer);
    window.timer = undefined;
    // A window replaced meanwhile had its count carried by the refusal that replaced it.
    if (this.#windows.get(caller) !== window || !window.notRecorded) return;
    const count = window.notRecorded;
    window.notRecorded = 0;
    await this.onUnrecorded?.(caller, count, new Date(window.start));
  }
}
