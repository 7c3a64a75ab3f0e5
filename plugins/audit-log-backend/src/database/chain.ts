import { createHash } from 'node:crypto';

/** prevHash of the first event ever stored. */
export const GENESIS_HASH = '0'.repeat(64);

/** A row of `audit_log_events` as the drivers return it. */
export type EventRow = {
  seq: number | string;
  occurred_at: Date | string;
  actor: string | null;
  plugin_id: string;
  event_id: string;
  severity: string;
  status: string;
  target_entity_ref: string | null;
  target_cluster: string | null;
  target_namespace: string | null;
  target_resource: string | null;
  request_method: string | null;
  request_path: string | null;
  request_ip: string | null;
  request_user_agent: string | null;
  meta: string | null;
  error: string | null;
  prev_hash: string;
  hash: string;
};

/** The columns that are hashed: everything but the two hash columns. */
export const HASHED_COLUMNS = [
  'seq',
  'occurred_at',
  'actor',
  'plugin_id',
  'event_id',
  'severity',
  'status',
  'target_entity_ref',
  'target_cluster',
  'target_namespace',
  'target_resource',
  'request_method',
  'request_path',
  'request_ip',
  'request_user_agent',
  'meta',
  'error',
] as const;

/** PostgreSQL returns timestamps as Date, SQLite as the stored string. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Hashed columns in canonical (sorted) key order, with their JSON keys. */
const SORTED_COLUMNS = [...HASHED_COLUMNS]
  .sort()
  .map(column => ({ column, key: JSON.stringify(column) }));

/** The JSON of one hashed column's value, or undefined when it is null (left out). */
function columnJson(column: (typeof HASHED_COLUMNS)[number], value: unknown) {
  if (value === null || value === undefined) {
    return undefined;
  }
  if (column === 'seq') {
    return String(Number(value));
  }
  if (column === 'occurred_at') {
    return JSON.stringify(toIso(value as Date | string));
  }
  return JSON.stringify(value);
}

/**
 * The canonical JSON of a row: hashed columns only, keys sorted, nulls
 * omitted, seq as a number and the timestamp as ISO 8601 with milliseconds,
 * so the same row gives the same text on every database. Equivalent to
 * `canonicalJson` of that object, written out directly because verify runs it
 * for every stored event.
 */
export function canonicalRow(
  row: Omit<EventRow, 'hash' | 'prev_hash'>,
): string {
  let out = '{';
  let first = true;
  for (const { column, key } of SORTED_COLUMNS) {
    const json = columnJson(column, row[column]);
    if (json === undefined) {
      continue;
    }
    out += first ? `${key}:${json}` : `,${key}:${json}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * The canonical JSON of a row that has no sequence number yet, in the two
 * parts around the number: `head + seq + tail` equals {@link canonicalRow} of
 * the numbered row. Lets a batch be serialised before the chain head is
 * locked; under the lock only {@link hashNumbered} remains.
 */
export type CanonicalParts = { head: string; tail: string };

/** See {@link CanonicalParts}. */
export function canonicalParts(
  row: Omit<EventRow, 'hash' | 'prev_hash' | 'seq'>,
): CanonicalParts {
  let head = '{';
  let tail = '';
  let first = true;
  let numbered = false;
  for (const { column, key } of SORTED_COLUMNS) {
    if (column === 'seq') {
      head += first ? `${key}:` : `,${key}:`;
      first = false;
      numbered = true;
      continue;
    }
    const json = columnJson(column, row[column]);
    if (json === undefined) {
      continue;
    }
    const part = first ? `${key}:${json}` : `,${key}:${json}`;
    first = false;
    if (numbered) {
      tail += part;
    } else {
      head += part;
    }
  }
  return { head, tail: `${tail}}` };
}

/** hash = sha256(prevHash + canonical JSON of the row), hex. */
export function hashRow(
  prevHash: string,
  row: Omit<EventRow, 'hash' | 'prev_hash'>,
): string {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalRow(row))
    .digest('hex');
}

/** {@link hashRow} of a row serialised by {@link canonicalParts}, numbered `seq`. */
export function hashNumbered(
  prevHash: string,
  parts: CanonicalParts,
  seq: number,
): string {
  return createHash('sha256')
    .update(prevHash)
    .update(parts.head)
    .update(String(seq))
    .update(parts.tail)
    .digest('hex');
}

/**
 * PostgreSQL expression computing the same hash as {@link hashRow} from the
 * row's own prev_hash, so that verify can hash on the database server and
 * only transfer four columns per event. `to_json(text)` escapes exactly like
 * `JSON.stringify` for valid UTF-8 text; any mismatch it reports is confirmed
 * in JavaScript before it is reported, so the two can never disagree silently.
 */
export function postgresHashExpression(): string {
  const parts = SORTED_COLUMNS.map(({ column, key }) => {
    let value: string;
    if (column === 'seq') {
      value = 'seq::text';
    } else if (column === 'occurred_at') {
      value = `to_json(to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text`;
    } else {
      value = `to_json(${column})::text`;
    }
    // concat_ws skips NULLs, which drops null columns like canonicalRow does
    return `CASE WHEN ${column} IS NULL THEN NULL ELSE '${key}:' || ${value} END`;
  });
  const canonical = `'{' || concat_ws(',', ${parts.join(', ')}) || '}'`;
  return `encode(sha256(convert_to(prev_hash || ${canonical}, 'UTF8')), 'hex')`;
}
