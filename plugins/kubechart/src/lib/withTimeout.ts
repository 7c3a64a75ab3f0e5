/**
 * Rejects when `promise` has not settled within `ms`, so a hanging request ends in an error
 * on screen instead of a spinner that never stops.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    handle = setTimeout(
      () =>
        reject(
          new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(handle));
}
