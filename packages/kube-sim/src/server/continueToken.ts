import { errors } from './status';

/** List `continue` tokens: the resourceVersion the list started at and the key to resume after. */

export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv, start }),
  ).toString('base64url');
}

export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed.start !== 'string' || typeof parsed.rv !== 'number')
      throw new Error();
    return parsed;
  } catch {
    throw errors.badRequest(
      'continue key is not valid: the continue token is malformed',
    );
  }
}
