import { canonicalJson } from '@kubechart/plugin-audit-log-common';
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
const HASHED_COLUMNS = [
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

/**
 * The canonical JSON of a row: hashed columns only, nulls omitted,
 * seq as a number and the timestamp as ISO 8601 with milliseconds, so the
 * same row gives the same text on every database.
 */
export function canonicalRow(
  row: Omit<EventRow, 'hash' | 'prev_hash'>,
): string {
  const obj: Record<string, unknown> = {};
  for (const column of HASHED_COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) {
      continue;
    }
    if (column === 'seq') {
      obj[column] = Number(value);
    } else if (column === 'occurred_at') {
      obj[column] = toIso(value as Date | string);
    } else {
      obj[column] = value;
    }
  }
  return canonicalJson(obj);
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
