import { objectIndex } from '../objectIndex';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
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
/** The group of every ServiceAccount of one namespace: `system:serviceaccounts:<namespace>`. */
const NAMESPACE_SERVICE_ACCOUNTS = 'system:serviceaccounts:';
/** Built-in roles that, granted cluster-wide, amount to owning every namespace. */
const CLUSTER_WIDE_FORBIDDEN_ROLES = ['admin', 'edit'];
/**
 * What the built-in ClusterRoles `admin` and `edit` may change of {@link GUARDED_RESOURCES} in a
 * namespace they are bound in (`cluster-admin` may change everything).
 */
const BUILTIN_WRITERS: Record<string, string[]> = {
  admin: ['networkpolicies', 'roles', 'rolebindings'],
  edit: ['networkpolicies'],
};
/** The built-in ClusterRoles known to only read. */
const BUILTIN_READERS = ['view'];
/**
 * What KubeChart keeps in a tenant namespace, and the rights to grant more: whoever may write these
 * may delete the default-deny NetworkPolicy, lift the quota or limits, or bind themselves any role.
 */
const GUARDED_RESOURCES = [
  'networkpolicies',
  'roles',
  'rolebindings',
  'resourcequotas',
  'limitranges',
];
const WRITE_VERBS = [
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  '*',
];
const READ_VERBS = ['get', 'list', 'watch'];
const BASELINE_AT_RISK =
  'its subjects could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more';

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

/**
 * What the role a binding names grants, as far as the manifests tell: `unreadable` when they cannot
 * tell (a relative clause after the role: `which the manifests do not define`); otherwise how it
 * writes {@link GUARDED_RESOURCES} (`guarded`, a clause) and how it does more than read (`writes`,
 * '' for a built-in role), each undefined when it does not.
 */
type RoleRights = { role: string } & (
  | { unreadable: string; unknownClusterRole?: boolean }
  | { unreadable?: undefined; guarded?: string; writes?: string }
);

function roleRights(binding: KubeObject, ctx: PolicyContext): RoleRights {
  const ref = binding.roleRef;
  const kind = typeof ref?.kind === 'string' ? ref.kind : '';
  const name = typeof ref?.name === 'string' ? ref.name : '';
  const role = `${kind || 'role'} ${name || '?'}`;
  if (!name) return { role, unreadable: 'whose roleRef is malformed' };
  if (kind !== 'Role' && kind !== 'ClusterRole')
    return { role, unreadable: 'which is neither a Role nor a ClusterRole' };
  if (kind === 'ClusterRole' && name === 'cluster-admin')
    return { role, guarded: 'which may change everything', writes: '' };
  // A chart's ClusterRole of a built-in writer's name does not make that role any less.
  if (kind === 'ClusterRole' && BUILTIN_WRITERS[name]) {
    return {
      role,
      guarded: `which may change ${BUILTIN_WRITERS[name].join(', ')}`,
      writes: '',
    };
  }
  const namespace = ctx.namespaceOf(binding);
  const defined = objectIndex(ctx)
    .rbacRoles(kind, name)
    .filter(r => kind === 'ClusterRole' || ctx.namespaceOf(r) === namespace);
  if (!defined.length) {
    if (kind === 'ClusterRole' && BUILTIN_READERS.includes(name))
      return { role };
    return kind === 'ClusterRole'
      ? {
          role,
          unreadable: 'which the manifests do not define',
          unknownClusterRole: true,
        }
      : {
          role,
          unreadable: `which the manifests do not define${
            namespace ? ` in namespace ${namespace}` : ''
          }`,
        };
  }
  const guarded: string[] = [];
  const writes: string[] = [];
  for (const r of defined) {
    if (r.aggregationRule !== undefined && r.aggregationRule !== null) {
      return {
        role,
        unreadable: 'whose rules other ClusterRoles make up (aggregationRule)',
      };
    }
    const { rules, problem } = rbacRules(r);
    if (problem) return { role, unreadable: `whose ${problem}` };
    rules.forEach((rule, i) => {
      const verbs = rule.verbs.filter(v => WRITE_VERBS.includes(v));
      const resources = rule.resources.filter(
        x => x.startsWith('*') || GUARDED_RESOURCES.includes(x.split('/')[0]),
      );
      if (verbs.length && resources.length)
        guarded.push(
          `rule ${i + 1} grants ${verbs.join(', ')} on ${resources.join(', ')}`,
        );
      const more = rule.verbs.filter(v => !READ_VERBS.includes(v));
      if (more.length) writes.push(`rule ${i + 1} grants ${more.join(', ')}`);
    });
  }
  return {
    role,
    guarded: guarded.length ? `whose ${guarded.join(', ')}` : undefined,
    writes: writes.length ? writes.join(', ') : undefined,
  };
}

/** RBAC rules: nothing in a chart may grant cluster-wide power or a way to gain it. */
export const rbacPolicyRules: PolicyRule[] = [
  {
    id: 'rbac-cluster-admin',
    defaultSeverity: 'error',
    description:
      'bindings do not grant cluster-admin, admin or edit, nor a role that writes networkpolicies, roles, rolebindings, resourcequotas or limitranges, nor a role the manifests do not define (view aside)',
    fix: 'Bind a Role the chart defines with only the permissions the workload needs (no writes to networkpolicies, roles, rolebindings, resourcequotas or limitranges), or the view ClusterRole; the platform team grants more, or exempts a binding of a ClusterRole it provides (kubechart.policy.exceptions).',
    check: (obj, ctx) => {
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
      if (ref.kind !== 'Role' && ref.kind !== 'ClusterRole')
        return [
          `roleRef kind "${String(ref.kind)}" is neither Role nor ClusterRole`,
        ];
      // Its subjects may do what the role grants to what KubeChart keeps in the namespace.
      const rights = roleRights(obj, ctx);
      if (rights.unreadable !== undefined) {
        return [
          `binds ${rights.role}, ${
            rights.unreadable
          }: what it grants cannot be checked${
            rights.unknownClusterRole
              ? " (of the cluster's own roles only view is known to be read-only)"
              : ''
          }`,
        ];
      }
      if (rights.guarded)
        return [`binds ${rights.role}, ${rights.guarded}; ${BASELINE_AT_RISK}`];
      return [];
    },
  },
  {
    id: 'rbac-broad-subjects',
    defaultSeverity: 'error',
    description:
      'bindings do not grant anything to every user, anonymous users or every service account, nor more than reading to every service account of a namespace',
    fix: 'Bind specific ServiceAccounts, users or groups instead of system:authenticated, system:unauthenticated, system:anonymous or system:serviceaccounts; give system:serviceaccounts:<namespace> only a role that reads (view, or a Role of the chart with get, list and watch).',
    check: (obj, ctx) => {
      if (!isBinding(obj)) return undefined;
      const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
      const out: string[] = [];
      let rights: RoleRights | undefined;
      for (const s of subjects) {
        const name = String(s?.name);
        const grants = `grants ${obj.roleRef?.kind ?? 'role'} ${
          obj.roleRef?.name ?? '?'
        } to ${s?.kind ?? 'subject'} ${name}`;
        if (BROAD_SUBJECTS.includes(name)) {
          out.push(grants);
        } else if (name.startsWith(NAMESPACE_SERVICE_ACCOUNTS)) {
          // Every workload of that namespace holds what the role grants: reading at most.
          rights ??= roleRights(obj, ctx);
          const every = `${grants} (every ServiceAccount of namespace ${name.slice(
            NAMESPACE_SERVICE_ACCOUNTS.length,
          )})`;
          if (rights.unreadable !== undefined) {
            out.push(
              `${every}: ${rights.role}, ${rights.unreadable}, cannot be told to only read`,
            );
          } else if (rights.writes !== undefined) {
            out.push(
              `${every}: ${rights.role} does not only read${
                rights.writes ? ` (${rights.writes})` : ''
              }`,
            );
          }
        }
      }
      return out;
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
