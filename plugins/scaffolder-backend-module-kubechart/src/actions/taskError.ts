import { isError } from '@backstage/errors';

/**
 * An error as the task page shows it. The scaffolder writes a failed step's `err.stack` into the
 * task log; for a refused or failed run (an answer, not a crash) that is the reason alone, without
 * Node stack frames around it.
 */
export class TaskFailure extends Error {
  constructor(message: string, name = 'Error') {
    super(message);
    this.name = name;
    this.stack = `${name}: ${message}`;
  }
}

/**
 * Errors that answer the request: bad input, a refusal by the kubechart backend (its `ResponseError`
 * carries the reason, see KubechartRunsClient) and the `@backstage/errors` kinds the actions throw.
 */
const ANSWERS = new Set([
  'InputError',
  'AuthenticationError',
  'NotAllowedError',
  'NotFoundError',
  'ConflictError',
  'ResponseError',
]);

/**
 * Runs an action's work; an error that answers the request is rethrown as a {@link TaskFailure}
 * with the same name and message, so the task log shows the reason without a stack trace. Anything
 * else (a bug) keeps its stack for whoever has to fix it.
 */
export async function withTaskErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof TaskFailure || !isError(e) || !ANSWERS.has(e.name)) {
      throw e;
    }
    throw new TaskFailure(e.message, e.name);
  }
}
