import { KubeObject, PolicyRule } from '../types';
import { groupOf } from './util';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const isRbac = (obj: KubeObject, kinds: string[]) =>
  kinds.includes(String(obj.kind)) && groupOf(obj.apiVersion) === RBAC_GROUP;
const isBinding = (obj: KubeObject) =>
  isRbac(obj, ['RoleBinding', 'ClusterRoleBinding']);
const isRole = (obj: KubeObject) => isRbac(obj, ['Role', 'ClusterRole']);

/** Subjects that stand for everyone (or every workload) in the cluster. */
export const BROAD_SUBJECTS = [
  'system:authenticated',
  'system:unauthenticated',
  'system:anonymous',
  'system:serviceaccounts',
];
/** Built-in roles that, granted cluster-wide, amount to owning every namespace. */
const CLUSTER_WIDE_FORBIDDEN_ROLES = ['admin', 'edit'];

type RbacRule = {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  nonResourceURLs: string[];
};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : [];

/** The rules of a Role/ClusterRole; a malformed `rules` reports a problem instead (fail closed). */
function rbacRules(obj: KubeObject): { rules: RbacRule[]; problem?: string } {
  if (obj.rules === undefined || obj.rules === null) return { rules: [] };
  if (
    !Array.isArray(obj.rules) ||
    obj.rules.some((r: unknown) => !r || typeof r !== 'object')
  ) {
    return { rules: [], problem: 'rules is not a list of rules' };
  }
  return {
    rules: obj.rules.map((r: any) => ({
      apiGroups: strings(r.apiGroups),
      resources: strings(r.resources),
      verbs: strings(r.verbs),
      nonResourceURLs: strings(r.nonResourceURLs),
    })),
  };
}

const what = (r: RbacRule) =>
  r.resources.length
    ? r.resources.join(', ')
    : r.nonResourceURLs.join(', ') || 'nothing';

function perRbacRule(
  obj: KubeObject,
  fn: (r: RbacRule, n: number) => string | undefined,
): string[] | undefined {
  if (!isRole(obj)) return undefined;
  const { rules, problem } = rbacRules(obj);
  const out = problem ? [problem] : [];
  rules.forEach((r, i) => {
    const m = fn(r, i + 1);
    if (m) out.push(`rule ${i + 1} ${m}`);
  });
  return out;
}

/** RBAC rules: nothing in a chart may grant cluster-wide power or a way to gain it. */
export const rbacPolicyRules: PolicyRule[] = [
  {
    id: 'rbac-cluster-admin',
    defaultSeverity: 'error',
    description:
      'bindings do not grant cluster-admin, nor admin/edit at cluster scope',
    fix: 'Bind a namespaced Role (or the admin/edit ClusterRole through a RoleBinding in the tenant namespace) with only the permissions the workload needs.',
    check: obj => {
      if (!isBinding(obj)) return undefined;
      const ref = obj.roleRef ?? {};
      if (typeof ref !== 'object' || typeof ref.name !== 'string')
        return ['roleRef is missing or malformed'];
      if (ref.kind === 'ClusterRole' && ref.name === 'cluster-admin')
        return ['binds ClusterRole cluster-admin'];
      if (
        obj.kind === 'ClusterRoleBinding' &&
        CLUSTER_WIDE_FORBIDDEN_ROLES.includes(ref.name)
      ) {
        return [`binds ClusterRole ${ref.name} in every namespace`];
      }
      return [];
    },
  },
  {
    id: 'rbac-broad-subjects',
    defaultSeverity: 'error',
    description:
      'bindings do not grant anything to every user, anonymous users or every service account',
    fix: 'Bind specific ServiceAccounts, users or groups instead of system:authenticated, system:unauthenticated, system:anonymous or system:serviceaccounts.',
    check: obj => {
      if (!isBinding(obj)) return undefined;
      const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
      return subjects
        .filter((s: any) => BROAD_SUBJECTS.includes(String(s?.name)))
        .map(
          (s: any) =>
            `grants ${obj.roleRef?.kind ?? 'role'} ${
              obj.roleRef?.name ?? '?'
            } to ${s.kind ?? 'subject'} ${s.name}`,
        );
    },
  },
  {
    id: 'rbac-wildcard',
    defaultSeverity: 'error',
    description:
      'Roles and ClusterRoles name their verbs and resources (no "*")',
    fix: 'List the exact verbs (get, list, watch, …) and resources the workload uses instead of "*".',
    check: obj =>
      perRbacRule(obj, r => {
        const parts: string[] = [];
        if (r.verbs.includes('*')) parts.push('every verb (*)');
        if (r.resources.some(x => x === '*' || x === '*/*'))
          parts.push('every resource (*)');
        return parts.length
          ? `grants ${parts.join(' on ')} on ${what(r)}`
          : undefined;
      }),
  },
  {
    id: 'rbac-escalation',
    defaultSeverity: 'error',
    description:
      'Roles and ClusterRoles do not grant escalate, bind or impersonate',
    fix: 'Remove the escalate, bind and impersonate verbs; only the platform team grants roles or acts as other identities.',
    check: obj =>
      perRbacRule(obj, r => {
        const bad = r.verbs.filter(
          v => v === 'escalate' || v === 'bind' || v === 'impersonate',
        );
        return bad.length
          ? `grants ${bad.join(', ')} on ${what(r)}`
          : undefined;
      }),
  },
  {
    id: 'rbac-cluster-secrets',
    defaultSeverity: 'error',
    description: 'ClusterRoles do not read secrets',
    fix: 'Use a namespaced Role that names the Secrets the workload reads (resourceNames).',
    check: obj => {
      if (obj.kind !== 'ClusterRole') return undefined;
      return perRbacRule(obj, r => {
        const core = r.apiGroups.includes('') || r.apiGroups.includes('*');
        const secrets =
          r.resources.includes('secrets') || r.resources.includes('*');
        const reads = r.verbs.filter(v =>
          ['get', 'list', 'watch', '*'].includes(v),
        );
        return core && secrets && reads.length
          ? `grants ${reads.join(
              ', ',
            )} on secrets in every namespace it is bound in`
          : undefined;
      });
    },
  },
  {
    id: 'rbac-pod-exec',
    defaultSeverity: 'warning',
    description: 'Roles and ClusterRoles do not allow exec or attach into pods',
    fix: 'Remove pods/exec and pods/attach from the rules; debug through the platform team or ephemeral containers.',
    check: obj =>
      perRbacRule(obj, r => {
        const sub = r.resources.filter(
          x => x === 'pods/exec' || x === 'pods/attach',
        );
        const verbs = r.verbs.filter(v => ['create', 'get', '*'].includes(v));
        return sub.length && verbs.length
          ? `grants ${verbs.join(', ')} on ${sub.join(', ')}`
          : undefined;
      }),
  },
];
