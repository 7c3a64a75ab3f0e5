import { ResponseError } from '@backstage/errors';

/**
 * The message to show for a failed call: the backend's own message (e.g.
 * why a command was refused) rather than the HTTP status line.
 */
export function errorMessage(error: Error): string {
  if (error instanceof ResponseError || error.name === 'ResponseError') {
    const cause = (error as ResponseError).cause;
    if (cause?.message) return cause.message;
  }
  return error.message;
}
