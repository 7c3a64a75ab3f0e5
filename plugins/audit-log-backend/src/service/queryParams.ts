import { InputError } from '@backstage/errors';
import {
  AUDIT_EVENT_SEVERITIES,
  AUDIT_EVENT_STATUSES,
  AuditEventFilters,
  AuditEventQuery,
  AuditExportFormat,
} from '@kubechart/plugin-audit-log-common';
import { z } from 'zod';
import { clean } from '../database/rows';

/** Accepts `a,b`, repeated parameters, or both. */
function listOf<T extends [string, ...string[]]>(values: T) {
  return z.preprocess(value => {
    if (value === undefined) {
      return undefined;
    }
    const items = (Array.isArray(value) ? value : [value]).flatMap(v =>
      String(v)
        .split(',')
        .map(s => s.trim())
        .filter(Boolean),
    );
    return items.length ? items : undefined;
  }, z.array(z.enum(values)).optional());
}

/**
 * A text filter, read as the store writes text (`clean()`: U+0000, which PostgreSQL refuses in a
 * query, and lone surrogates become U+FFFD), so that it matches the events stored from such text
 * instead of failing the request.
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .transform(value => clean(value, max) as string)
    .optional();
const timestamp = z
  .string()
  .datetime({ offset: true, message: 'must be an ISO 8601 timestamp' })
  .optional();

const filtersShape = {
  actor: text(512),
  plugin: text(255),
  eventId: text(255),
  severity: listOf(AUDIT_EVENT_SEVERITIES as unknown as ['low', ...string[]]),
  status: listOf(AUDIT_EVENT_STATUSES as unknown as ['initiated', ...string[]]),
  entityRef: text(512),
  target: text(512),
  from: timestamp,
  to: timestamp,
  q: text(200),
};

const eventsQuerySchema = z
  .object({
    ...filtersShape,
    cursor: text(200),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

const exportQuerySchema = z
  .object({
    ...filtersShape,
    format: z.enum(['csv', 'ndjson']).default('csv'),
  })
  .strict();

/**
 * Most days `olderThanDays` may name (about 274 years): every event is younger, and a cut-off much
 * further back is no date at all (JavaScript's dates end 100,000,000 days from 1970).
 */
export const MAX_OLDER_THAN_DAYS = 100_000;

const pruneBodySchema = z
  .object({
    /** Prune events that happened before this time. */
    before: z.string().datetime({ offset: true }).optional(),
    /** Or: prune events older than this many days (at most {@link MAX_OLDER_THAN_DAYS}). */
    olderThanDays: z.number().int().min(1).max(MAX_OLDER_THAN_DAYS).optional(),
  })
  .strict()
  .refine(b => (b.before === undefined) !== (b.olderThanDays === undefined), {
    message: 'Give exactly one of before or olderThanDays',
  });

function parse<T>(
  schema: z.ZodType<T, any, any>,
  input: unknown,
  what: string,
): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues
      .map(i =>
        i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
      )
      .join('; ');
    throw new InputError(`Invalid ${what}: ${details}`);
  }
  return result.data;
}

function checkRange(filters: AuditEventFilters) {
  if (
    filters.from &&
    filters.to &&
    new Date(filters.from) > new Date(filters.to)
  ) {
    throw new InputError('Invalid query: from must not be after to');
  }
}

export function parseEventsQuery(query: unknown): AuditEventQuery {
  const parsed = parse(eventsQuerySchema, query, 'query') as AuditEventQuery;
  checkRange(parsed);
  return parsed;
}

export function parseExportQuery(
  query: unknown,
): AuditEventFilters & { format: AuditExportFormat } {
  const parsed = parse(
    exportQuerySchema,
    query,
    'query',
  ) as AuditEventFilters & {
    format: AuditExportFormat;
  };
  checkRange(parsed);
  return parsed;
}

export function parsePruneBody(body: unknown): { before: Date } {
  const parsed = parse(pruneBodySchema, body ?? {}, 'request body');
  const before = parsed.before
    ? new Date(parsed.before)
    : new Date(Date.now() - parsed.olderThanDays! * 24 * 3600 * 1000);
  // the schema takes offsets such as +99:00, which name no time
  if (Number.isNaN(before.getTime())) {
    throw new InputError('Invalid request body: before: not a valid time');
  }
  return { before };
}

/** A sequence number from 1 to `Number.MAX_SAFE_INTEGER` (above it, it would name another event). */
export function parseSeq(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InputError(`Invalid sequence number '${value}'`);
  }
  return Number(value);
}
