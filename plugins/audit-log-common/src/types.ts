import { JsonObject } from '@backstage/types';

/**
 * Severity of an audit event, as defined by the Backstage auditor service.
 * @public
 */
export type AuditEventSeverity = 'low' | 'medium' | 'high' | 'critical';

/** @public */
export const AUDIT_EVENT_SEVERITIES: readonly AuditEventSeverity[] = [
  'low',
  'medium',
  'high',
  'critical',
];

/**
 * Status of an audit event.
 * @public
 */
export type AuditEventStatus = 'initiated' | 'succeeded' | 'failed';

/** @public */
export const AUDIT_EVENT_STATUSES: readonly AuditEventStatus[] = [
  'initiated',
  'succeeded',
  'failed',
];

/**
 * What an audit event acted upon. Every field is optional.
 * @public
 */
export type AuditEventTarget = {
  entityRef?: string;
  cluster?: string;
  namespace?: string;
  resource?: string;
};

/**
 * The HTTP request that caused an audit event, if any.
 * @public
 */
export type AuditEventRequest = {
  method?: string;
  path?: string;
  ip?: string;
  userAgent?: string;
};

/**
 * An audit event before it has been stored (no sequence number, no hash).
 * @public
 */
export type AuditEventInput = {
  /** ISO 8601 timestamp of when the event happened. */
  occurredAt: string;
  /** User entity ref, service subject, or undefined for anonymous callers. */
  actor?: string;
  /** Plugin that emitted the event. */
  plugin: string;
  eventId: string;
  severity: AuditEventSeverity;
  status: AuditEventStatus;
  target: AuditEventTarget;
  request?: AuditEventRequest;
  /** Additional event metadata, with secrets already redacted. */
  meta?: JsonObject;
  /** Error message for failed events. */
  error?: string;
};

/**
 * A stored audit event: a link in the hash chain.
 * @public
 */
export type AuditEvent = AuditEventInput & {
  /** Gapless sequence number, starting at 1. */
  seq: number;
  /** Hash of the previous event (or the genesis/checkpoint hash). */
  prevHash: string;
  /**
   * sha256(prevHash + this event's hashed text), hex: the text is length-prefixed fields (hash
   * chain version 2) or, for events stored by older versions, canonical JSON; with a chain key
   * configured, HMAC-SHA256 with the key over the same as version 2 (version 3). See the README
   * of `@kubechart/plugin-audit-log-backend`.
   */
  hash: string;
};

/**
 * Filters accepted by the events and export endpoints.
 * @public
 */
export type AuditEventFilters = {
  actor?: string;
  plugin?: string;
  eventId?: string;
  severity?: AuditEventSeverity[];
  status?: AuditEventStatus[];
  /** Exact entity ref of the target. */
  entityRef?: string;
  /** Matches the target entity ref, cluster, namespace or resource exactly. */
  target?: string;
  /** ISO 8601 lower bound (inclusive). */
  from?: string;
  /** ISO 8601 upper bound (exclusive). */
  to?: string;
  /** Free text, matched case-insensitively against most fields and meta. */
  q?: string;
};

/**
 * Query for a page of events, newest first.
 * @public
 */
export type AuditEventQuery = AuditEventFilters & {
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** Page size, 1–500. Defaults to 50. */
  limit?: number;
};

/**
 * A page of events, newest first.
 * @public
 */
export type AuditEventPage = {
  items: AuditEvent[];
  /** Pass as `cursor` to fetch the next (older) page; absent on the last page. */
  nextCursor?: string;
};

/**
 * What has been removed by retention.
 * @public
 */
export type AuditPruneCheckpoint = {
  /** Events with a sequence number up to and including this one were pruned. */
  throughSeq: number;
  /** Hash of the event at `throughSeq`; the next event chains from it. */
  hash: string;
  /** When the latest prune happened (ISO 8601). */
  prunedAt: string;
};

/**
 * Result of walking the hash chain.
 * @public
 */
export type AuditVerifyResult = {
  ok: boolean;
  /** Number of events checked. */
  checked: number;
  /** First and last sequence numbers that were checked, when any. */
  firstSeq?: number;
  lastSeq?: number;
  /** Sequence number the chain head records. */
  headSeq: number;
  /** Present when retention has pruned part of the chain. */
  pruned?: AuditPruneCheckpoint;
  /** Present when `ok` is false: the first sequence number that failed. */
  failedSeq?: number;
  /** Present when `ok` is false: why the event failed. */
  reason?: string;
  /**
   * Gap records among the checked events: places where the pipeline had to
   * drop events (at most the 100 newest; `gapCount` has the total).
   */
  gaps?: AuditGap[];
  /** Number of gap records among the checked events. */
  gapCount?: number;
  /** Number of dropped events the gap records account for. */
  droppedEvents?: number;
  /**
   * Whether the chain is keyed: it verified (`ok`) and its events from the first one signed
   * with a chain key (hash chain version 3, HMAC-SHA256) to the head are all signed, so that
   * no one without the backend's `auditLog.chain.key` can rewrite it undetected. False for an
   * unkeyed chain (versions 1 and 2: sha256 only) and for any failure. Set by every backend
   * since hash chain version 3; absent from older ones.
   */
  keyed?: boolean;
  /**
   * The head anchor the chain was checked against: the newest one in the backend's witness
   * file (`auditLog.retention.checkpoint.file`), recording that the chain held event `seq`
   * at `at`. Absent when no witness file is configured or it holds no anchor yet.
   */
  anchor?: { seq: number; at: string };
  /**
   * True when verify failed because the backend's witness file holds records but no head anchor
   * in the part verify reads (its whole content, or its last 1 MiB): a tail cut from the database
   * cannot be ruled out. `failedSeq` is then the event after the head.
   */
  anchorMissing?: boolean;
  /**
   * Present when verify failed because the chain no longer holds a head anchor of the witness
   * file: the anchor published at `at` recording event `seq` (the newest one, as `anchor`, or an
   * older one). The tail was cut below it, events at or below it were rewritten, or the chain
   * was restored from an older backup; `reason` says which and `failedSeq` where.
   */
  anchorMismatch?: { seq: number; at: string };
  /** When the verification finished (ISO 8601). */
  verifiedAt: string;
};

/**
 * Result of a prune.
 * @public
 */
export type AuditPruneResult = {
  /** Number of events deleted. */
  deleted: number;
  /** The checkpoint after pruning, if anything has ever been pruned. */
  checkpoint?: AuditPruneCheckpoint;
};

/**
 * Supported export formats.
 * @public
 */
export type AuditExportFormat = 'csv' | 'ndjson';

/**
 * Plugin id under which the audit log records its own gap and placeholder
 * events.
 * @public
 */
export const AUDIT_LOG_PLUGIN_ID = 'audit-log';

/**
 * Event id of a gap record: an event the audit pipeline appends to the chain
 * when it had to drop events, so the loss is visible in the trail itself.
 * @public
 */
export const AUDIT_GAP_EVENT_ID = 'events-dropped';

/**
 * What a gap record says, in its `meta.gap`.
 * @public
 */
export type AuditGapInfo = {
  /** How many events were dropped. */
  dropped: number;
  /** occurredAt of the first and last dropped event (ISO 8601). */
  firstOccurredAt: string;
  lastOccurredAt: string;
  /** Why, with a count per reason (e.g. `queue full`). */
  reasons: Record<string, number>;
  /**
   * How many of the dropped events had each severity, so that a gap hiding `high` events (a
   * cluster change, an approval) stands out from one of `low` ones. Absent in older records.
   */
  bySeverity?: Partial<Record<AuditEventSeverity, number>>;
  /**
   * How many of the dropped events each `plugin.eventId (severity)` had: at most 50 keys, the
   * rest counted under `other events`. Absent in older records.
   */
  byEvent?: Record<string, number>;
  /**
   * True when the count is a lower bound: the backend recorded the loss outside the database
   * while it was still dropping events, and stopped (killed, crashed) before it could record
   * the rest or write the gap record itself.
   */
  incomplete?: boolean;
};

/**
 * A gap record found in the chain.
 * @public
 */
export type AuditGap = AuditGapInfo & {
  /** Sequence number of the gap record. */
  seq: number;
  /** The record's sentence: "N events dropped between … and … because …". */
  message: string;
};
