import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Allows reading audit events, their details and the integrity report.
 * @public
 */
export const auditLogEventsReadPermission = createPermission({
  name: 'audit-log.events.read',
  attributes: { action: 'read' },
});

/**
 * Allows exporting audit events as CSV or NDJSON.
 * @public
 */
export const auditLogEventsExportPermission = createPermission({
  name: 'audit-log.events.export',
  attributes: { action: 'read' },
});

/**
 * Allows pruning audit events older than a cut-off on demand
 * (scheduled retention runs without it).
 * @public
 */
export const auditLogEventsPrunePermission = createPermission({
  name: 'audit-log.events.prune',
  attributes: { action: 'delete' },
});

/**
 * All permissions of the audit-log plugin.
 * @public
 */
export const auditLogPermissions = [
  auditLogEventsReadPermission,
  auditLogEventsExportPermission,
  auditLogEventsPrunePermission,
];
