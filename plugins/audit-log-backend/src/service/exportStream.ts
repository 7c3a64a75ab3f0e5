import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import { stringify } from 'csv-stringify/sync';

/** CSV columns, in order. */
export const CSV_COLUMNS = [
  'seq',
  'occurredAt',
  'actor',
  'plugin',
  'eventId',
  'severity',
  'status',
  'targetEntityRef',
  'targetCluster',
  'targetNamespace',
  'targetResource',
  'requestMethod',
  'requestPath',
  'requestIp',
  'requestUserAgent',
  'meta',
  'error',
  'prevHash',
  'hash',
];

/**
 * Cells a spreadsheet may treat as a formula (OWASP CSV injection): those
 * starting with `=`, `+`, `-`, `@`, tab or carriage return, also behind
 * blanks or invisible characters (which importers may trim: spaces, line
 * breaks, U+00A0, U+3000, zero-width characters, byte order mark), and their
 * full-width forms `＝` `＋` `－` `＠` (which some spreadsheets take for them).
 */
const FORMULA_START =
  /^(?:[\t\r]|[\s\u200b-\u200d\u2060\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20])/;

/**
 * A cell a spreadsheet shows as text: one that would start a formula gets a
 * leading `'` (OWASP's rule); csv-stringify then quotes as needed.
 */
export function escapeFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

function toCsvRecord(e: AuditEvent): Record<string, string | number> {
  const record = toCsvFields(e);
  for (const [column, value] of Object.entries(record)) {
    if (typeof value === 'string') {
      record[column] = escapeFormula(value);
    }
  }
  return record;
}

function toCsvFields(e: AuditEvent): Record<string, string | number> {
  return {
    seq: e.seq,
    occurredAt: e.occurredAt,
    actor: e.actor ?? '',
    plugin: e.plugin,
    eventId: e.eventId,
    severity: e.severity,
    status: e.status,
    targetEntityRef: e.target.entityRef ?? '',
    targetCluster: e.target.cluster ?? '',
    targetNamespace: e.target.namespace ?? '',
    targetResource: e.target.resource ?? '',
    requestMethod: e.request?.method ?? '',
    requestPath: e.request?.path ?? '',
    requestIp: e.request?.ip ?? '',
    requestUserAgent: e.request?.userAgent ?? '',
    meta: e.meta ? JSON.stringify(e.meta) : '',
    error: e.error ?? '',
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

const ROWS_PER_CHUNK = 200;

/**
 * The events as CSV text chunks, header first. Rows are formatted by
 * csv-stringify a chunk at a time so memory stays flat for any export size.
 */
export async function* csvChunks(
  events: AsyncIterable<AuditEvent>,
): AsyncGenerator<string> {
  yield stringify([], { header: true, columns: CSV_COLUMNS });
  let rows: Record<string, string | number>[] = [];
  for await (const e of events) {
    rows.push(toCsvRecord(e));
    if (rows.length >= ROWS_PER_CHUNK) {
      yield stringify(rows, { columns: CSV_COLUMNS });
      rows = [];
    }
  }
  if (rows.length) {
    yield stringify(rows, { columns: CSV_COLUMNS });
  }
}

/** The events as newline-delimited JSON text chunks. */
export async function* ndjsonChunks(
  events: AsyncIterable<AuditEvent>,
): AsyncGenerator<string> {
  let chunk = '';
  let count = 0;
  for await (const e of events) {
    chunk += `${JSON.stringify(e)}\n`;
    count += 1;
    if (count >= ROWS_PER_CHUNK) {
      yield chunk;
      chunk = '';
      count = 0;
    }
  }
  if (chunk) {
    yield chunk;
  }
}
