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
 * namespace they are bound in (`cluster-admin` may change everything). Both also use every
 * ServiceAccount of it, the deployer's included: they create pods (which run as any of them),
 * `serviceaccounts/token` and impersonate `serviceaccounts`.
 */
const BUILTIN_WRITERS: Record<string, string[]> = {
  admin: ['networkpolicies', 'roles', 'rolebindings'],
  edit: ['networkpolicies'],
};
const ANY_SERVICE_ACCOUNT =
  'use any ServiceAccount of the namespace (run pods as it, request its tokens, impersonate it)';
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
/** The subresource through which a ServiceAccount's tokens are requested (TokenRequest). */
const TOKEN_REQUEST = 'serviceaccounts/token';
/** What the `impersonate` verb acts as: another identity, the deployer ServiceAccount included. */
const IMPERSONATED_RESOURCES = [
  'serviceaccounts',
  'users',
  'groups',
  'uids',
  'userextras',
];
const BASELINE_AT_RISK =
  'remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more';
const IDENTITY_AT_RISK =
  'act as the ServiceAccount KubeChart deploys with (admin in the namespace) or another identity';
/** What the holders of guarded rights could do: `<who> could …`. */
const atRisk = (who: string, baseline: boolean, identity: boolean) =>
  `${who} could ${[
    baseline ? BASELINE_AT_RISK : '',
    identity ? IDENTITY_AT_RISK : '',
  ]
    .filter(Boolean)
    .join(', and ')}`;
/** Why a Role or ClusterRole is judged on its own rules, not only through a binding in the manifests. */
const BOUND_ELSEWHERE =
  'refused whether or not these manifests bind it: a binding outside them (one in the cluster, one helm keeps with helm.sh/resource-policy: keep, a hook checked apart) would grant it';

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

/**
 * What of a rule's rights are guarded, whatever the API group: writing {@link GUARDED_RESOURCES}
 * (`baseline`), requesting ServiceAccount tokens or impersonating (`identity`); a resource
 * starting with `*` (every resource, or a subresource of every resource) counts as all of them.
 * `grants` names the verbs and resources that do; undefined when none.
 */
function guardedGrant(
  rule: RbacRule,
): { grants: string; baseline: boolean; identity: boolean } | undefined {
  const wild = (x: string) => x.startsWith('*');
  const writes = rule.verbs.filter(v => WRITE_VERBS.includes(v));
  const creates: string[] = rule.verbs.filter(v => v === 'create' || v === '*');
  const impersonates: string[] = rule.verbs.filter(
    v => v === 'impersonate' || v === '*',
  );
  const baseline = writes.length
    ? rule.resources.filter(
        x => wild(x) || GUARDED_RESOURCES.includes(x.split('/')[0]),
      )
    : [];
  const tokens = creates.length
    ? rule.resources.filter(x => wild(x) || x === TOKEN_REQUEST)
    : [];
  const acting = impersonates.length
    ? rule.resources.filter(
        x => wild(x) || IMPERSONATED_RESOURCES.includes(x.split('/')[0]),
      )
    : [];
  if (!baseline.length && !tokens.length && !acting.length) return undefined;
  const verbs = rule.verbs.filter(
    v =>
      (baseline.length && writes.includes(v)) ||
      (tokens.length && creates.includes(v)) ||
      (acting.length && impersonates.includes(v)),
  );
  const resources = rule.resources.filter(
    x => baseline.includes(x) || tokens.includes(x) || acting.includes(x),
  );
  return {
    grants: `grants ${[...new Set(verbs)].join(', ')} on ${[
      ...new Set(resources),
    ].join(', ')}`,
    baseline: baseline.length > 0,
    identity: tokens.length > 0 || acting.length > 0,
  };
}

/**
 * The verbs of a rule that read every Secret of the namespace it is bound in (`get`, `list`,
 * `watch` or `*` on `secrets` of the core group, or on `*` resources); empty when it does not.
 */
function secretReads(rule: RbacRule): string[] {
  const core = rule.apiGroups.includes('') || rule.apiGroups.includes('*');
  const secrets = rule.resources.some(
    x => x === '*' || (core && x === 'secrets'),
  );
  return secrets
    ? rule.verbs.filter(v => [...READ_VERBS, '*'].includes(v))
    : [];
}

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
 * tell (a relative clause after the role: `which the manifests do not define`); otherwise its
 * guarded rights (see {@link guardedGrant}: `guarded`, a clause, with what they put at risk), how it
 * does more than read (`writes`, '' for a built-in role) and how it reads Secrets (`secrets`), each
 * undefined when it does not.
 */
type RoleRights = { role: string } & (
  | { unreadable: string; unknownClusterRole?: boolean }
  | {
      unreadable?: undefined;
      guarded?: string;
      baseline?: boolean;
      identity?: boolean;
      writes?: string;
      secrets?: string;
    }
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
    return {
      role,
      guarded: 'which may change everything',
      baseline: true,
      identity: true,
      writes: '',
      secrets: '',
    };
  // A chart's ClusterRole of a built-in writer's name does not make that role any less.
  if (kind === 'ClusterRole' && BUILTIN_WRITERS[name]) {
    return {
      role,
      guarded: `which may change ${BUILTIN_WRITERS[name].join(
        ', ',
      )} and ${ANY_SERVICE_ACCOUNT}`,
      baseline: true,
      identity: true,
      writes: '',
      secrets: '',
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
  const secrets: string[] = [];
  let baseline = false;
  let identity = false;
  for (const r of defined) {
    if (r.aggregationRule !== undefined && r.aggregationRule !== null) {
      return {
        role,
        unreadable: 'whose rules other ClusterRoles make up (aggregationRule)',
      };
    }
    const { rules, problem } = rbacRules(r);
    if (problem) return { role, unreadable: `whose ${problem}` };
    for (const [i, rule] of rules.entries()) {
      const grant = guardedGrant(rule);
      if (grant) {
        guarded.push(`rule ${i + 1} ${grant.grants}`);
        baseline ||= grant.baseline;
        identity ||= grant.identity;
      }
      const more = rule.verbs.filter(v => !READ_VERBS.includes(v));
      if (more.length) writes.push(`rule ${i + 1} grants ${more.join(', ')}`);
      const reads = secretReads(rule);
      if (reads.length)
        secrets.push(
          `rule ${i + 1} grants ${reads.join(', ')} on ${rule.resources
            .filter(x => x === '*' || x === 'secrets')
            .join(', ')}`,
        );
    }
  }
  return {
    role,
    guarded: guarded.length ? `whose ${guarded.join(', ')}` : undefined,
    baseline,
    identity,
    writes: writes.length ? writes.join(', ') : undefined,
    secrets: secrets.length ? secrets.join(', ') : undefined,
  };
}

/**
 * Why a Role or ClusterRole grants guarded rights (see {@link guardedGrant}) to whoever a binding of
 * it names, or cannot be read; empty when it does not. Judged on the role itself: a binding that
 * grants it need not be in the same manifests.
 */
function roleGuardedRights(obj: KubeObject): string[] {
  const unread = (why: string) => [
    `${why}: what it grants cannot be checked; ${BOUND_ELSEWHERE}`,
  ];
  if (obj.aggregationRule !== undefined && obj.aggregationRule !== null)
    return unread(
      'its rules are made up of other ClusterRoles (aggregationRule)',
    );
  const { rules, problem } = rbacRules(obj);
  if (problem) return unread(problem);
  const grants: string[] = [];
  let baseline = false;
  let identity = false;
  rules.forEach((rule, i) => {
    const grant = guardedGrant(rule);
    if (!grant) return;
    grants.push(`rule ${i + 1} ${grant.grants}`);
    baseline ||= grant.baseline;
    identity ||= grant.identity;
  });
  if (!grants.length) return [];
  return [
    `${grants.join(', ')}: ${atRisk(
      'whoever a binding of it names',
      baseline,
      identity,
    )}; ${BOUND_ELSEWHERE}`,
  ];
}

/** RBAC rules: nothing in a chart may grant cluster-wide power or a way to gain it. */
export const rbacPolicyRules: PolicyRule[] = [
  {
    id: 'rbac-cluster-admin',
    defaultSeverity: 'error',
    description:
      'bindings do not grant cluster-admin, admin or edit, nor a role that writes networkpolicies, roles, rolebindings, resourcequotas or limitranges, requests ServiceAccount tokens (serviceaccounts/token) or impersonates; no Role or ClusterRole grants those rights, bound in the same manifests or not',
    fix: 'Give the workload a Role of the chart with only the permissions it needs (no writes to networkpolicies, roles, rolebindings, resourcequotas or limitranges, no create on serviceaccounts/token, no impersonate), or bind the view ClusterRole; the platform team grants more. A binding of a ClusterRole the platform provides, which the manifests do not show, is refused under rbac-unknown-role: an exception (kubechart.policy.exceptions) names that rule, not this one.',
    check: (obj, ctx) => {
      if (isRole(obj)) return roleGuardedRights(obj);
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
      // A role the manifests do not show is rbac-unknown-role's, which exceptions may name apart.
      if (rights.unreadable !== undefined || !rights.guarded) return [];
      return [
        `binds ${rights.role}, ${rights.guarded}; ${atRisk(
          'its subjects',
          rights.baseline === true,
          rights.identity === true,
        )}`,
      ];
    },
  },
  {
    id: 'rbac-unknown-role',
    defaultSeverity: 'error',
    description:
      'bindings name a role whose rights the manifests show: a Role or ClusterRole they define, or view',
    fix: 'Bind a Role the chart defines, or the view ClusterRole. The platform team exempts a binding of a ClusterRole it provides with kubechart.policy.exceptions naming rule rbac-unknown-role; that exempts only this rule, so the same binding of cluster-admin, admin, edit or a role granting what rbac-cluster-admin guards stays refused.',
    check: (obj, ctx) => {
      if (!isBinding(obj)) return undefined;
      const ref = obj.roleRef;
      // A missing or malformed roleRef is rbac-cluster-admin's to report.
      if (
        !ref ||
        typeof ref !== 'object' ||
        typeof ref.name !== 'string' ||
        (ref.kind !== 'Role' && ref.kind !== 'ClusterRole')
      )
        return undefined;
      const rights = roleRights(obj, ctx);
      if (rights.unreadable === undefined) return [];
      return [
        `binds ${rights.role}, ${
          rights.unreadable
        }: what it grants cannot be checked${
          rights.unknownClusterRole
            ? " (of the cluster's own roles only view is known to be read-only)"
            : ''
        }`,
      ];
    },
  },
  {
    id: 'rbac-broad-subjects',
    defaultSeverity: 'error',
    description:
      'bindings do not grant anything to every user, anonymous users or every service account, nor more than reading to every service account of a namespace (reading its Secrets is more)',
    fix: 'Bind specific ServiceAccounts, users or groups instead of system:authenticated, system:unauthenticated, system:anonymous or system:serviceaccounts; give system:serviceaccounts:<namespace> only a role that reads (view, or a Role of the chart with get, list and watch, not on secrets or *).',
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
          } else if (rights.secrets !== undefined) {
            out.push(
              `${every}: ${rights.role} reads Secrets${
                rights.secrets ? ` (${rights.secrets})` : ''
              }: every pod of the namespace would read every Secret of it, helm's release records with their values and ServiceAccount tokens included`,
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
