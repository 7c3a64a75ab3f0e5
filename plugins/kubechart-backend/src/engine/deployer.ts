import { KubeClient } from '../lib/KubeClient';
import { EngineSettings } from './settings';

/** The user name of a namespace's deployer ServiceAccount, as the API server sees it when impersonated. */
export const deployerUser = (
  namespace: string,
  settings: Pick<EngineSettings, 'deployerServiceAccount'>,
) => `system:serviceaccount:${namespace}:${settings.deployerServiceAccount}`;

/**
 * Ensures the namespace's deployer: a ServiceAccount and a RoleBinding of the configured ClusterRole
 * (`admin` by default) in that namespace only. Created by the engine's own identity (which needs `bind`
 * on that ClusterRole); everything a run applies afterwards goes through this account.
 */
export async function ensureDeployer(
  client: KubeClient,
  namespace: string,
  labels: Record<string, string>,
  settings: Pick<
    EngineSettings,
    'deployerServiceAccount' | 'deployerClusterRole'
  >,
): Promise<string> {
  const name = settings.deployerServiceAccount;
  const sa = await client.ensure({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, labels },
  });
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace, labels },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: settings.deployerClusterRole,
    },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  };
  const current = await client.read<any>(binding);
  // roleRef cannot change in place: a binding to another role is replaced.
  if (current && current.roleRef?.name !== settings.deployerClusterRole) {
    // Through the client's change path: the run's lease is checked and the delete is recorded as
    // something the run changed, also when the binding that replaces it cannot be created.
    await client.delete(binding);
  }
  const rb = await client.ensure(binding as any);
  return `ServiceAccount ${name}: ${sa}, RoleBinding ${name} (ClusterRole ${
    settings.deployerClusterRole
  }): ${
    current && current.roleRef?.name !== settings.deployerClusterRole
      ? 'replaced'
      : rb
  }`;
}
