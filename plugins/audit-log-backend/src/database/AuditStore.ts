import {
  AuditEvent,
  AuditEventFilters,
  AuditEventInput,
  AuditEventPage,
  AuditEventQuery,
  AuditPruneResult,
  AuditVerifyResult,
} from '@kubechart/plugin-audit-log-common';

/**
 * Result of an append.
 * @public
 */
export type AuditAppendResult = {
  firstSeq: number;
  lastSeq: number;
  /** Events the database refused even after cleaning, stored as placeholders. */
  placeholders?: number;
};

/**
 * Where a prune cuts the chain: events `fromSeq`–`throughSeq` go, and the
 * remaining chain starts from `hash`, the hash of event `throughSeq`.
 * @public
 */
export type AuditPruneCut = {
  fromSeq: number;
  throughSeq: number;
  hash: string;
  /** The requested cut-off (ISO 8601): events before it were pruned. */
  cutoff: string;
};

/**
 * Persistent, tamper-evident storage of audit events.
 * @public
 */
export interface AuditStore {
  /** Appends events, in order, as one atomic extension of the chain. */
  append(events: AuditEventInput[]): Promise<AuditAppendResult>;
  /** A page of events matching the filters, newest first. */
  query(query: AuditEventQuery): Promise<AuditEventPage>;
  /** Every event matching the filters, newest first, fetched in batches. */
  stream(filters: AuditEventFilters): AsyncIterable<AuditEvent>;
  /** One event, or undefined. */
  get(seq: number): Promise<AuditEvent | undefined>;
  /** Walks the chain from the checkpoint to the head. */
  verify(): Promise<AuditVerifyResult>;
  /**
   * Removes events older than `before`, keeping a checkpoint. `witness` is
   * given the cut before anything changes; if it throws, nothing is pruned.
   */
  prune(options: {
    before: Date;
    witness?: (cut: AuditPruneCut) => Promise<void>;
  }): Promise<AuditPruneResult & { cut?: AuditPruneCut }>;
}
