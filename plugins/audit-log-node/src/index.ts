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
  type AuditHeldContext,
  type AuditHeldRecorder,
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
  isRedactedCopy,
  REDACTED,
  SECRET_KEY_PATTERN,
  META_LIMITS,
  TRUNCATED_MARKER,
} from './redact';
// The free-text and URL rules live in the common package every family shares; re-exported here,
// where they were first published.
export { redactText, redactUrl } from '@kubechart/plugin-audit-log-common';
export { extractTarget } from './target';
export {
  catalogEntityOwners,
  type CatalogOwnersSource,
  type EntityOwnersReader,
} from './entityOwners';
