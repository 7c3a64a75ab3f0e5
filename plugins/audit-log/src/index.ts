/**
 * Frontend of the KubeChart audit log: a searchable, verifiable, exportable
 * audit trail page.
 *
 * @packageDocumentation
 */

export { auditLogPlugin, AuditLogPage } from './plugin';
export { AuditLogContent } from './components/AuditLogPage';
export { auditLogApiRef, AuditLogClient, type AuditLogApi } from './api';
export { useAuditEvents, useVerify } from './hooks';
export { auditLogTranslationRef } from './translation';
