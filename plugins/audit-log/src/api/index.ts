export { auditLogApiRef, type AuditLogApi } from './AuditLogApi';
export { AuditLogClient } from './AuditLogClient';
