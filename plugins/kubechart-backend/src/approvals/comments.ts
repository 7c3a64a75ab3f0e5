import { createTextRedactor } from '@kubechart/plugin-kubechart-node';

/** The free-text rules: an approval keeps no secret value of its run to remove by value. */
const scrub = createTextRedactor();

/**
 * A decision's or a withdrawal's comment as it is stored, shown, notified and audited: trimmed, with
 * the secrets the free-text rules find (`password=…`, a token, a URL's password) replaced by `***`,
 * as in the other text users give a run (a recorded run's events and steps).
 */
export function scrubComment(comment: string): string {
  return scrub(comment.trim());
}
