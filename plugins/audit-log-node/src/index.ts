/**
 * Node library of the audit-log plugin family: an auditor service that keeps
 * Backstage's audit log lines and also hands every event to the audit store.
 *
 * @packageDocumentation
 */

export {
  AuditEventQueue,
  type AuditEventQueueOptions,
  type AuditEventQueueStats,
  type AuditEventSink,
  type AuditLossContext,
  type AuditLossRecorder,
  createGapEvent,
} from './AuditEventQueue';
export { DEFAULT_MINIMUM_SEVERITIES, readMinimumSeverities } from './severity';
export { auditLogQueueServiceRef } from './queueServiceRef';
export {
  AuditLogAuditorService,
  auditLogAuditorServiceFactory,
  type AuditLogCreateEventOptions,
} from './auditorServiceFactory';
export {
  redactSecrets,
  REDACTED,
  SECRET_KEY_PATTERN,
  META_LIMITS,
  TRUNCATED_MARKER,
} from './redact';
export { redactText } from './redactText';
export { redactUrl } from './redactUrl';
export { extractTarget } from './target';
