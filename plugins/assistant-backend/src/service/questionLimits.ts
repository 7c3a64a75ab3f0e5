import { Config } from '@backstage/config';
import { CustomErrorBase } from '@backstage/errors';
import {
  DEFAULT_EXECUTION_TIMEOUT_MS,
  DEFAULT_MAX_READ_BYTES,
  readBytesAtOnceFor,
} from '../execution/PlanExecutor';

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
 * Reads `kubeAssistant.limits.readMegabytesPerAnswer`: the MiB one answer reads from the cluster
 * (default 32), in bytes. At least 1.
 */
export const readBytesPerAnswer = (config: Config) =>
  readLimit(
    config,
    'readMegabytesPerAnswer',
    DEFAULT_MAX_READ_BYTES / (1024 * 1024),
    1,
  ) *
  1024 *
  1024;

/**
 * Reads `kubeAssistant.limits.readMegabytesAtOnce`: the MiB read from clusters that all answers under
 * way hold together (default twice `readMegabytesPerAnswer`), in bytes. At least
 * `readMegabytesPerAnswer`, so that one answer can read what it may.
 */
export const readBytesAtOnce = (config: Config) => {
  const perAnswer = readBytesPerAnswer(config) / (1024 * 1024);
  return (
    readLimit(
      config,
      'readMegabytesAtOnce',
      readBytesAtOnceFor(perAnswer),
      perAnswer,
    ) *
    1024 *
    1024
  );
};

/** `kubeAssistant.limits.runsAtOncePerUser` when it is not set. */
export const DEFAULT_RUNS_AT_ONCE_PER_USER = 3;

/**
 * Reads `kubeAssistant.limits.runsAtOncePerUser`: the commands (`POST /execute`) one user may have
 * running at once, whichever backend runs them (counted in the database); one more is refused with
 * 429. At least 1.
 */
export const readRunsAtOncePerUser = (config: Config) =>
  readLimit(config, 'runsAtOncePerUser', DEFAULT_RUNS_AT_ONCE_PER_USER, 1);

/**
 * How long the steps of a run around its requests to the cluster may take: its audit event, the
 * confirmation it spends, its record (a run is given up when it takes longer in all: see `RunTime`).
 */
const RUN_RECORDING_MS = 30_000;

/**
 * How long a run can be under way, from when it is taken to when its outcome is recorded: what the
 * cluster may take (`kubeAssistant.executionTimeoutSeconds`, here in milliseconds) and the time to
 * check and record it. A run still `running` after that is not under way any more: its backend
 * stopped, or could not save its outcome.
 */
export const longestRunOf = (executionTimeoutMs: number) =>
  Math.ceil(executionTimeoutMs) + RUN_RECORDING_MS;

/** {@link longestRunOf} the default `kubeAssistant.executionTimeoutSeconds`. */
export const DEFAULT_LONGEST_RUN_MS = longestRunOf(
  DEFAULT_EXECUTION_TIMEOUT_MS,
);

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
