import { NotAllowedError } from '@backstage/errors';
import { KubeObject } from './tables';

/**
 * The ServiceAccount KubeChart deploys as in a namespace, unless `kubechart.tenant.deployer.serviceAccount`
 * names another (read from the same root config when KubeChart is installed beside the assistant).
 */
export const DEFAULT_DEPLOYER_SERVICE_ACCOUNT = 'kubechart-deployer';

/**
 * The namespace KubeChart keeps the deployer ServiceAccount of every namespace in, unless
 * `kubechart.tenant.deployer.namespace` names another.
 */
export const DEFAULT_DEPLOYER_NAMESPACE = 'kubechart-deployers';

/**
 * KubeChart's deployer: `serviceAccount`, the name of its RoleBinding in each namespace (and of the
 * ServiceAccount it deployed as there before it moved to `namespace`); `namespace`, where the
 * deployer ServiceAccounts of all namespaces are.
 */
export type Deployer = { serviceAccount: string; namespace: string };

/** Marks the objects a KubeChart tenant run keeps in a tenant namespace: quota, limits, network policy. */
const TENANT_RESOURCE_ANNOTATION = 'kubechart.io/tenant-resource';
/** The label KubeChart puts on the namespaces (and objects) of a tenant. */
const TENANT_LABEL = 'kubechart.io/tenant';
/** Names the owner a namespace is assigned to; the assistant's own scope check reads it. */
const OWNER_ANNOTATION = 'kubechart.io/owner';
const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const HELM_RELEASE_TYPE = 'helm.sh/release.v1';
const HELM_RECORD_PREFIX = 'sh.helm.release.v1.';
/** A Secret holding a ServiceAccount's token: the token controller fills it in for the account it names. */
const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
const SERVICE_ACCOUNT_NAME_ANNOTATION = 'kubernetes.io/service-account.name';

const isMap = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

/** An object the assistant does not change, and why. */
export type GuardedTarget = {
  kind: string;
  name: string;
  namespace?: string;
  reason: string;
};

/**
 * Why the assistant never changes `object` (of `kind`), or undefined when it may. These are the
 * guardrails KubeChart keeps for a tenant and what KubeChart and Helm trust: without impersonation
 * a change runs as the backend's own identity, which may do what the namespace's deployer may not,
 * so an entity owner could otherwise lift their own quota or open their network policy.
 */
export function guardReason(
  kind: string,
  object: KubeObject,
  { serviceAccount: deployer, namespace: deployers }: Deployer,
): string | undefined {
  const metadata = object.metadata ?? {};
  const labels: Record<string, string> = metadata.labels ?? {};
  const annotations: Record<string, string> = metadata.annotations ?? {};
  const name = metadata.name ?? '';
  // Its ServiceAccounts are the deployers themselves, its Secrets their tokens.
  const keeps = `where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace)`;
  if (metadata.namespace === deployers) {
    return `it is in namespace ${deployers}, ${keeps}, which only KubeChart writes`;
  }
  if (kind === 'Namespace' && name === deployers) {
    return `it is the namespace ${keeps}, which only KubeChart changes`;
  }
  if (annotations[TENANT_RESOURCE_ANNOTATION] === 'true') {
    return `it is a tenant guardrail KubeChart keeps (annotated ${TENANT_RESOURCE_ANNOTATION}), which only a KubeChart tenant run changes`;
  }
  if (
    (kind === 'Secret' || kind === 'ConfigMap') &&
    ((object as { type?: string }).type === HELM_RELEASE_TYPE ||
      labels.owner === 'helm' ||
      name.startsWith(HELM_RECORD_PREFIX))
  ) {
    return `it is a Helm release record (type ${HELM_RELEASE_TYPE}, a name ${HELM_RECORD_PREFIX}…, or the label owner=helm), which only helm writes and which helm and rollbacks trust`;
  }
  // KubeChart gives every namespace it deploys into a deployer, tenant or not: the RoleBinding of this
  // name, and (until a run moves it to the deployers' namespace) a ServiceAccount of it there.
  if (kind === 'ServiceAccount' && name === deployer) {
    return `it is the ServiceAccount KubeChart deploys with in this namespace (kubechart.tenant.deployer.serviceAccount), which only KubeChart writes`;
  }
  // Whoever reads or replaces the deployer's token deploys as KubeChart; a token Secret that comes
  // to name the deployer is given a fresh deployer token by the token controller.
  if (
    kind === 'Secret' &&
    (object as { type?: string }).type === SERVICE_ACCOUNT_TOKEN_TYPE &&
    annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] === deployer
  ) {
    return `it is a token of KubeChart's deployer (type ${SERVICE_ACCOUNT_TOKEN_TYPE} for ServiceAccount ${deployer}), which carries the deployer's rights and which only KubeChart writes`;
  }
  if (
    (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') &&
    ((kind === 'RoleBinding' && name === deployer) ||
      namesDeployer(object, deployer))
  ) {
    return `it is the ${kind} that gives KubeChart's deployer (ServiceAccount ${deployer}) its rights, which only KubeChart writes`;
  }
  if (
    (kind === 'RoleBinding' || kind === 'ClusterRoleBinding') &&
    namesDeployers(object, deployers)
  ) {
    return `it grants rights to ServiceAccounts of namespace ${deployers}, ${keeps}, which only KubeChart grants rights`;
  }
  if (kind === 'Namespace') {
    if (labels[TENANT_LABEL]) {
      return `it is the namespace of KubeChart tenant ${labels[TENANT_LABEL]}, which only KubeChart changes`;
    }
    if (annotations[OWNER_ANNOTATION]) {
      return `it is assigned to ${annotations[OWNER_ANNOTATION]} (annotated ${OWNER_ANNOTATION}), which only the platform changes`;
    }
    if (labels[MANAGED_BY_LABEL] === 'kubechart') {
      return `it is a namespace KubeChart manages (${MANAGED_BY_LABEL}=kubechart), which only KubeChart changes`;
    }
  }
  return undefined;
}

/**
 * Whether a binding names the deployer ServiceAccount as a subject (of its own namespace, or any):
 * by kind ServiceAccount, or as the user it authenticates as (`system:serviceaccount:<ns>:<name>`),
 * as KubeChart's policy reads a binding.
 */
function namesDeployer(object: KubeObject, deployer: string): boolean {
  const subjects = (object as { subjects?: unknown }).subjects;
  if (!Array.isArray(subjects)) return false;
  return subjects.some((s: { kind?: unknown; name?: unknown }) => {
    if (s?.kind === 'ServiceAccount') return s.name === deployer;
    if (s?.kind !== 'User' || typeof s.name !== 'string') return false;
    const parts = s.name.split(':');
    return (
      parts.length === 4 &&
      parts[0] === 'system' &&
      parts[1] === 'serviceaccount' &&
      parts[3] === deployer
    );
  });
}

/**
 * Whether a binding names a ServiceAccount of the deployers' namespace as a subject (by kind, or as
 * the user it authenticates as), or the group of them all (`system:serviceaccounts:<namespace>`).
 */
function namesDeployers(object: KubeObject, namespace: string): boolean {
  const subjects = (object as { subjects?: unknown }).subjects;
  if (!Array.isArray(subjects)) return false;
  return subjects.some(
    (s: { kind?: unknown; name?: unknown; namespace?: unknown }) => {
      if (s?.kind === 'ServiceAccount') return s.namespace === namespace;
      if (typeof s?.name !== 'string') return false;
      if (s.kind === 'Group')
        return s.name === `system:serviceaccounts:${namespace}`;
      const parts = s.name.split(':');
      return (
        s.kind === 'User' &&
        parts.length === 4 &&
        parts[0] === 'system' &&
        parts[1] === 'serviceaccount' &&
        parts[2] === namespace
      );
    },
  );
}

/*
 * The pods of a workload. The rule is KubeChart's (`deployerIdentityViolation` and `podSpecOf` of
 * `@kubechart/plugin-kubechart-node`), written again here: the assistant's family is installed on
 * its own, without KubeChart's node library (its Helm runner and cluster access).
 */

/** Where the pod spec sits in the built-in pod-bearing kinds. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const TEMPLATE_PATH = ['spec', 'template', 'spec'];
const JOB_TEMPLATE_PATH = ['spec', 'jobTemplate', 'spec', 'template', 'spec'];

function at(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isMap(current)) return undefined;
    current = current[key];
  }
  return current;
}

/**
 * The pod spec of an object of `kind` (a built-in pod-bearing kind, or any object with a pod
 * template under `spec.template` or `spec.jobTemplate`), or undefined when it bears no pods.
 */
function podSpecOf(
  kind: string,
  object: unknown,
): Record<string, unknown> | undefined {
  let path = Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, kind)
    ? POD_SPEC_PATHS[kind]
    : undefined;
  if (!path && at(object, [...TEMPLATE_PATH, 'containers']) !== undefined)
    path = TEMPLATE_PATH;
  if (!path && at(object, [...JOB_TEMPLATE_PATH, 'containers']) !== undefined)
    path = JOB_TEMPLATE_PATH;
  const spec = path ? at(object, path) : undefined;
  return isMap(spec) ? spec : undefined;
}

/** Why pods of `object` would run as the deployer, or undefined. */
function runsAsDeployer(
  kind: string,
  object: unknown,
  deployer: string,
): string | undefined {
  const spec = podSpecOf(kind, object);
  if (
    spec &&
    (spec.serviceAccountName === deployer || spec.serviceAccount === deployer)
  ) {
    return `it runs its pods as ServiceAccount ${deployer}, the identity KubeChart deploys with in this namespace, which only KubeChart holds`;
  }
  return undefined;
}

/** A Secret a pod spec gives its containers, and how. */
type SecretReference = { name: string; through: string };

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'];

const mapsOf = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter(isMap) : [];

/**
 * The Secrets whose values a pod spec puts in its containers (a secret volume, a projected
 * volume's secret source, an env `secretKeyRef`, an `envFrom` `secretRef`), each once.
 */
function secretReferences(spec: Record<string, unknown>): SecretReference[] {
  const found = new Map<string, string>();
  const add = (name: unknown, through: string) => {
    if (typeof name === 'string' && name && !found.has(name))
      found.set(name, through);
  };
  for (const volume of mapsOf(spec.volumes)) {
    if (isMap(volume.secret)) add(volume.secret.secretName, 'a secret volume');
    if (isMap(volume.projected)) {
      for (const source of mapsOf(volume.projected.sources)) {
        if (isMap(source.secret)) add(source.secret.name, 'a projected volume');
      }
    }
  }
  for (const list of CONTAINER_LISTS) {
    for (const container of mapsOf(spec[list])) {
      for (const env of mapsOf(container.env)) {
        const ref = at(env, ['valueFrom', 'secretKeyRef']);
        if (isMap(ref)) add(ref.name, 'an env secretKeyRef');
      }
      for (const from of mapsOf(container.envFrom)) {
        if (isMap(from.secretRef))
          add(from.secretRef.name, 'an envFrom secretRef');
      }
    }
  }
  return [...found].map(([name, through]) => ({ name, through }));
}

/** Reads a Secret of a namespace as the change would be sent; rejects as the cluster answers. */
export type SecretReader = (
  namespace: string,
  name: string,
) => Promise<KubeObject>;

/** Whether `secret` is a token of the deployer, or why that cannot be told (not there yet, or unread). */
type TokenVerdict =
  | { token: boolean }
  | { missing: true }
  | { unreadable: string };

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The error of a plan refused because it would change a guarded object; nothing was changed. */
export type GuardedTargetError = NotAllowedError & {
  guardedTargets: GuardedTarget[];
};

/** `target` with a JSON merge patch (RFC 7386) applied: what the object would be after the change. */
function mergePatched(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return patch;
  const out: Record<string, unknown> = isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatched(out[key], value);
  }
  return out;
}

/**
 * Why `object` may not be changed with the merge patch `change`: it is guarded, or it would be once
 * changed (a label, annotation or patch that turns an object into one the assistant does not
 * change, such as a token Secret made to name the deployer), or its pods would run as the deployer.
 */
function changeGuardReason(
  kind: string,
  object: KubeObject,
  deployer: Deployer,
  change: object | undefined,
): string | undefined {
  const now = guardReason(kind, object, deployer);
  if (now || !change) return now;
  const changed = mergePatched(object, change);
  const after =
    guardReason(kind, changed as KubeObject, deployer) ??
    runsAsDeployer(kind, changed, deployer.serviceAccount);
  return after ? `after this change, ${after}` : undefined;
}

/**
 * Why the pods of `object` would hold a token of the deployer once `change` is applied: a Secret
 * the change gives them (one the pods already hold is not read again) that is a token of the
 * deployer, that does not exist (a Secret created later would reach the pods unchecked), or that
 * cannot be read to tell. Each Secret is read once (`verdicts`).
 */
async function tokenGuardReason(
  kind: string,
  object: KubeObject,
  deployer: string,
  change: object,
  verdicts: Map<string, Promise<TokenVerdict>>,
  readSecret: SecretReader | undefined,
): Promise<string | undefined> {
  const spec = podSpecOf(kind, mergePatched(object, change));
  if (!spec) return undefined;
  const before = podSpecOf(kind, object);
  const held = new Set(before ? secretReferences(before).map(r => r.name) : []);
  const namespace = object.metadata?.namespace ?? '';
  for (const { name, through } of secretReferences(spec)) {
    if (held.has(name)) continue;
    const key = `${namespace}/${name}`;
    if (!verdicts.has(key))
      verdicts.set(key, tokenVerdict(namespace, name, deployer, readSecret));
    const verdict = await verdicts.get(key)!;
    const holds = `after this change, its pods hold Secret ${name} (through ${through})`;
    // One created later (a token of the deployer, say) would reach the pods unchecked.
    if ('missing' in verdict) {
      return `${holds}: Secret ${name} does not exist in ${namespace}; create it first (the assistant checks a Secret before it gives it to pods)`;
    }
    if ('unreadable' in verdict) {
      return `${holds}, which could not be read to tell whether it is a token of KubeChart's deployer (${verdict.unreadable})`;
    }
    if (verdict.token) {
      return `${holds}, a token of KubeChart's deployer (type ${SERVICE_ACCOUNT_TOKEN_TYPE} for ServiceAccount ${deployer}), which carries the deployer's rights`;
    }
  }
  return undefined;
}

/** Reads Secret `name` of `namespace`: one that is not there cannot be told (it is refused). */
async function tokenVerdict(
  namespace: string,
  name: string,
  deployer: string,
  readSecret: SecretReader | undefined,
): Promise<TokenVerdict> {
  if (!readSecret || !namespace) {
    return { unreadable: 'the assistant has no way to read it here' };
  }
  let secret: KubeObject;
  try {
    secret = await readSecret(namespace, name);
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return { missing: true };
    return {
      unreadable: status === undefined ? 'the read failed' : `HTTP ${status}`,
    };
  }
  return {
    token:
      (secret as { type?: string }).type === SERVICE_ACCOUNT_TOKEN_TYPE &&
      secret.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] ===
        deployer,
  };
}

/**
 * Refuses the whole plan when any object it would change is guarded, or would be after the
 * change (`change`, the merge patch sent; none for a delete): a selector that matches a guardrail
 * beside the team's own objects changes none of them. A change that gives a workload's pods
 * KubeChart's deployer identity is refused too: pods that run as the deployer, or that are given a
 * token Secret of it (read with `readSecret`; a Secret that does not exist or cannot be read is
 * refused). Says which and why.
 */
export async function refuseGuarded(
  kind: string,
  targets: KubeObject[],
  deployer: Deployer,
  change?: object,
  readSecret?: SecretReader,
): Promise<void> {
  const guarded: GuardedTarget[] = [];
  const verdicts = new Map<string, Promise<TokenVerdict>>();
  for (const target of targets) {
    const reason =
      changeGuardReason(kind, target, deployer, change) ??
      (change
        ? await tokenGuardReason(
            kind,
            target,
            deployer.serviceAccount,
            change,
            verdicts,
            readSecret,
          )
        : undefined);
    if (!reason) continue;
    guarded.push({
      kind,
      name: target.metadata?.name ?? '',
      ...(target.metadata?.namespace
        ? { namespace: target.metadata.namespace }
        : {}),
      reason,
    });
  }
  if (!guarded.length) return;
  const [first] = guarded;
  const others = guarded.length - 1;
  const more = others
    ? `; and ${others} more the assistant does not change (${guarded
        .slice(1, 4)
        .map(describe)
        .join(', ')}${others > 3 ? ', …' : ''})`
    : '';
  const outcome =
    targets.length > 1
      ? `The plan matches ${
          targets.length
        } objects and changes none of them: narrow it to leave ${
          guarded.length > 1 ? 'these' : 'this one'
        } out.`
      : 'Nothing was changed.';
  const error = new NotAllowedError(
    `The assistant does not change ${describe(first)}: ${
      first.reason
    }${more}. ${outcome}`,
  );
  // At most 50: the assistant changes no more objects at once.
  throw Object.assign(error, { guardedTargets: guarded });
}

function describe(target: GuardedTarget): string {
  return `${target.kind} ${target.name}${
    target.namespace ? ` in ${target.namespace}` : ''
  }`;
}

/** The guarded objects a refused plan would have changed, when the error says. */
export function guardedTargetsOf(error: unknown): GuardedTarget[] | undefined {
  return (error as Partial<GuardedTargetError> | undefined)?.guardedTargets;
}
