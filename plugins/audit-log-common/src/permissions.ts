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
 * Allows reading the audit events whose target is one catalog entity, and
 * nothing else: a resource permission on `catalog-entity`, so a permission
 * policy can grant it with the catalog's rules (for example to the entity's
 * owners with `IS_ENTITY_OWNER`). The API checks it only when
 * `audit-log.events.read` is denied: for `GET /events?entityRef=…`, for
 * single events targeting that entity, and for `GET /events` without an
 * entity, which then lists only the events of entities it allows.
 * @public
 */
export const auditLogEntityEventsReadPermission = createPermission({
  name: 'audit-log.entity-events.read',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
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
  auditLogEntityEventsReadPermission,
  auditLogEventsExportPermission,
  auditLogEventsPrunePermission,
];
