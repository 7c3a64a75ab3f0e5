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

/** @public */
export const kubeAssistantPermissions = [
  kubeAssistantQueryPermission,
  kubeAssistantExecutePermission,
  kubeAssistantExecuteDangerousPermission,
];
