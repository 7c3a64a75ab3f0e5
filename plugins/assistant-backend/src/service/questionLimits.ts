import { Config } from '@backstage/config';
import { CustomErrorBase } from '@backstage/errors';

const MINUTE_MS = 60_000;
/** Callers remembered before windows that are over are swept out. */
const SWEEP_ABOVE = 10_000;

/** Too many requests (HTTP 429); Backstage's error handler answers with `statusCode`. */
export class TooManyRequestsError extends CustomErrorBase {
  name = 'TooManyRequestsError' as const;
  readonly statusCode = 429;
}

/** `kubeAssistant.limits`: how much one caller may ask, and add to the audit trail, a minute. */
export type QuestionLimits = {
  /** Refused requests of one caller recorded one by one a minute; the rest are counted. */
  refusedQuestionsAuditedPerMinute: number;
  /** Questions one user may ask a minute; more are answered 429 before any provider is asked. */
  questionsPerUserPerMinute: number;
};

export const DEFAULT_QUESTION_LIMITS: QuestionLimits = {
  refusedQuestionsAuditedPerMinute: 30,
  questionsPerUserPerMinute: 60,
};

/**
 * `kubeAssistant.limits.<key>`, or `fallback` when it is not set. Fails at start-up on a value that is
 * not a whole number of at least `min` (a limit of 0 questions would refuse everyone).
 */
function readLimit(
  config: Config,
  key: string,
  fallback: number,
  min: number,
): number {
  const value =
    config.getOptionalNumber(`kubeAssistant.limits.${key}`) ?? fallback;
  assertWholeAtLeast(`kubeAssistant.limits.${key}`, value, min);
  return value;
}

/** Throws unless `value` is a whole number of at least `min`, naming it `name`. */
export function assertWholeAtLeast(name: string, value: number, min: number) {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(
      `${name} must be a whole number of at least ${min}, not ${value}`,
    );
  }
}

/** Reads `kubeAssistant.limits`, with its defaults (see {@link readLimit}). */
export function readQuestionLimits(config: Config): QuestionLimits {
  const read = (key: keyof QuestionLimits, min: number) =>
    readLimit(config, key, DEFAULT_QUESTION_LIMITS[key], min);
  return {
    refusedQuestionsAuditedPerMinute: read(
      'refusedQuestionsAuditedPerMinute',
      0,
    ),
    questionsPerUserPerMinute: read('questionsPerUserPerMinute', 1),
  };
}

/** `kubeAssistant.limits.messagesPerConversation` when it is not set. */
export const DEFAULT_MESSAGES_PER_CONVERSATION = 200;

/**
 * Reads `kubeAssistant.limits.messagesPerConversation`: the questions (answered or refused) one
 * conversation keeps; a question beyond is refused with 409. At least 1.
 */
export const readMessagesPerConversation = (config: Config) =>
  readLimit(
    config,
    'messagesPerConversation',
    DEFAULT_MESSAGES_PER_CONVERSATION,
    1,
  );

/** `kubeAssistant.limits.runsPerAnswer` when it is not set. */
export const DEFAULT_RUNS_PER_ANSWER = 50;

/**
 * Reads `kubeAssistant.limits.runsPerAnswer`: the runs (succeeded, failed or refused) one answer
 * keeps; a run beyond is refused with 409. At least 1.
 */
export const readRunsPerAnswer = (config: Config) =>
  readLimit(config, 'runsPerAnswer', DEFAULT_RUNS_PER_ANSWER, 1);

/**
 * How many questions each user asked in the last minute (a sliding minute), so that one user cannot
 * keep the providers busy or grow the audit trail at will. Counted per backend instance.
 */
export class QuestionRate {
  readonly #asked = new Map<string, number[]>();

  constructor(private readonly perMinute: number) {}

  /**
   * Counts a question of `caller`, or returns the TooManyRequestsError (429) to answer with when the
   * caller already asked `perMinute` in the last minute (that one is not counted).
   */
  take(caller: string): TooManyRequestsError | undefined {
    const now = Date.now();
    const asked = (this.#asked.get(caller) ?? []).filter(
      t => t > now - MINUTE_MS,
    );
    if (asked.length >= this.perMinute) {
      this.#asked.set(caller, asked);
      return new TooManyRequestsError(
        `${caller} asked ${asked.length} questions in the last minute; the limit is ${this.perMinute} a minute (kubeAssistant.limits.questionsPerUserPerMinute). Try again shortly.`,
      );
    }
    asked.push(now);
    if (!this.#asked.has(caller) && this.#asked.size > SWEEP_ABOVE) {
      for (const [key, times] of this.#asked)
        if (times[times.length - 1] <= now - MINUTE_MS) this.#asked.delete(key);
    }
    this.#asked.set(caller, asked);
    return undefined;
  }
}

type Window = {
  start: number;
  recorded: number;
  notRecorded: number;
  timer?: ReturnType<typeof setTimeout>;
};

/**
 * How many refused requests of each caller the audit trail records one by one: `perMinute` in a
 * caller's minute (from its first refusal). The ones beyond are refused all the same but only
 * counted; the count goes with the first refusal recorded after, or, when the caller stops before,
 * to `onUnrecorded` when its minute ends (or at `flush`, on shutdown), so that every refusal leaves a
 * trace and a caller refused in a loop adds at most `perMinute + 1` events a minute. The same as
 * KubeChart's window for refused changes (the assistant installs without KubeChart). Counted per
 * backend instance.
 */
export class RefusalWindow {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly perMinute: number,
    private readonly onUnrecorded: (
      caller: string,
      count: number,
      since: Date,
    ) => Promise<void>,
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
