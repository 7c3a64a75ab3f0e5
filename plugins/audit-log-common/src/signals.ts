/**
 * Signal channel on which the audit-log backend announces newly stored events.
 * The message carries only the latest sequence number; clients refetch through
 * the permission-checked API.
 * @public
 */
export const AUDIT_LOG_SIGNAL_CHANNEL = 'audit-log:events';

/**
 * Message published on {@link AUDIT_LOG_SIGNAL_CHANNEL}.
 * @public
 */
export type AuditLogSignalMessage = {
  latestSeq: number;
  count: number;
};
