import { createTwoFilesPatch } from 'diff';
import { documentPatch } from './documentDiff';

/** Most changed lines a run diff computes; larger differences are reported, not diffed. */
export const DIFF_MAX_EDIT_LENGTH = 2000;
/** Longest time one run diff may take. */
export const DIFF_TIMEOUT_MS = 2000;
/** Longest one step of a diff holds the event loop; beyond it the whole texts are diffed step by step. */
export const DIFF_SYNC_BUDGET_MS = 20;

/** Why {@link boundedPatch} gave up on a diff, as `RunDiff.notComputed` tells it. */
export const DIFF_NOT_COMPUTED = `the texts differ in more than ${DIFF_MAX_EDIT_LENGTH} lines, or diffing them took over ${DIFF_TIMEOUT_MS} ms`;

/**
 * A unified diff computed without stalling the event loop, giving up beyond
 * {@link DIFF_MAX_EDIT_LENGTH} changed lines or {@link DIFF_TIMEOUT_MS}. Myers' algorithm is
 * quadratic on very different texts, and stored manifests may be megabytes long. When it gives
 * up, `patch` is one `# diff not shown` line (what older clients show) and `notComputed` says why,
 * since a text without hunks would otherwise read as two equal texts.
 *
 * First object by object ({@link documentPatch}: only changed objects are diffed line by line,
 * yielding to the event loop every few milliseconds, no step longer than
 * {@link DIFF_SYNC_BUDGET_MS}): a few milliseconds for two 500-object manifests. When that gives
 * up, the whole texts are diffed in jsdiff's asynchronous mode, one edit length per turn of the
 * event loop (about 1 ms each at the least: hundreds of milliseconds for such manifests, which is
 * why it is only the fallback).
 */
export async function boundedPatch(
  fromName: string,
  toName: string,
  from: string,
  to: string,
): Promise<{ patch: string; notComputed?: string }> {
  const started = Date.now();
  const byObject = await documentPatch(fromName, toName, from, to, {
    maxChangedLines: DIFF_MAX_EDIT_LENGTH,
    timeoutMs: DIFF_TIMEOUT_MS,
    stepMs: DIFF_SYNC_BUDGET_MS,
  });
  if (byObject !== undefined) return { patch: byObject };
  return new Promise(resolve =>
    createTwoFilesPatch(fromName, toName, from, to, undefined, undefined, {
      maxEditLength: DIFF_MAX_EDIT_LENGTH,
      timeout: Math.max(1, DIFF_TIMEOUT_MS - (Date.now() - started)),
      callback: (patch: string | undefined) =>
        resolve(
          patch !== undefined
            ? { patch }
            : {
                patch: `# diff not shown: ${fromName} and ${toName} differ in more than ${DIFF_MAX_EDIT_LENGTH} lines (or took over ${DIFF_TIMEOUT_MS} ms)\n`,
                notComputed: DIFF_NOT_COMPUTED,
              },
        ),
    }),
  );
}
