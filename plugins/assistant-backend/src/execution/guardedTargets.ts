import { NotAllowedError } from '@backstage/errors';
import { KubeObject } from './tables';

/**
 * The ServiceAccount KubeChart deploys as in a namespace, unless `kubechart.tenant.deployer.serviceAccount`
 * names another (read from the same root config when KubeChart is installed beside the assistant).
 */
export const DEFAULT_DEPLOYER_SERVICE_ACCOUNT = 'kubechart-deployer';

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
  deployer: string,
): string | undefined {
  const metadata = object.metadata ?? {};
  const labels: Record<string, string> = metadata.labels ?? {};
  const annotations: Record<string, string> = metadata.annotations ?? {};
  const name = metadata.name ?? '';
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
  // KubeChart gives every namespace it deploys into a deployer, tenant or not.
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

/** Whether a binding names the deployer ServiceAccount as a subject (of its own namespace, or any). */
function namesDeployer(object: KubeObject, deployer: string): boolean {
  const subjects = (object as { subjects?: unknown }).subjects;
  if (!Array.isArray(subjects)) return false;
  return subjects.some(
    (s: { kind?: string; name?: string }) =>
      s?.kind === 'ServiceAccount' && s.name === deployer,
  );
}

/** The error of a plan refused because it would change a guarded object; nothing was changed. */
export type GuardedTargetError = NotAllowedError & {
  guardedTargets: GuardedTarget[];
};

const isMap = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

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
 * change, such as a token Secret made to name the deployer).
 */
function changeGuardReason(
  kind: string,
  object: KubeObject,
  deployer: string,
  change: object | undefined,
): string | undefined {
  const now = guardReason(kind, object, deployer);
  if (now || !change) return now;
  const after = guardReason(
    kind,
    mergePatched(object, change) as KubeObject,
    deployer,
  );
  return after ? `after this change, ${after}` : undefined;
}

/**
 * Refuses the whole plan when any object it would change is guarded, or would be after the
 * change (`change`, the merge patch sent; none for a delete): a selector that matches a guardrail
 * beside the team's own objects changes none of them. Says which and why.
 */
export function refuseGuarded(
  kind: string,
  targets: KubeObject[],
  deployer: string,
  change?: object,
): void {
  const guarded: GuardedTarget[] = [];
  for (const target of targets) {
    const reason = changeGuardReason(kind, target, deployer, change);
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
