const MINUTE_MS = 60_000;
/** Callers remembered before windows that are over are swept out. */
const SWEEP_ABOVE = 10_000;

type Window = {
  start: number;
  recorded: number;
  notRecorded: number;
  timer?: ReturnType<typeof setTimeout>;
};

/**
 * Options of {@link RefusalWindow}.
 *
 * @public
 */
export type RefusalWindowOptions = {
  /** Told of a caller's first refusal in its minute that is only counted (to log it, say). */
  onFirstSkipped?: (caller: string) => void;
};

/**
 * How many refused requests of each caller the audit trail records one by one: `perMinute` in a
 * caller's minute (from its first refusal). The ones beyond are refused all the same but only
 * counted; the count goes with the first refusal recorded after, or, when the caller stops before,
 * to `onUnrecorded` when its minute ends (or at `flush`, on shutdown), so that every refusal leaves a
 * trace and a caller refused in a loop adds at most `perMinute + 1` events a minute. Counted per
 * backend instance.
 *
 * @public
 */
export class RefusalWindow {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly perMinute: number,
    private readonly onUnrecorded: (
      caller: string,
      count: number,
      since: Date,
    ) => void | Promise<void>,
    private readonly options: RefusalWindowOptions = {},
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
      if (this.#windows.size > SWEEP_ABOVE) {
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
        this.options.onFirstSkipped?.(caller);
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

  /** Reports every count not yet reported now (the backend stops), resolving when reported. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.#windows].map(([caller, window]) =>
        this.#report(caller, window),
      ),
    );
  }

  async #report(caller: string, window: Window): Promise<void> {
    if (window.timer) clearTimeout(window.timer);
    window.timer = undefined;
    // A window replaced meanwhile had its count carried by the refusal that replaced it.
    if (this.#windows.get(caller) !== window || !window.notRecorded) return;
    const count = window.notRecorded;
    window.notRecorded = 0;
    await this.onUnrecorded(caller, count, new Date(window.start));
  }
}
