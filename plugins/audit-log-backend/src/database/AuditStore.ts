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
  /**
   * Walks only from event `seq`, which must have `hash`, to the head (from the checkpoint when
   * the chain was pruned past it): the events a head anchor would vouch for after an earlier
   * one, checked as a whole walk checks them. The result's `checked` counts those events.
   */
  from?: { seq: number; hash: string };
};

/**
 * What {@link AuditStore.checkEvent} found of a stored event.
 * @public
 */
export type AuditEventCheck = {
  hash: string;
  check: 'intact' | 'altered' | 'unknown-key' | 'unkeyed';
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
   * Event `seq`'s stored hash and whether its content gives it: the hash recomputed from the
   * event's columns and its `prev_hash` in the form its chain version names, as verify does
   * (`intact`, `altered`, `unknown-key` for an event signed with a key that is not configured,
   * `unkeyed` for an unsigned event while a chain key is configured); undefined when the
   * database holds no such event (or it was pruned).
   */
  checkEvent(seq: number): Promise<AuditEventCheck | undefined>;
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
