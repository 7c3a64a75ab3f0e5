/**
 * Counts the turns of the event loop other work gets until `work` settles (a `setImmediate` queued
 * anew each turn, the first before `work` starts): none when `work` settles without letting the
 * event loop run, as a synchronous parse or check does, however long it takes. Counted, not timed.
 */
export async function turnsDuring(
  work: () => Promise<unknown>,
): Promise<number> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await work();
  } finally {
    done = true;
  }
  return turns;
}
