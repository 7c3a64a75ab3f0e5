import { RunStore } from '../database/RunStore';

/** Removes a run's known secret values from what is stored for it. */
export interface RunRedactor {
  /** Free text (failure reasons, log lines). */
  redact(text: string): string;
  /** A multi-document manifest: structural redaction plus every known secret value. */
  redactManifest(text: string): string;
  /** Every string of a JSON-like value (values, policy reports). */
  redactDeep<T>(value: T): T;
}

const TRACK = Symbol.for('kubechart.trackRunSecrets');

type Tracker = {
  [TRACK]?: (runId: string, redactor: RunRedactor | undefined) => void;
};

/**
 * Wraps a run store so that everything written for a run that is executing passes through that
 * run's redactor first (see `RunContext`): manifests, values, policy reports, failure reasons,
 * inputs and event messages. Secrets the engine generated or was given are then removed by value
 * wherever a chart copied them (a ConfigMap's `DATABASE_URL`, a `List` item, an event), whichever
 * code path stores them. Methods the wrapper does not know are passed through unchanged.
 */
export function withSecretScrubbing<S extends RunStore>(store: S): S {
  if ((store as Tracker)[TRACK]) return store;
  const redactors = new Map<string, RunRedactor>();
  const scrubPatch = (runId: string, patch: any) => {
    const r = redactors.get(runId);
    if (!r || !patch || typeof patch !== 'object') return patch;
    const out = { ...patch };
    if (typeof out.manifest === 'string')
      out.manifest = r.redactManifest(out.manifest);
    if (typeof out.failureReason === 'string')
      out.failureReason = r.redact(out.failureReason);
    for (const key of [
      'values',
      'policyReport',
      'input',
      'applied',
      'baseline',
    ]) {
      if (out[key] !== undefined && out[key] !== null)
        out[key] = r.redactDeep(out[key]);
    }
    return out;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === TRACK) {
        return (runId: string, redactor: RunRedactor | undefined) =>
          redactor ? redactors.set(runId, redactor) : redactors.delete(runId);
      }
      const original = Reflect.get(target, prop, receiver);
      if (typeof original !== 'function') return original;
      switch (prop) {
        case 'updateRun':
          return (runId: string, patch: unknown, ...rest: unknown[]) =>
            original.call(target, runId, scrubPatch(runId, patch), ...rest);
        case 'finishRun':
          // The last write of an executing run: its redactor (and the secrets it holds) is dropped after it.
          return async (
            runId: string,
            status: unknown,
            details: unknown,
            ...rest: unknown[]
          ) => {
            try {
              return await original.call(
                target,
                runId,
                status,
                scrubPatch(runId, details),
                ...rest,
              );
            } finally {
              redactors.delete(runId);
            }
          };
        case 'appendEvents':
          return (
            runId: string,
            events: Array<{ message?: string }>,
            ...rest: unknown[]
          ) => {
            const r = redactors.get(runId);
            const clean = r
              ? events.map(e =>
                  typeof e.message === 'string'
                    ? { ...e, message: r.redact(e.message) }
                    : e,
                )
              : events;
            return original.call(target, runId, clean, ...rest);
          };
        default:
          return original.bind(target);
      }
    },
  });
}

/**
 * Registers (or, with `undefined`, forgets) the redactor of an executing run with a store made by
 * {@link withSecretScrubbing}; a no-op on any other store. `finishRun` forgets it.
 */
export function trackRunSecrets(
  store: RunStore,
  runId: string,
  redactor: RunRedactor | undefined,
): void {
  (store as Tracker)[TRACK]?.(runId, redactor);
}
