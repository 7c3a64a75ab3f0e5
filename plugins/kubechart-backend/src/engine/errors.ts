import { CustomErrorBase } from '@backstage/errors';

/** Too many requests (HTTP 429); the error handler reads `statusCode`. */
export class TooManyRequestsError extends CustomErrorBase {
  name = 'TooManyRequestsError' as const;
  readonly statusCode = 429;
}

/** A run step failed for a reason a person can act on; `message` is the reason. */
export class RunFailure extends CustomErrorBase {
  name = 'RunFailure' as const;
}

/** More than a bounded input may hold (HTTP 413); the error handler reads `statusCode`. */
export class PayloadTooLargeError extends CustomErrorBase {
  name = 'PayloadTooLargeError' as const;
  readonly statusCode = 413;
}
