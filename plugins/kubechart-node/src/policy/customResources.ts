import { isMapping } from './podSpec';
import { builtinIsNamespaced } from './scope';
import { KubeObject } from './types';

/** Text with `-`, `_` and spaces left out, lower-cased: `service_account`, `service-account`, `serviceAccount` read alike. */
const squeezed = (text: string) => text.toLowerCase().replace(/[-_\s]/g, '');

/** A key that names a ServiceAccount: `serviceAccountName`, `service_account`, `taskServiceAccountName`, `serviceAccountRef`, … */
const isAccountKey = (key: string) => squeezed(key).includes('serviceaccount');

/** Characters of a Kubernetes name: text naming `kubechart-deployer-bot` does not name `kubechart-deployer`. */
const isNameChar = (c: string | undefined) => !!c && /[A-Za-z0-9._-]/.test(c);

/** Whether `text` holds `name` as a whole name (not as part of a longer one). */
function holdsName(text: string, name: string): boolean {
  if (!name) return false;
  for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
    if (!isNameChar(text[at - 1]) && !isNameChar(text[at + name.length]))
      return true;
  }
  return false;
}

/** At most this many places are named in one refusal. */
const MAX_PLACES = 5;

/** Who KubeChart deploys as (`kubechart.tenant.deployer.*`), for {@link customResourceIdentityViolation}. */
export type DeployerIdentity = {
  /** `kubechart.tenant.deployer.serviceAccount`: the prefix of the deployers' names, and the name of the one from before they moved. */
  serviceAccount: string;
  /** `kubechart.tenant.deployer.namespace`: where the deployer of every namespace lives. */
  deployerNamespace: string;
  /** The namespace the object lands in, whose deployer is `<serviceAccount>-<namespace>`. */
  namespace?: string;
};

/** The identities a custom resource may not name, in the order a refusal names them. */
type Identity = 'account' | 'legacy' | 'deployers';
const IDENTITIES: Identity[] = ['account', 'legacy', 'deployers'];

/**
 * Why a custom resource would hand KubeChart's deployer identity to the pods or tokens its
 * controller makes. It names, in a field whose key names a ServiceAccount (`serviceAccountName`,
 * `serviceAccount`, `service_account`, `taskServiceAccountName`, `serviceAccountRef.name`, at any
 * depth; as the whole value or a whole name in it, such as `team-a:kubechart-deployer`), or in text
 * that mentions a ServiceAccount (a pod spec written as text, such as an Argo `podSpecPatch`):
 * the deployer of the object's namespace (`<serviceAccount>-<namespace>` of `deployerNamespace`), or
 * the ServiceAccount `serviceAccount` it deployed as in the namespace itself before deployers moved
 * (tenants from before still hold it). It names any ServiceAccount of `deployerNamespace` with that
 * namespace in such a field (`serviceAccountRef.namespace`, `kubechart-deployers:…`,
 * `kubechart-deployers/…`), or, anywhere, as `system:serviceaccount:<deployerNamespace>:…` or the
 * group `system:serviceaccounts:<deployerNamespace>`. That covers the paths of the kinds known to
 * run pods as a named ServiceAccount — Argo Workflows' `Workflow`, `CronWorkflow`,
 * `WorkflowTemplate` and `ClusterWorkflowTemplate` (`spec.serviceAccountName`,
 * `spec.executor.serviceAccountName`, `spec.templates[].serviceAccountName`, `…podSpecPatch`,
 * `spec.workflowSpec.…`), Tekton's `TaskRun` and `PipelineRun` (`spec.serviceAccountName`,
 * `spec.taskRunTemplate.serviceAccountName`, `spec.taskRunSpecs[].serviceAccountName`, v1beta1's
 * `spec.serviceAccountNames[].serviceAccountName` and `…taskServiceAccountName`), an Argo `Rollout`'s
 * pod template — and those of kinds the policy does not know, whose controllers may do the same
 * (an External Secrets `SecretStore`'s `serviceAccountRef`, whose controller requests its tokens).
 * Built-in kinds are left to `deployerIdentityViolation`, which reads them as the API server
 * does. Undefined when the object is of a built-in kind or names no such account.
 */
export function customResourceIdentityViolation(
  obj: KubeObject,
  identity: DeployerIdentity,
): string | undefined {
  const { serviceAccount, deployerNamespace, namespace } = identity;
  if (
    !serviceAccount ||
    builtinIsNamespaced(
      String(obj.apiVersion ?? ''),
      String(obj.kind ?? ''),
    ) !== undefined
  )
    return undefined;
  const account = namespace ? `${serviceAccount}-${namespace}` : '';
  /** The identities a string names; `account` when it lies under a key that names a ServiceAccount. */
  const named = (text: string, underAccountKey: boolean): Identity[] => {
    const about = underAccountKey || squeezed(text).includes('serviceaccount');
    const out: Identity[] = [];
    if (about && holdsName(text, account)) out.push('account');
    if (about && holdsName(text, serviceAccount)) out.push('legacy');
    if (
      !!deployerNamespace &&
      ((underAccountKey && holdsName(text, deployerNamespace)) ||
        text.includes(`system:serviceaccount:${deployerNamespace}:`) ||
        holdsName(text, `system:serviceaccounts:${deployerNamespace}`))
    )
      out.push('deployers');
    return out;
  };
  const places: Record<Identity, string[]> = {
    account: [],
    legacy: [],
    deployers: [],
  };
  // Depth first, in the order of the object; an explicit stack, however deep it nests, and each
  // mapping or list once (YAML aliases share them).
  const seen = new Set<object>();
  const stack: Array<{ value: unknown; path: string; account: boolean }> = [
    { value: obj, path: '', account: false },
  ];
  while (stack.length) {
    const { value, path, account: underAccountKey } = stack.pop()!;
    if (typeof value === 'string') {
      for (const which of named(value, underAccountKey))
        places[which].push(underAccountKey ? path : `the text of ${path}`);
      continue;
    }
    if (!value || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    // Whatever lies under a key that names a ServiceAccount names one (`serviceAccountRef.name`,
    // `serviceAccountRef.namespace`).
    let children: Array<{ value: unknown; path: string; account: boolean }> =
      [];
    if (Array.isArray(value))
      children = value.map((v, i) => ({
        value: v,
        path: `${path}[${i}]`,
        account: underAccountKey,
      }));
    else if (isMapping(value))
      children = Object.entries(value).map(([k, v]) => ({
        value: v,
        path: path ? `${path}.${k}` : k,
        account: underAccountKey || isAccountKey(k),
      }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  const into = namespace ? `namespace ${namespace}` : 'the namespace';
  const who: Record<Identity, string> = {
    account: `ServiceAccount ${deployerNamespace}/${account}, the identity KubeChart deploys into ${into} with`,
    legacy: `ServiceAccount ${serviceAccount}, the identity KubeChart deployed into ${into} with before its deployers moved to namespace ${deployerNamespace}`,
    deployers: `a ServiceAccount of namespace ${deployerNamespace}, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace)`,
  };
  const names = IDENTITIES.filter(i => places[i].length).map(i => {
    const at = places[i];
    const where =
      at.length > MAX_PLACES
        ? `${at.slice(0, MAX_PLACES).join(', ')} and ${
            at.length - MAX_PLACES
          } more`
        : at.join(', ');
    return `${who[i]} (${where})`;
  });
  if (!names.length) return undefined;
  const ref = `${String(obj.kind ?? 'object')}/${String(
    obj.metadata?.name ?? '',
  )}`;
  return `${ref} names ${names.join(
    '; ',
  )}: the controller that acts on it would run pods as it or request its tokens; a workload may not hold it`;
}
