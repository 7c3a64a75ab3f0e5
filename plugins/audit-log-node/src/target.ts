import { AuditEventTarget } from '@kubechart/plugin-audit-log-common';
import { JsonObject } from '@backstage/types';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Derives the target of an audit event from the conventional meta keys that
 * Backstage plugins and the KubeChart plugins use.
 * @public
 */
export function extractTarget(meta: JsonObject | undefined): AuditEventTarget {
  if (!meta) {
    return {};
  }
  const target: AuditEventTarget = {
    entityRef:
      str(meta.entityRef) ??
      str(meta.targetEntityRef) ??
      str(meta.templateRef) ??
      str(meta.entity),
    cluster: str(meta.cluster) ?? str(meta.clusterName),
    namespace: str(meta.namespace),
    resource:
      str(meta.resource) ??
      str(meta.resourceRef) ??
      (str(meta.runId) && `run:${meta.runId}`) ??
      (str(meta.taskId) && `task:${meta.taskId}`),
  };
  for (const key of Object.keys(target) as (keyof AuditEventTarget)[]) {
    if (target[key] === undefined) {
      delete target[key];
    }
  }
  return target;
}
