import { createApiRef } from '@backstage/core-plugin-api';
import {
  AuditEvent,
  AuditEventFilters,
  AuditEventPage,
  AuditEventQuery,
  AuditExportFormat,
  AuditVerifyResult,
} from '@kubechart/plugin-audit-log-common';

/**
 * Client of the audit-log backend.
 * @public
 */
export interface AuditLogApi {
  /** A page of events, newest first. */
  getEvents(query: AuditEventQuery): Promise<AuditEventPage>;
  /** One event by sequence number. */
  getEvent(seq: number): Promise<AuditEvent>;
  /** Walks the hash chain on the server. */
  verify(): Promise<AuditVerifyResult>;
  /** Every event matching the filters, as a CSV or NDJSON file. */
  exportEvents(
    filters: AuditEventFilters,
    format: AuditExportFormat,
  ): Promise<{ blob: Blob; filename: string }>;
}

/**
 * Reference to the {@link AuditLogApi}.
 * @public
 */
export const auditLogApiRef = createApiRef<AuditLogApi>({
  id: 'plugin.audit-log.service',
});
