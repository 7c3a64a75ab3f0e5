import { InputError } from '@backstage/errors';
import { createTextRedactor } from '@kubechart/plugin-kubechart-node';

/**
 * Runs `fn`; an error it throws (helm's words on values it cannot render, quoted into a 400) leaves
 * without the given secret values and `password=…` style pairs. Inside a run `ctx.redact` does this;
 * a preview or policy check has only the request's secret values to go by.
 */
export async function withScrubbedErrors<T>(
  secrets: string[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    const scrubbed = createTextRedactor(secrets)(e.message);
    if (scrubbed === e.message) throw e;
    // Rebuilt without its cause: helm's stderr, kept on the original, holds the same text.
    if (e instanceof InputError) throw new InputError(scrubbed);
    const clean = new Error(scrubbed);
    clean.name = e.name;
    throw clean;
  }
}
