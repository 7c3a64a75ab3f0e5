import { InputError } from '@backstage/errors';

/** The opaque cursor of a page that starts below event `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

/**
 * The sequence number a cursor starts below; an `InputError` for anything but a cursor of the
 * form {@link encodeCursor} gives (a sequence number from 1 to `Number.MAX_SAFE_INTEGER`, written
 * without leading zeros, in unpadded base64url), so that a forged one never reaches the database
 * (PostgreSQL refused a number beyond bigint with a 500; SQLite answered an empty page).
 */
export function decodeCursor(cursor: string): number {
  const match = /^seq:([1-9]\d{0,15})$/.exec(
    Buffer.from(cursor, 'base64url').toString('utf8'),
  );
  const seq = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) {
    throw new InputError(
      'Invalid cursor: pass the nextCursor of an earlier page unchanged',
    );
  }
  return seq;
}
