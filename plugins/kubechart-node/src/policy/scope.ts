import { containersOf, isMapping, podSpecOf } from './podSpec';
import { groupOf } from './rules/util';
import { KubeObject, PolicyScope } from './types';

/** The id of the run-scope rule: blocking in every policy mode, cannot be turned off or exempted. */
export const RUN_SCOPE_RULE_ID = 'run-scope';

/**
 * Scope of the built-in kinds, by "<group>/<Kind>" (core group ""). Used when the caller does not
 * pass discovery; a kind missing here is unknown and refused.
 */
const NAMESPACED: Record<string, string[]> = {
  '': [
    'Binding',
    'ConfigMap',
    'Endpoints',
    'Event',
    'LimitRange',
    'PersistentVolumeClaim',
    'Pod',
    'PodTemplate',
    'ReplicationController',
    'ResourceQuota',
    'Secret',
    'Service',
    'ServiceAccount',
  ],
  apps: [
    'ControllerRevision',
    'DaemonSet',
    'Deployment',
    'ReplicaSet',
    'StatefulSet',
  ],
  autoscaling: ['HorizontalPodAutoscaler'],
  batch: ['CronJob', 'Job'],
  'coordination.k8s.io': ['Lease'],
  'discovery.k8s.io': ['EndpointSlice'],
  'events.k8s.io': ['Event'],
  'networking.k8s.io': ['Ingress', 'NetworkPolicy'],
  policy: ['PodDisruptionBudget'],
  'rbac.authorization.k8s.io': ['Role', 'RoleBinding'],
  'storage.k8s.io': ['CSIStorageCapacity'],
  'authorization.k8s.io': ['LocalSubjectAccessReview'],
};
const CLUSTER_SCOPED: Record<string, string[]> = {
  '': ['ComponentStatus', 'Namespace', 'Node', 'PersistentVolume'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
  'authorization.k8s.io': [
    'SelfSubjectAccessReview',
    'SelfSubjectRulesReview',
    'SubjectAccessReview',
  ],
  'certificates.k8s.io': ['CertificateSigningRequest'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'networking.k8s.io': ['IngressClass'],
  'node.k8s.io': ['RuntimeClass'],
  policy: ['PodSecurityPolicy'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'scheduling.k8s.io': ['PriorityClass'],
  'storage.k8s.io': [
    'CSIDriver',
    'CSINode',
    'StorageClass',
    'VolumeAttachment',
  ],
};

/**
 * Whether a built-in kind is namespaced; undefined for kinds outside the table (custom resources).
 * @public
 */
export function builtinIsNamespaced(
  apiVersion: string,
  kind: string,
): boolean | undefined {
  const group = groupOf(apiVersion);
  if (NAMESPACED[group]?.includes(kind)) return true;
  if (CLUSTER_SCOPED[group]?.includes(kind)) return false;
  return undefined;
}

/**
 * The namespace a namespaced object lands in: its own `metadata.namespace`, or `defaultNamespace` (the
 * run's or release's namespace) when it names none, absent or `""`, as helm, kubectl and the run-scope
 * rule place it. Every check and every read or write of such an object must address it through this:
 * an empty namespace taken as given sends a request to another namespace (client-node's `default`).
 * @public
 */
export function effectiveNamespace(
  obj: KubeObject,
  defaultNamespace: string,
): string {
  return obj.metadata?.namespace || defaultNamespace;
}

/** The run-scope rule as a refusal states it: the namespaces a run may write to. */
const rule = (namespaces: string[]) =>
  namespaces.length === 0
    ? 'a run may not write to any namespace'
    : `a run may only write to namespace${
        namespaces.length > 1 ? 's' : ''
      } ${namespaces.join(', ')}`;

/**
 * Why one object lies outside a run's scope (`reason`: `ConfigMap/x is in namespace other`) and the
 * rule it breaks (`rule`: `a run may only write to namespace team-a`), apart, so that a caller
 * listing several objects can state the rule once, or add to it, without reading the message.
 * @public
 */
export type ScopeRefusal = { reason: string; rule: string };

/**
 * Checks one object against the run's scope; returns why it is refused and the rule it breaks, or
 * undefined. {@link scopeViolation} gives the two as one message.
 * @public
 */
export function scopeRefusal(
  obj: KubeObject,
  scope: PolicyScope,
): ScopeRefusal | undefined {
  const apiVersion = String(obj.apiVersion ?? '');
  const kind = String(obj.kind ?? '');
  const ref = `${kind || 'object'}/${String(
    obj.metadata?.name ?? obj.metadata?.generateName ?? '',
  )}`;
  const refused = (reason: string) => ({
    reason,
    rule: rule(scope.namespaces),
  });
  const isNamespaced = scope.isNamespaced ?? builtinIsNamespaced;
  let namespaced: boolean | undefined;
  try {
    namespaced = isNamespaced(apiVersion, kind);
  } catch {
    namespaced = undefined;
  }
  if (namespaced === undefined) {
    return refused(
      `${ref} (${apiVersion}) is of a kind whose scope is unknown to the cluster`,
    );
  }
  if (!namespaced) {
    const key = `${groupOf(apiVersion)}/${kind}`;
    if ((scope.allowedClusterScopedKinds ?? []).includes(key)) return undefined;
    return refused(`${ref} is cluster-scoped`);
  }
  const ns = effectiveNamespace(obj, scope.defaultNamespace);
  if (!scope.namespaces.includes(ns)) {
    return refused(`${ref} is in namespace ${ns}`);
  }
  return undefined;
}

/**
 * Checks one object against the run's scope; returns the reason it is refused, followed by the
 * rule it breaks (`ConfigMap/x is in namespace other; a run may only write to namespace team-a`),
 * or undefined. {@link scopeRefusal} gives the two apart.
 * @public
 */
export function scopeViolation(
  obj: KubeObject,
  scope: PolicyScope,
): string | undefined {
  const refusal = scopeRefusal(obj, scope);
  return refusal && `${refusal.reason}; ${refusal.rule}`;
}

/**
 * Why an object is refused as one of the run's protected objects (`scope.protectedObjects`, the
 * tenant resources KubeChart keeps): same kind, namespace and name, whatever its annotations or API
 * group. A chart object or hook of that name would replace it (a hook with
 * `helm.sh/hook-delete-policy: before-hook-creation` deletes it first), so a tenant's chart could
 * drop the default-deny NetworkPolicy or a platform team's policy. Undefined otherwise.
 * @public
 */
export function protectedObjectViolation(
  obj: KubeObject,
  scope: PolicyScope,
): string | undefined {
  const kind = String(obj.kind ?? '');
  const name = obj.metadata?.name;
  if (!scope.protectedObjects?.length || typeof name !== 'string')
    return undefined;
  const ns = effectiveNamespace(obj, scope.defaultNamespace);
  const hit = scope.protectedObjects.find(
    p => p.kind === kind && p.name === name && p.namespace === ns,
  );
  if (!hit) return undefined;
  const annotations = obj.metadata?.annotations ?? {};
  const deletePolicy = String(annotations['helm.sh/hook-delete-policy'] ?? '');
  let hook = '';
  if (annotations['helm.sh/hook'] !== undefined) {
    hook = deletePolicy
      .split(',')
      .some(p => p.trim() === 'before-hook-creation')
      ? ' (a helm hook with helm.sh/hook-delete-policy: before-hook-creation, which would delete it and create its own)'
      : ' (a helm hook, which would replace it)';
  }
  return `${kind}/${name} is a tenant resource KubeChart keeps in namespace ${ns}${hook}; only tenant runs change it, a chart may not write an object of its kind and name`;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * The name of KubeChart's deployer unless configured otherwise (`kubechart.tenant.deployer.serviceAccount`):
 * the name of its RoleBinding in each namespace, the prefix of its ServiceAccounts' names in
 * {@link DEFAULT_DEPLOYER_NAMESPACE}, and the ServiceAccount it deployed as in the namespace itself
 * before those moved there, whose name no workload may take. @public
 */
export const DEFAULT_DEPLOYER_SERVICE_ACCOUNT = 'kubechart-deployer';

/**
 * The namespace holding the deployer ServiceAccount of every namespace KubeChart deploys into unless
 * configured otherwise (`kubechart.tenant.deployer.namespace`). @public
 */
export const DEFAULT_DEPLOYER_NAMESPACE = 'kubechart-deployers';

const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
const SERVICE_ACCOUNT_NAME_ANNOTATION = 'kubernetes.io/service-account.name';

/** Whether an object is a Secret the token controller fills with a token of ServiceAccount `account`. */
const isTokenSecretOf = (obj: KubeObject, account: string) =>
  groupOf(String(obj?.apiVersion ?? '')) === '' &&
  obj?.kind === 'Secret' &&
  obj.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
  obj.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === account;

/**
 * The names of the Secrets among `objects` that are tokens of the deployer ServiceAccount (type
 * `kubernetes.io/service-account-token`, annotated `kubernetes.io/service-account.name: <deployer>`),
 * for {@link deployerIdentityViolation} to refuse pods that refer to them.
 * @public
 */
export function deployerTokenSecretNames(
  objects: readonly KubeObject[],
  deployer: string,
): Set<string> {
  const names = new Set<string>();
  for (const o of objects) {
    const name = o?.metadata?.name;
    if (typeof name === 'string' && isTokenSecretOf(o, deployer))
      names.add(name);
  }
  return names;
}

/**
 * The Secrets a pod spec gives its containers (a secret volume, a projected volume's secret source,
 * an env `secretKeyRef`, an `envFrom` `secretRef`), each with how, in the order of the spec.
 */
function secretReferences(spec: any): Array<{ name: string; through: string }> {
  const out: Array<{ name: string; through: string }> = [];
  const add = (name: unknown, through: string) => {
    if (typeof name === 'string' && name) out.push({ name, through });
  };
  const maps = (v: unknown): any[] =>
    Array.isArray(v) ? v.filter(isMapping) : [];
  for (const volume of maps(spec.volumes)) {
    if (isMapping(volume.secret))
      add(volume.secret.secretName, 'a secret volume');
    if (isMapping(volume.projected)) {
      for (const source of maps(volume.projected.sources)) {
        if (isMapping(source.secret))
          add(source.secret.name, 'a projected volume');
      }
    }
  }
  for (const container of containersOf(spec)) {
    for (const env of maps(container.env)) {
      const ref = isMapping(env.valueFrom)
        ? env.valueFrom.secretKeyRef
        : undefined;
      if (isMapping(ref)) add(ref.name, 'an env secretKeyRef');
    }
    for (const from of maps(container.envFrom)) {
      if (isMapping(from.secretRef))
        add(from.secretRef.name, 'an envFrom secretRef');
    }
  }
  return out;
}

/**
 * Why a Secret of this name would give pods a token of the deployer: one of `tokenSecrets` (the
 * manifests' own), or a name the token controller gives the deployer's token Secrets
 * (`<deployer>-token-<suffix>`, which it creates for every ServiceAccount on clusters before
 * Kubernetes 1.24 and which the ServiceAccount lists; `<deployer>-token` as written by hand).
 */
function deployerTokenName(
  name: string,
  deployer: string,
  tokenSecrets: ReadonlySet<string>,
): string | undefined {
  if (tokenSecrets.has(name))
    return `a token of ServiceAccount ${deployer} that these manifests define`;
  if (name === `${deployer}-token` || name.startsWith(`${deployer}-token-`))
    return `the name the token controller gives a token Secret of ServiceAccount ${deployer}`;
  return undefined;
}

/**
 * Why an object would hand a workload the identity KubeChart deploys with in its namespace (the
 * deployer ServiceAccount, bound to the namespace's admin role): pods that run as it, pods given a
 * token Secret of it (through a secret or projected volume, an env `secretKeyRef` or an `envFrom`
 * `secretRef`: one of `tokenSecrets`, the manifests' own token Secrets of the deployer from
 * {@link deployerTokenSecretNames}, or one named `<deployer>-token` or `<deployer>-token-…` as the
 * token controller names them), a token Secret made for it, the ServiceAccount itself or its
 * RoleBinding, which only KubeChart writes, or a binding that grants it more rights, or that grants
 * rights to any ServiceAccount of `deployerNamespace`, where the deployers of all namespaces live (one,
 * or the group of them all). Undefined otherwise. What that identity does is KubeChart's deploying,
 * not a workload's, and it could write what the policy never saw. A Secret of another name that already holds a deployer token in the
 * cluster is not known here: the policy sees only the manifests.
 * @public
 */
export function deployerIdentityViolation(
  obj: KubeObject,
  deployer: string,
  tokenSecrets: ReadonlySet<string> = new Set(),
  deployerNamespace: string = DEFAULT_DEPLOYER_NAMESPACE,
): string | undefined {
  const kind = String(obj.kind ?? '');
  const ref = `${kind || 'object'}/${String(obj.metadata?.name ?? '')}`;
  const core = groupOf(String(obj.apiVersion ?? '')) === '';
  const identity = `the identity KubeChart deploys with in this namespace`;
  const spec = podSpecOf(obj);
  if (
    spec &&
    (spec.serviceAccountName === deployer || spec.serviceAccount === deployer)
  ) {
    return `${ref} runs its pods as ServiceAccount ${deployer}, ${identity}; a workload may not hold it`;
  }
  if (spec) {
    for (const { name, through } of secretReferences(spec)) {
      const token = deployerTokenName(name, deployer, tokenSecrets);
      if (token)
        return `${ref} gives its pods Secret ${name} (through ${through}), ${token}, ${identity}; a workload may not hold it`;
    }
  }
  if (isTokenSecretOf(obj, deployer)) {
    return `${ref} is a token of ServiceAccount ${deployer}, ${identity}; a workload may not hold it`;
  }
  if (core && kind === 'ServiceAccount' && obj.metadata?.name === deployer) {
    return `${ref} is ${identity}; only KubeChart writes it`;
  }
  const rbac = groupOf(String(obj.apiVersion ?? '')) === RBAC_GROUP;
  if (rbac && kind === 'RoleBinding' && obj.metadata?.name === deployer) {
    // Its subjects change in place: whoever a run added to them would hold the deployer's rights.
    return `${ref} is the binding of ${identity}; only KubeChart writes it`;
  }
  if (
    rbac &&
    (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') &&
    Array.isArray(obj.subjects) &&
    obj.subjects.some(s => namesAccount(s, deployer))
  ) {
    return `${ref} grants rights to ServiceAccount ${deployer}, ${identity}; only KubeChart grants it rights`;
  }
  const deployers =
    rbac &&
    (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') &&
    Array.isArray(obj.subjects)
      ? obj.subjects
          .map(s => deployersSubject(s, deployerNamespace))
          .find(Boolean)
      : undefined;
  if (deployers) {
    return `${ref} grants rights to ${deployers}, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace); only KubeChart grants them rights`;
  }
  return undefined;
}

/**
 * A binding subject among the ServiceAccounts of `namespace`, described, or undefined: one of them by
 * kind or user name, or the group of them all (`system:serviceaccounts:<namespace>`).
 */
function deployersSubject(
  subject: unknown,
  namespace: string,
): string | undefined {
  if (!subject || typeof subject !== 'object') return undefined;
  const {
    kind,
    name,
    namespace: of,
  } = subject as {
    kind?: unknown;
    name?: unknown;
    namespace?: unknown;
  };
  if (kind === 'ServiceAccount' && of === namespace)
    return `ServiceAccount ${String(name)} of namespace ${namespace}`;
  if (typeof name !== 'string') return undefined;
  const parts = name.split(':');
  if (
    kind === 'User' &&
    parts.length === 4 &&
    name.startsWith('system:serviceaccount:') &&
    parts[2] === namespace
  )
    return `ServiceAccount ${parts[3]} of namespace ${namespace}`;
  if (kind === 'Group' && name === `system:serviceaccounts:${namespace}`)
    return `Group ${name} (every ServiceAccount of namespace ${namespace})`;
  return undefined;
}

/** A binding subject that is a ServiceAccount of this name, in any namespace, by kind or user name. */
function namesAccount(subject: unknown, account: string): boolean {
  if (!subject || typeof subject !== 'object') return false;
  const { kind, name } = subject as { kind?: unknown; name?: unknown };
  if (kind === 'ServiceAccount') return name === account;
  return (
    kind === 'User' &&
    typeof name === 'string' &&
    name.startsWith('system:serviceaccount:') &&
    name.split(':').length === 4 &&
    name.split(':')[3] === account
  );
}
