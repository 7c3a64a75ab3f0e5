import { createTwoFilesPatch } from 'diff';
import { countLines, documentPatch } from './documentDiff';

/** Most changed lines a run diff computes; larger differences are reported, not diffed. */
export const DIFF_MAX_EDIT_LENGTH = 2000;
/** Longest time one run diff may take. */
export const DIFF_TIMEOUT_MS = 2000;
/** Longest one step of a diff holds the event loop; beyond it the whole texts are diffed step by step. */
export const DIFF_SYNC_BUDGET_MS = 20;

/** Why {@link boundedPatch} gave up on a diff, as `RunDiff.notComputed` tells it. */
export const DIFF_NOT_COMPUTED = `the texts differ in more than ${DIFF_MAX_EDIT_LENGTH} lines, or diffing them took over ${DIFF_TIMEOUT_MS} ms`;

/**
 * Most lines a text may have (each side) for a run diff to compare it. jsdiff splits texts into
 * lines and joins its result outside its time limit, about a millisecond per thousand lines on the
 * reference machine: a diff of one object (or of a single document, such as the values) is one
 * step, as are the first and last steps of the fallback, and this bound keeps each within about
 * 20 ms. Half as many again as the 9,519 lines of the benchmark's 501-object manifests.
 */
export const DIFF_MAX_LINES = 15_000;
/** Most characters a text may have (each side) for a run diff to compare it: five times the benchmark's manifests. */
export const DIFF_MAX_CHARS = 1_000_000;

/** The bounds {@link tooLargeToDiff} checks, as its reasons say them. */
const TEXT_BOUNDS = `a run diff compares texts of at most ${DIFF_MAX_LINES} lines and ${DIFF_MAX_CHARS} characters`;

/**
 * Why `text` (named `name`, as in the patch's headers) is too large to diff, or undefined when it
 * is within {@link DIFF_MAX_LINES} and {@link DIFF_MAX_CHARS}. Looks at no more than the bounds.
 */
export function tooLargeToDiff(name: string, text: string): string | undefined {
  if (text.length > DIFF_MAX_CHARS)
    return `${name} has more than ${DIFF_MAX_CHARS} characters; ${TEXT_BOUNDS}`;
  if (countLines(text, DIFF_MAX_LINES) > DIFF_MAX_LINES)
    return `${name} has more than ${DIFF_MAX_LINES} lines; ${TEXT_BOUNDS}`;
  return undefined;
}

/** Lets the event loop turn: between steps of a diff that would otherwise run on as one. */
export function nextTurn(): Promise<void> {
  return new Promise(resolve => setImmediate(resolve));
}

/** A diff not computed, for `reason`: a `# diff not shown` line (what older clients show) and the reason. */
export function notShown(reason: string): {
  patch: string;
  notComputed: string;
} {
  return { patch: `# diff not shown: ${reason}\n`, notComputed: reason };
}

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
 *
 * Neither is tried on a text beyond {@link DIFF_MAX_LINES} or {@link DIFF_MAX_CHARS}: splitting it
 * into lines alone would hold the event loop longer than any step may (a 300,000-line ConfigMap held
 * it for seconds, and was not diffed in the end). The diff is then not computed, and says why.
 */
export async function boundedPatch(
  fromName: string,
  toName: string,
  from: string,
  to: string,
): Promise<{ patch: string; notComputed?: string }> {
  const tooLarge = tooLargeToDiff(fromName, from) ?? tooLargeToDiff(toName, to);
  if (tooLarge) return notShown(tooLarge);
  // Each begins on a turn of its own: not after what the caller did, nor after the last step of the other.
  await nextTurn();
  const started = Date.now();
  const byObject = await documentPatch(fromName, toName, from, to, {
    maxChangedLines: DIFF_MAX_EDIT_LENGTH,
    timeoutMs: DIFF_TIMEOUT_MS,
    stepMs: DIFF_SYNC_BUDGET_MS,
  });
  if (byObject !== undefined) return { patch: byObject };
  await nextTurn();
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
