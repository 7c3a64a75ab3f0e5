import { MAX_MESSAGES_PER_RESULT, moreMessages } from '../messages';
import { ObjectIndex, objectIndex } from '../objectIndex';
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
/**
 * The built-in ClusterRoles known to only read: `view` takes the rules of every ClusterRole labelled
 * `rbac.authorization.k8s.io/aggregate-to-view`, which `rbac-aggregation` holds to reading.
 */
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
const GUARDED = new Set(GUARDED_RESOURCES);
const WRITE_VERBS = new Set([
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  '*',
]);
const READ_VERBS = ['get', 'list', 'watch'];
/** The subresource through which a ServiceAccount's tokens are requested (TokenRequest). */
const TOKEN_REQUEST = 'serviceaccounts/token';
/** What the `impersonate` verb acts as: another identity, the deployer ServiceAccount included. */
const IMPERSONATED_RESOURCES = new Set([
  'serviceaccounts',
  'users',
  'groups',
  'uids',
  'userextras',
]);
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
  const writes = new Set<string>(rule.verbs.filter(v => WRITE_VERBS.has(v)));
  const creates = new Set<string>(
    rule.verbs.filter(v => v === 'create' || v === '*'),
  );
  const impersonates = new Set<string>(
    rule.verbs.filter(v => v === 'impersonate' || v === '*'),
  );
  const none = new Set<string>();
  const baseline = writes.size
    ? new Set(
        rule.resources.filter(x => wild(x) || GUARDED.has(x.split('/')[0])),
      )
    : none;
  const tokens = creates.size
    ? new Set(rule.resources.filter(x => wild(x) || x === TOKEN_REQUEST))
    : none;
  const acting = impersonates.size
    ? new Set(
        rule.resources.filter(
          x => wild(x) || IMPERSONATED_RESOURCES.has(x.split('/')[0]),
        ),
      )
    : none;
  if (!baseline.size && !tokens.size && !acting.size) return undefined;
  const verbs = rule.verbs.filter(
    v =>
      (baseline.size && writes.has(v)) ||
      (tokens.size && creates.has(v)) ||
      (acting.size && impersonates.has(v)),
  );
  const resources = rule.resources.filter(
    x => baseline.has(x) || tokens.has(x) || acting.has(x),
  );
  return {
    grants: `grants ${[...new Set(verbs)].join(', ')} on ${[
      ...new Set(resources),
    ].join(', ')}`,
    baseline: baseline.size > 0,
    identity: tokens.size > 0 || acting.size > 0,
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

/**
 * What one Role or ClusterRole says, read once per check (see {@link roleReading}): whether an
 * `aggregationRule` makes up its rules, its rules (or the problem with them), and what of them
 * {@link roleRights} and {@link roleGuardedRights} name, rule by rule.
 */
type RoleReading = {
  aggregated: boolean;
  rules: RbacRule[];
  problem?: string;
  /** `rule <n> grants …` of each rule with guarded rights (see {@link guardedGrant}). */
  guarded: string[];
  baseline: boolean;
  identity: boolean;
  /** `rule <n> grants …` of each rule granting more than get, list and watch. */
  writes: string[];
  /** `rule <n> grants … on …` of each rule reading Secrets (see {@link secretReads}). */
  secrets: string[];
};

function readRole(obj: KubeObject): RoleReading {
  const aggregated =
    obj.aggregationRule !== undefined && obj.aggregationRule !== null;
  const { rules, problem } = rbacRules(obj);
  const reading: RoleReading = {
    aggregated,
    rules,
    problem,
    guarded: [],
    baseline: false,
    identity: false,
    writes: [],
    secrets: [],
  };
  for (const [i, rule] of rules.entries()) {
    const grant = guardedGrant(rule);
    if (grant) {
      reading.guarded.push(`rule ${i + 1} ${grant.grants}`);
      reading.baseline ||= grant.baseline;
      reading.identity ||= grant.identity;
    }
    const more = rule.verbs.filter(v => !READ_VERBS.includes(v));
    if (more.length)
      reading.writes.push(`rule ${i + 1} grants ${more.join(', ')}`);
    const reads = secretReads(rule);
    if (reads.length)
      reading.secrets.push(
        `rule ${i + 1} grants ${reads.join(', ')} on ${rule.resources
          .filter(x => x === '*' || x === 'secrets')
          .join(', ')}`,
      );
  }
  return reading;
}

/**
 * What the RBAC rules remember during one check: a binding of a role with thousands of rules, and
 * hundreds of bindings of it, read each rule once, not once per binding and rule.
 */
type RbacMemo = {
  readings: Map<KubeObject, RoleReading>;
  /** A Role's name → namespace → the Roles of that name landing there. */
  rolesByNamespace: Map<string, Map<unknown, KubeObject[]>>;
  /** {@link roleRights} by kind, name and (for a Role) namespace. */
  rights: Map<string, RoleRights>;
};
const memos = new WeakMap<ObjectIndex, RbacMemo>();

function memoOf(ctx: PolicyContext): RbacMemo {
  const index = objectIndex(ctx);
  let memo = memos.get(index);
  if (!memo) {
    memo = {
      readings: new Map(),
      rolesByNamespace: new Map(),
      rights: new Map(),
    };
    memos.set(index, memo);
  }
  return memo;
}

/** {@link readRole}, once per role and check (each time when there is no check to remember it in). */
function roleReading(obj: KubeObject, ctx?: PolicyContext): RoleReading {
  if (!ctx?.objects) return readRole(obj);
  const { readings } = memoOf(ctx);
  let reading = readings.get(obj);
  if (!reading) {
    reading = readRole(obj);
    readings.set(obj, reading);
  }
  return reading;
}

/**
 * Comma-separated, the first {@link MAX_MESSAGES_PER_RESULT} of `items` then "…and N more": one
 * message names a few rules of a role, however many it has.
 */
const listed = (items: string[]) =>
  (items.length > MAX_MESSAGES_PER_RESULT
    ? [
        ...items.slice(0, MAX_MESSAGES_PER_RESULT),
        moreMessages(items.length - MAX_MESSAGES_PER_RESULT),
      ]
    : items
  ).join(', ');

function perRbacRule(
  obj: KubeObject,
  fn: (r: RbacRule, n: number) => string | undefined,
  ctx?: PolicyContext,
): string[] | undefined {
  if (!isRole(obj)) return undefined;
  const { rules, problem } = roleReading(obj, ctx);
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
  // What a ClusterRole grants does not depend on the binding's namespace; what a Role grants does.
  const namespace = kind === 'Role' ? ctx.namespaceOf(binding) : undefined;
  const { rights } = memoOf(ctx);
  const key = JSON.stringify([kind, name, namespace ?? null]);
  let found = rights.get(key);
  if (!found) {
    found = rightsOfRole(kind, name, namespace, ctx);
    rights.set(key, found);
  }
  return found;
}

/** {@link roleRights} of the role `kind` `name` bound in `namespace` (undefined for a ClusterRole). */
function rightsOfRole(
  kind: 'Role' | 'ClusterRole',
  name: string,
  namespace: string | undefined,
  ctx: PolicyContext,
): RoleRights {
  const role = `${kind} ${name}`;
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
  // Whatever the platform configured it to, the role the deployer holds in every tenant namespace.
  if (kind === 'ClusterRole' && name === ctx.deployerClusterRole)
    return {
      role,
      guarded:
        'which KubeChart deploys with in tenant namespaces (kubechart.tenant.deployer.clusterRole)',
      baseline: true,
      identity: true,
      writes: '',
      secrets: '',
    };
  const defined =
    kind === 'ClusterRole'
      ? objectIndex(ctx).rbacRoles(kind, name)
      : rolesIn(name, namespace, ctx);
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
    const reading = roleReading(r, ctx);
    if (reading.aggregated) {
      return {
        role,
        unreadable: 'whose rules other ClusterRoles make up (aggregationRule)',
      };
    }
    if (reading.problem)
      return { role, unreadable: `whose ${reading.problem}` };
    guarded.push(...reading.guarded);
    writes.push(...reading.writes);
    secrets.push(...reading.secrets);
    baseline ||= reading.baseline;
    identity ||= reading.identity;
  }
  return {
    role,
    guarded: guarded.length ? `whose ${listed(guarded)}` : undefined,
    baseline,
    identity,
    writes: writes.length ? listed(writes) : undefined,
    secrets: secrets.length ? listed(secrets) : undefined,
  };
}

/** The Roles named `name` that land in `namespace`, in manifest order; grouped once per check. */
function rolesIn(
  name: string,
  namespace: string | undefined,
  ctx: PolicyContext,
): KubeObject[] {
  const { rolesByNamespace } = memoOf(ctx);
  let byNamespace = rolesByNamespace.get(name);
  if (!byNamespace) {
    byNamespace = new Map();
    for (const r of objectIndex(ctx).rbacRoles('Role', name)) {
      const ns = ctx.namespaceOf(r);
      const list = byNamespace.get(ns);
      if (list) list.push(r);
      else byNamespace.set(ns, [r]);
    }
    rolesByNamespace.set(name, byNamespace);
  }
  return byNamespace.get(namespace) ?? [];
}

/**
 * Why a Role or ClusterRole grants guarded rights (see {@link guardedGrant}) to whoever a binding of
 * it names, or cannot be read; empty when it does not. Judged on the role itself: a binding that
 * grants it need not be in the same manifests.
 */
function roleGuardedRights(obj: KubeObject, ctx: PolicyContext): string[] {
  const unread = (why: string) => [
    `${why}: what it grants cannot be checked; ${BOUND_ELSEWHERE}`,
  ];
  const reading = roleReading(obj, ctx);
  if (reading.aggregated)
    return unread(
      'its rules are made up of other ClusterRoles (aggregationRule)',
    );
  if (reading.problem) return unread(reading.problem);
  if (!reading.guarded.length) return [];
  return [
    `${listed(reading.guarded)}: ${atRisk(
      'whoever a binding of it names',
      reading.baseline,
      reading.identity,
    )}; ${BOUND_ELSEWHERE}`,
  ];
}

/** The start of the name of a label an aggregationRule selects (`…/aggregate-to-view: "true"`). */
const AGGREGATE_TO = 'aggregate-to-';
/** The labels of the built-in roles that take more than reading: `edit` and `admin`. */
const WRITER_AGGREGATES = [
  'rbac.authorization.k8s.io/aggregate-to-edit',
  'rbac.authorization.k8s.io/aggregate-to-admin',
];
/** The role a label aggregates into (what follows `aggregate-to-` in its name), or undefined. */
const aggregateTarget = (key: string) => {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.startsWith(AGGREGATE_TO)
    ? name.slice(AGGREGATE_TO.length)
    : undefined;
};

/** Subresources that connect into a pod, service or node: running commands in it, or reaching its ports. */
const CONNECT_SUBRESOURCES = ['exec', 'attach', 'portforward', 'proxy'];
const CONNECTING =
  'connecting into pods, services or nodes (exec, attach, port-forward, proxy)';
/** The resources of a rule that connect (see {@link CONNECT_SUBRESOURCES}), of any resource or `*`. */
const connects = (rule: RbacRule) =>
  rule.resources.filter(x => {
    const sub = x.split('/')[1];
    return (
      sub !== undefined && (sub === '*' || CONNECT_SUBRESOURCES.includes(sub))
    );
  });
/** Whether a non-resource URL of a rule matches every URL (`*`, `/*`). */
const everyUrl = (url: string) => url === '*' || url === '/*';

/**
 * Why one rule of a ClusterRole is more than `view` may take: more than get, list and watch,
 * reading Secrets (or `*`), connecting, every non-resource URL.
 */
function moreThanReading(rule: RbacRule, n: number): string[] {
  const out: string[] = [];
  const writes = rule.verbs.filter(v => !READ_VERBS.includes(v));
  const reads = secretReads(rule);
  if (writes.length)
    out.push(
      `rule ${n} grants ${writes.join(', ')} on ${what(
        rule,
      )}, more than get, list and watch`,
    );
  else if (reads.length)
    out.push(
      `rule ${n} grants ${reads.join(', ')} on ${rule.resources
        .filter(x => x === '*' || x === 'secrets')
        .join(', ')}, reading Secrets`,
    );
  else if (connects(rule).length)
    out.push(
      `rule ${n} grants ${rule.verbs.join(', ')} on ${connects(rule).join(
        ', ',
      )}, ${CONNECTING}`,
    );
  if (!writes.length && rule.nonResourceURLs.some(everyUrl))
    out.push(
      `rule ${n} grants ${rule.verbs.join(', ')} on every non-resource URL (*)`,
    );
  return out;
}

/**
 * Why one rule of a ClusterRole is more than `edit` and `admin` may take from a chart: guarded
 * rights (see {@link guardedGrant}), `escalate` or `bind`, any right on Secrets, connecting, `*`
 * verbs or resources, every non-resource URL. Writing a chart's own kinds (an operator aggregating
 * its custom resources) is not.
 */
function moreThanWriting(rule: RbacRule, n: number, holders: string): string[] {
  const out: string[] = [];
  const grants = `rule ${n} grants`;
  if (rule.verbs.includes('*'))
    out.push(`${grants} every verb (*) on ${what(rule)}`);
  if (rule.resources.includes('*'))
    out.push(`${grants} ${rule.verbs.join(', ')} on every resource (*)`);
  if (out.length) return out;
  const grant = guardedGrant(rule);
  if (grant)
    out.push(
      `${grants} ${grant.grants.replace(/^grants /, '')}: ${atRisk(
        holders,
        grant.baseline,
        grant.identity,
      )}`,
    );
  const escalates = rule.verbs.filter(v => v === 'escalate' || v === 'bind');
  if (escalates.length)
    out.push(
      `${grants} ${escalates.join(', ')} on ${what(rule)}, granting roles`,
    );
  const core = rule.apiGroups.includes('') || rule.apiGroups.includes('*');
  if (core && rule.resources.includes('secrets'))
    out.push(
      `${grants} ${rule.verbs.join(', ')} on secrets, ${
        rule.verbs.every(v => READ_VERBS.includes(v)) ? 'reading' : 'rights on'
      } Secrets`,
    );
  if (connects(rule).length)
    out.push(
      `${grants} ${rule.verbs.join(', ')} on ${connects(rule).join(
        ', ',
      )}, ${CONNECTING}`,
    );
  if (rule.nonResourceURLs.some(everyUrl))
    out.push(
      `${grants} ${rule.verbs.join(', ')} on every non-resource URL (*)`,
    );
  return out;
}

/**
 * Why a ClusterRole with a label whose name starts with `aggregate-to-` (any prefix:
 * `rbac.authorization.k8s.io/aggregate-to-view`, `example.com/aggregate-to-edit`, whatever its
 * value: fail closed) adds more to that role than it may take; empty when it does not or carries no
 * such label, undefined for other objects. The API server copies its rules into the built-in
 * `view`, `edit` or `admin`, which are bound in every namespace, and every tenant's roles would
 * change with one chart. `view` (and any role but the built-in `edit` and `admin`) takes only
 * reading, not of Secrets, not connecting into pods, services or nodes (see {@link moreThanReading});
 * the built-in `edit` and `admin` take writing too, but not what {@link moreThanWriting} names.
 */
function aggregatedRights(
  obj: KubeObject,
  ctx: PolicyContext,
): string[] | undefined {
  if (!isRbac(obj, ['ClusterRole'])) return undefined;
  const labels = obj.metadata?.labels;
  const keys =
    labels && typeof labels === 'object'
      ? Object.keys(labels).filter(k => aggregateTarget(k) !== undefined)
      : [];
  if (!keys.length) return [];
  // Each role once, however many labels name it; at most a few labels and rules in one message.
  const targets = [...new Set(keys.map(k => aggregateTarget(k)!))];
  const one = targets.length === 1;
  const into = `adds its rules to ClusterRole${one ? '' : 's'} ${listed(
    targets,
  )} (label${keys.length === 1 ? '' : 's'} ${listed(keys)}) wherever ${
    one ? 'that role is' : 'those roles are'
  } bound, in every namespace`;
  const unread = (why: string) => [
    `${into}: ${why}: what it adds cannot be checked`,
  ];
  if (obj.aggregationRule !== undefined && obj.aggregationRule !== null)
    return unread(
      'its rules are made up of other ClusterRoles (aggregationRule)',
    );
  const { rules, problem } = roleReading(obj, ctx);
  if (problem) return unread(problem);
  // The strictest of the roles it reaches: only edit and admin are known to take writing.
  const writers = keys.every(k => WRITER_AGGREGATES.includes(k));
  const holders = `whoever holds ${one ? 'that role' : 'those roles'}`;
  const more = rules.flatMap((rule, i) =>
    writers
      ? moreThanWriting(rule, i + 1, holders)
      : moreThanReading(rule, i + 1),
  );
  return more.length ? [`${into}: ${listed(more)}`] : [];
}

/** RBAC rules: nothing in a chart may grant cluster-wide power or a way to gain it. */
export const rbacPolicyRules: PolicyRule[] = [
  {
    id: 'rbac-cluster-admin',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'bindings do not grant cluster-admin, admin, edit or the ClusterRole KubeChart deploys with (kubechart.tenant.deployer.clusterRole), nor a role that writes networkpolicies, roles, rolebindings, resourcequotas or limitranges, requests ServiceAccount tokens (serviceaccounts/token) or impersonates; no Role or ClusterRole grants those rights, bound in the same manifests or not',
    fix: 'Give the workload a Role of the chart with only the permissions it needs (no writes to networkpolicies, roles, rolebindings, resourcequotas or limitranges, no create on serviceaccounts/token, no impersonate), or bind the view ClusterRole; the platform team grants more. A binding of a ClusterRole the platform provides, which the manifests do not show, is refused under rbac-unknown-role: an exception (kubechart.policy.exceptions) names that rule, not this one.',
    check: (obj, ctx) => {
      if (isRole(obj)) return roleGuardedRights(obj, ctx);
      if (!isBinding(obj)) return undefined;
      const ref = obj.roleRef ?? {};
      if (typeof ref !== 'object' || typeof ref.name !== 'string')
        return ['roleRef is missing or malformed'];
      if (ref.kind === 'ClusterRole' && ref.name === 'cluster-admin')
        return ['binds ClusterRole cluster-admin'];
      if (
        obj.kind === 'ClusterRoleBinding' &&
        (CLUSTER_WIDE_FORBIDDEN_ROLES.includes(ref.name) ||
          ref.name === ctx.deployerClusterRole)
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
    alwaysBlocks: true,
    description:
      'bindings name a role whose rights the manifests show: a Role or ClusterRole they define, or view',
    fix: 'Bind a Role the chart defines, or the view ClusterRole. The platform team exempts a binding of a ClusterRole it provides with kubechart.policy.exceptions naming rule rbac-unknown-role; that exempts only this rule, so the same binding of cluster-admin, admin, edit, the ClusterRole KubeChart deploys with (kubechart.tenant.deployer.clusterRole) or a role granting what rbac-cluster-admin guards stays refused.',
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
    alwaysBlocks: true,
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
    alwaysBlocks: true,
    description:
      'Roles and ClusterRoles name their verbs and resources (no "*")',
    fix: 'List the exact verbs (get, list, watch, …) and resources the workload uses instead of "*".',
    check: (obj, ctx) =>
      perRbacRule(
        obj,
        r => {
          const parts: string[] = [];
          if (r.verbs.includes('*')) parts.push('every verb (*)');
          if (r.resources.some(x => x === '*' || x === '*/*'))
            parts.push('every resource (*)');
          if (parts.length) return `grants ${parts.join(' on ')} on ${what(r)}`;
          return r.nonResourceURLs.some(everyUrl)
            ? `grants ${r.verbs.join(', ')} on every non-resource URL (*)`
            : undefined;
        },
        ctx,
      ),
  },
  {
    id: 'rbac-escalation',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'Roles and ClusterRoles do not grant escalate, bind or impersonate',
    fix: 'Remove the escalate, bind and impersonate verbs; only the platform team grants roles or acts as other identities.',
    check: (obj, ctx) =>
      perRbacRule(
        obj,
        r => {
          const bad = r.verbs.filter(
            v => v === 'escalate' || v === 'bind' || v === 'impersonate',
          );
          return bad.length
            ? `grants ${bad.join(', ')} on ${what(r)}`
            : undefined;
        },
        ctx,
      ),
  },
  {
    id: 'rbac-cluster-secrets',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description: 'ClusterRoles do not read secrets',
    fix: 'Use a namespaced Role that names the Secrets the workload reads (resourceNames).',
    check: (obj, ctx) => {
      if (obj.kind !== 'ClusterRole') return undefined;
      return perRbacRule(
        obj,
        r => {
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
        },
        ctx,
      );
    },
  },
  {
    id: 'rbac-aggregation',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'ClusterRoles labelled rbac.authorization.k8s.io/aggregate-to-view, -edit or -admin (or any label named aggregate-to-…) add to view only reading, not of Secrets nor connecting into pods, services or nodes; to edit and admin no guarded rights, escalate or bind, Secrets, connecting or "*"',
    fix: "Remove the aggregate-to label and bind the ClusterRole to the workload that needs it; aggregate into view only get, list and watch of resources other than Secrets and exec, attach, portforward or proxy, and into edit and admin only rights on the chart's own kinds (the view, edit and admin roles of every namespace take its rules). The platform team exempts one it accepts with kubechart.policy.exceptions naming rule rbac-aggregation.",
    check: (obj, ctx) => aggregatedRights(obj, ctx),
  },
  {
    id: 'rbac-pod-exec',
    defaultSeverity: 'warning',
    description:
      'Roles and ClusterRoles do not allow exec, attach or port-forward into pods',
    fix: 'Remove pods/exec, pods/attach and pods/portforward (and */exec, */attach, pods/*) from the rules; debug through the platform team or ephemeral containers.',
    check: (obj, ctx) =>
      perRbacRule(
        obj,
        r => {
          const sub = r.resources.filter(x => {
            const [resource, subresource] = x.split('/');
            return (
              (resource === 'pods' || resource === '*') &&
              ['exec', 'attach', 'portforward', '*'].includes(subresource)
            );
          });
          const verbs = r.verbs.filter(v => ['create', 'get', '*'].includes(v));
          return sub.length && verbs.length
            ? `grants ${verbs.join(', ')} on ${sub.join(', ')}`
            : undefined;
        },
        ctx,
      ),
  },
];
