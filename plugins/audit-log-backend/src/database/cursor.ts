import { InputError } from '@backstage/errors';

/** The opaque cursor of a page that starts below event `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

/** The sequence number a cursor starts below; an `InputError` for anything else. */
export function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(
    Buffer.from(cursor, 'base64url').toString('utf8'),
  );
  if (!match) {
    throw new InputError('Invalid cursor');
  }
  return Number(match[1]);
}
