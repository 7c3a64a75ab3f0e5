/**
 * Settles as `work` does, unless it has not settled within `ms`: then rejects with `late()`. The
 * timer is cleared either way; `work` itself is not cancelled.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  late: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
