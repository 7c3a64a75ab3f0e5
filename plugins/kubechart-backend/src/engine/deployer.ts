import {
  KUBECHART_TENANT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '@kubechart/plugin-kubechart-common';
import { KubeClient } from '../lib/KubeClient';
import { describeKubeError } from '../lib/kubeErrors';
import { RunFailure } from './errors';
import { KUBECHART_OWNER_ANNOTATION } from './executors';
import { EngineSettings } from './settings';

type DeployerSettings = Pick<
  EngineSettings,
  'deployerServiceAccount' | 'deployerNamespace'
>;

/**
 * The deployer ServiceAccount of `namespace`: `<deployerServiceAccount>-<namespace>` in the deployers'
 * namespace (`kubechart.tenant.deployer.namespace`), which only the engine writes. A pod can only run as
 * a ServiceAccount of its own namespace, and a token Secret only names one of its own namespace, so
 * nothing in the tenant namespace can take this identity.
 */
export const deployerAccount = (
  namespace: string,
  settings: DeployerSettings,
) => ({
  name: `${settings.deployerServiceAccount}-${namespace}`,
  namespace: settings.deployerNamespace,
});

/** The user name of a namespace's deployer ServiceAccount, as the API server sees it when impersonated. */
export const deployerUser = (namespace: string, settings: DeployerSettings) => {
  const account = deployerAccount(namespace, settings);
  return `system:serviceaccount:${account.namespace}:${account.name}`;
};

/**
 * Ensures the namespace's deployer: the deployers' namespace (created when missing), the namespace's
 * ServiceAccount there, and a RoleBinding of the configured ClusterRole (`admin` by default) in the
 * namespace only, named `deployerServiceAccount`. Created by the engine's own identity (which needs
 * `bind` on that ClusterRole); everything a run applies afterwards goes through this account. A deployer
 * from before `kubechart.tenant.deployer.namespace` (a ServiceAccount `deployerServiceAccount` in the
 * namespace itself, which the namespace's pods could run as) is taken over: its RoleBinding now names
 * the new account, and the old ServiceAccount is deleted when it is KubeChart's. Every write is a change
 * of the run.
 */
export async function ensureDeployer(
  client: KubeClient,
  namespace: string,
  labels: Record<string, string>,
  settings: Pick<
    EngineSettings,
    'deployerServiceAccount' | 'deployerNamespace' | 'deployerClusterRole'
  >,
): Promise<string> {
  if (namespace === settings.deployerNamespace) {
    throw new RunFailure(
      `Namespace ${namespace} holds KubeChart's deployers (kubechart.tenant.deployer.namespace); no run deploys into it, nothing was changed`,
    );
  }
  const account = deployerAccount(namespace, settings);
  // A namespace a tenant or owner was given (configured so by mistake) is not taken over: its users
  // could reach every deployer.
  const existing = await client.read<any>({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: account.namespace },
  });
  if (
    existing?.metadata?.labels?.[KUBECHART_TENANT_LABEL] !== undefined ||
    existing?.metadata?.annotations?.[KUBECHART_OWNER_ANNOTATION] !== undefined
  ) {
    throw new RunFailure(
      `Namespace ${account.namespace} holds KubeChart's deployers but carries the tenant label or owner annotation of a namespace KubeChart gave out (${KUBECHART_TENANT_LABEL}, ${KUBECHART_OWNER_ANNOTATION}); set kubechart.tenant.deployer.namespace to a namespace of its own, nothing was changed`,
    );
  }
  const ns = await client.ensure({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: account.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    },
  });
  const sa = await client.ensure({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { ...account, labels },
    // Nothing runs as it: it is impersonated.
    automountServiceAccountToken: false,
  } as any);
  const name = settings.deployerServiceAccount;
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace, labels },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: settings.deployerClusterRole,
    },
    subjects: [{ kind: 'ServiceAccount', ...account }],
  };
  const current = await client.read<any>(binding);
  // roleRef cannot change in place: a binding to another role (name, kind or API group) is replaced.
  const replaced =
    !!current &&
    (current.roleRef?.name !== binding.roleRef.name ||
      current.roleRef?.kind !== binding.roleRef.kind ||
      current.roleRef?.apiGroup !== binding.roleRef.apiGroup);
  if (replaced) {
    // Through the client's change path: the run's lease is checked and the delete is recorded as
    // something the run changed, also when the binding that replaces it cannot be created.
    await client.delete(binding);
  }
  const rb = await client.ensure(binding as any);
  // The deployer from before, in the namespace itself: bound no more (above), and deleted when KubeChart's.
  const legacy = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace },
  };
  const old = await client.read(legacy);
  const removed =
    old?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE
      ? `, ServiceAccount ${name} in ${namespace} (the deployer before kubechart.tenant.deployer.namespace): ${await client.delete(
          legacy,
        )}`
      : '';
  return `Namespace ${account.namespace}: ${ns}, ServiceAccount ${
    account.name
  } in ${account.namespace}: ${sa}, RoleBinding ${name} (ClusterRole ${
    settings.deployerClusterRole
  }): ${replaced ? 'replaced' : rb}${removed}`;
}

/**
 * The user reads outside a run go through in `namespace` (an approval plan's or preview's releases):
 * its deployer, or the deployer from before `kubechart.tenant.deployer.namespace` while the namespace's
 * RoleBinding (read with the engine's own `client`) still names that one, as no run has ensured the
 * namespace's deployer since. Reads only: every run ensures the deployer before it reads or writes.
 */
export async function deployerReadingUser(
  client: KubeClient,
  namespace: string,
  settings: DeployerSettings,
): Promise<string> {
  const name = settings.deployerServiceAccount;
  const binding = await client.read<any>({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
  });
  const subjects: any[] = Array.isArray(binding?.subjects)
    ? binding.subjects
    : [];
  const names = (account: { name: string; namespace: string }) =>
    subjects.some(
      s =>
        s?.kind === 'ServiceAccount' &&
        s.name === account.name &&
        (s.namespace || namespace) === account.namespace,
    );
  // The new deployer whenever the binding names it, also next to the old one.
  return !names(deployerAccount(namespace, settings)) &&
    names({ name, namespace })
    ? `system:serviceaccount:${namespace}:${name}`
    : deployerUser(namespace, settings);
}

/**
 * Why the Helm release records of `namespace` could not be read by its deployer outside a run (an
 * approval plan), from the API server's refusal `error`: with, when the namespace has no deployer
 * RoleBinding yet (it was created outside KubeChart and no run has started there, which would create
 * one), the binding the platform team may create so that the records can be read. Read with the
 * engine's own `client`; grants nothing.
 */
export async function deployerReadRefusal(
  client: KubeClient,
  cluster: string,
  namespace: string,
  error: unknown,
  settings: Pick<
    EngineSettings,
    'deployerServiceAccount' | 'deployerNamespace' | 'deployerClusterRole'
  >,
): Promise<string> {
  const name = settings.deployerServiceAccount;
  const account = deployerAccount(namespace, settings);
  const refused = `the Helm release records in namespace ${namespace} on cluster ${cluster} cannot be read by its deployer (${describeKubeError(
    error,
    cluster,
  )})`;
  // Unread (the engine may not read it either), nothing is said of the binding.
  const missing = await client
    .read({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
    })
    .then(
      binding => !binding,
      () => false,
    );
  if (!missing) return refused;
  return `${refused}: the namespace has no RoleBinding for KubeChart's deployer yet, which the first run started there creates. The platform team can create it first: RoleBinding ${name} in ${namespace} (ClusterRole ${settings.deployerClusterRole}) for ServiceAccount ${account.name} of namespace ${account.namespace}`;
}
