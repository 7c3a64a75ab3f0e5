/**
 * Signal channel on which the audit-log backend announces newly stored events.
 * It is broadcast to every signed-in user, so the message says only that events
 * came (no sequence number nor count: how much each tenant does is not every
 * user's to know); clients refetch through the permission-checked API.
 * @public
 */
export const AUDIT_LOG_SIGNAL_CHANNEL = 'audit-log:events';

/**
 * Message published on {@link AUDIT_LOG_SIGNAL_CHANNEL}.
 * @public
 */
export type AuditLogSignalMessage = {
  type: 'refetch';
};
