/**
 * Resolves as `work` does, unless it has not settled within `ms`: then as `onTimeout` returns (or
 * rejects with what it throws). The timer is cleared either way; `work` itself is not cancelled
 * (`onTimeout` may abort it).
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => T,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
