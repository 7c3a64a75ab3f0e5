/**
 * Settles as `work` does, unless it has not settled within `ms`: then resolves with what
 * `onTimeout` returns, or rejects with what it throws. The timer is cleared either way; `work`
 * itself is not cancelled (`onTimeout` may abort it).
 * @public
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => T,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
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
