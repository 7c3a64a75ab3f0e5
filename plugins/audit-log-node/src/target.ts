import { AuditEventTarget } from '@kubechart/plugin-audit-log-common';
import { JsonObject } from '@backstage/types';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Derives the target of an audit event from the conventional meta keys that
 * Backstage plugins and the KubeChart plugins use. The `templateRef` of a
 * scaffolder dry-run (`actionType: 'dry-run'`) is not its target: the
 * template comes in the request body, named as its caller chose, so the event
 * is not attributed to the catalog entity of that name (the ref stays in
 * `meta`).
 * @public
 */
export function extractTarget(meta: JsonObject | undefined): AuditEventTarget {
  if (!meta) {
    return {};
  }
  const templateRef =
    meta.actionType === 'dry-run' ? undefined : str(meta.templateRef);
  // KubeChart and others nest the target: `{ target: { cluster, namespace } }`
  const nested =
    meta.target &&
    typeof meta.target === 'object' &&
    !Array.isArray(meta.target)
      ? (meta.target as JsonObject)
      : {};
  const target: AuditEventTarget = {
    entityRef:
      str(meta.entityRef) ??
      str(meta.targetEntityRef) ??
      str(nested.entityRef) ??
      templateRef ??
      str(meta.entity),
    cluster: str(meta.cluster) ?? str(meta.clusterName) ?? str(nested.cluster),
    namespace: str(meta.namespace) ?? str(nested.namespace),
    resource:
      str(meta.resource) ??
      str(meta.resourceRef) ??
      str(nested.resource) ??
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
