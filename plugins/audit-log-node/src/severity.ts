import { RootConfigService } from '@backstage/backend-plugin-api';
import {
  AUDIT_EVENT_SEVERITIES,
  AuditEventSeverity,
} from '@kubechart/plugin-audit-log-common';

/**
 * Minimum severities applied by default, by plugin id and event id.
 * Every KubeChart event that changes a cluster is at least `high`, whatever
 * its emitter passed.
 * @public
 */
export const DEFAULT_MINIMUM_SEVERITIES: Readonly<
  Record<string, Readonly<Record<string, AuditEventSeverity>>>
> = {
  kubechart: {
    'run-create': 'high',
    'run-record': 'high',
    'run-finish': 'high',
    'run-finished': 'high',
    'run-retry': 'high',
    'run-rollback': 'high',
    'tenant-delete': 'high',
  },
  'audit-log': {
    'events-prune': 'high',
    'events-dropped': 'high',
  },
};

function rank(severity: AuditEventSeverity): number {
  return AUDIT_EVENT_SEVERITIES.indexOf(severity);
}

/**
 * Reads `auditLog.severity.minimum` (plugin id → event id → severity) on top
 * of {@link DEFAULT_MINIMUM_SEVERITIES} and returns a function that raises an
 * event's severity to its minimum. It never lowers a severity.
 * @public
 */
export function readMinimumSeverities(
  config: RootConfigService,
): (
  pluginId: string,
  eventId: string,
  given: AuditEventSeverity,
) => AuditEventSeverity {
  const minimum = new Map<string, AuditEventSeverity>();
  for (const [pluginId, events] of Object.entries(DEFAULT_MINIMUM_SEVERITIES)) {
    for (const [eventId, severity] of Object.entries(events)) {
      minimum.set(`${pluginId}\n${eventId}`, severity);
    }
  }
  const configured = config.getOptionalConfig('auditLog.severity.minimum');
  for (const pluginId of configured?.keys() ?? []) {
    const events = configured!.getConfig(pluginId);
    for (const eventId of events.keys()) {
      const value = events.getString(eventId);
      if (!AUDIT_EVENT_SEVERITIES.includes(value as AuditEventSeverity)) {
        throw new Error(
          `auditLog.severity.minimum.${pluginId}.${eventId} must be one of ${AUDIT_EVENT_SEVERITIES.join(
            ', ',
          )}, got '${value}'`,
        );
      }
      minimum.set(`${pluginId}\n${eventId}`, value as AuditEventSeverity);
    }
  }
  return (pluginId, eventId, given) => {
    const floor = minimum.get(`${pluginId}\n${eventId}`);
    return floor && rank(floor) > rank(given) ? floor : given;
  };
}
