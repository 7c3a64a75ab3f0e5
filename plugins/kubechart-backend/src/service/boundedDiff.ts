import { createTwoFilesPatch } from 'diff';

/** Most changed lines a run diff computes; larger differences are reported, not diffed. */
export const DIFF_MAX_EDIT_LENGTH = 2000;
/** Longest time one run diff may take. */
export const DIFF_TIMEOUT_MS = 2000;

/**
 * A unified diff computed without blocking the event loop: jsdiff's asynchronous mode (one step
 * per turn of the loop), giving up beyond {@link DIFF_MAX_EDIT_LENGTH} changed lines or
 * {@link DIFF_TIMEOUT_MS}. Myers' algorithm is quadratic on very different texts, and stored
 * manifests may be megabytes long.
 */
export function boundedPatch(
  fromName: string,
  toName: string,
  from: string,
  to: string,
): Promise<string> {
  return new Promise(resolve =>
    createTwoFilesPatch(fromName, toName, from, to, undefined, undefined, {
      maxEditLength: DIFF_MAX_EDIT_LENGTH,
      timeout: DIFF_TIMEOUT_MS,
      callback: (patch: string | undefined) =>
        resolve(
          patch ??
            `# diff not shown: ${fromName} and ${toName} differ in more than ${DIFF_MAX_EDIT_LENGTH} lines (or took over ${DIFF_TIMEOUT_MS} ms)\n`,
        ),
    }),
  );
}
