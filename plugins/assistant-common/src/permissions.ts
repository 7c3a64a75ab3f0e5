import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Asking the assistant a question (turns it into a plan, runs nothing).
 *
 * @public
 */
export const kubeAssistantQueryPermission = createPermission({
  name: 'kube-assistant.query',
  attributes: { action: 'read' },
});

/**
 * Running a plan against a cluster. `warning` plans also need the user's
 * confirmation.
 *
 * @public
 */
export const kubeAssistantExecutePermission = createPermission({
  name: 'kube-assistant.execute',
  attributes: {},
});

/**
 * Running a `dangerous` plan (delete, drain, exec, apply/patch, Secret data).
 *
 * @public
 */
export const kubeAssistantExecuteDangerousPermission = createPermission({
  name: 'kube-assistant.execute.dangerous',
  attributes: { action: 'delete' },
});

/**
 * Planning and running beyond the namespace of an entity the user owns (all
 * namespaces, other namespaces, cluster-scoped objects, questions asked
 * without an entity). Without it, every question must come from a catalog
 * entity the user or one of their groups owns, and stays in its namespace.
 *
 * @public
 */
export const kubeAssistantClusterWidePermission = createPermission({
  name: 'kube-assistant.cluster-wide',
  attributes: {},
});

/** @public */
export const kubeAssistantPermissions = [
  kubeAssistantQueryPermission,
  kubeAssistantExecutePermission,
  kubeAssistantExecuteDangerousPermission,
  kubeAssistantClusterWidePermission,
];
