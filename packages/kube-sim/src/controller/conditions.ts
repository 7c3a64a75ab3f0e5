/**
 * A status condition as controllers write it: `lastTransitionTime` stays the previous condition's
 * while its status is unchanged, and is `now` when the status changed or the condition is new.
 */
export function transitionedCondition(
  previous: ReadonlyArray<any>,
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
) {
  const old = previous.find(c => c.type === type);
  return {
    type,
    status,
    lastTransitionTime:
      old && old.status === status ? old.lastTransitionTime : now,
    reason,
    message,
  };
}
