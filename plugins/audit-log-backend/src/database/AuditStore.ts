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
 * The chain head: the newest event's sequence number and hash (0 and `0` × 64, or the last
 * prune's checkpoint, when there is no event).
 * @public
 */
export type AuditChainHead = {
  seq: number;
  hash: string;
  /**
   * Where the chain starts: the event it was pruned through (0 when never pruned) and that
   * event's hash, which the first event kept links to.
   */
  checkpoint?: { seq: number; hash: string };
};

/**
 * What a witness outside the database recorded, for verify to check the chain against.
 * @public
 */
export type AuditVerifyOptions = {
  /**
   * The newest head anchor: the chain must still hold event `seq` with `hash`, or have been
   * pruned past it by a prune among `witnessedCheckpoints`; and it must start where it started
   * then (`checkpointSeq`, `checkpointHash`), or after a prune among `witnessedCheckpoints`.
   */
  anchor?: {
    seq: number;
    hash: string;
    at: string;
    /** The chain's prune checkpoint when the anchor was published (absent in older anchors). */
    checkpointSeq?: number;
    checkpointHash?: string;
  };
  /** The prune checkpoints the witness recorded (those it has at hand). */
  witnessedCheckpoints?: Array<{ throughSeq: number; hash: string }>;
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
  /**
   * Walks the chain from the checkpoint to the head, then checks it against the anchor in
   * `options`, if any.
   */
  verify(options?: AuditVerifyOptions): Promise<AuditVerifyResult>;
  /** The chain head as the database records it. */
  head(): Promise<AuditChainHead>;
  /**
   * Removes events older than `before`, keeping a checkpoint. `witness` is
   * given the cut before anything changes; if it throws, nothing is pruned.
   */
  prune(options: {
    before: Date;
    witness?: (cut: AuditPruneCut) => Promise<void>;
  }): Promise<AuditPruneResult & { cut?: AuditPruneCut }>;
}
