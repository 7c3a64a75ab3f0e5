/**
 * Work written as a generator that yields where it may pause (between two documents), run either at
 * once ({@link runAtOnce}) or with a turn of the event loop at each pause ({@link runInTurns}), so
 * one piece of code serves both.
 * @public
 */
export type Pausable<T> = Generator<undefined, T, undefined>;

/** Runs `work` to its end without pausing. @public */
export function runAtOnce<T>(work: Pausable<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/** One turn of the event loop: what is waiting (other requests, I/O) runs first. */
const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));

/** Runs `work`, letting the event loop turn at each of its pauses. @public */
export async function runInTurns<T>(work: Pausable<T>): Promise<T> {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}
