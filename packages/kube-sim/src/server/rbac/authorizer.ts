import { KubeApi } from '../api';
import { matchesLabels, selectorObjectToRequirements } from '../selectors';
import { aggregate, errors } from '../status';
import { deepEqual, isPlainObject, KubeObject } from '../types';
import { PolicyRule, RequestAttributes, ruleAllows } from './rules';

/** Who a request acts as, after authentication and impersonation. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface Decision {
  allowed: boolean;
  /** `RBAC: allowed by …` when allowed; the rule-resolution errors (if any) when denied. */
  reason: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

const RBAC = 'rbac.authorization.k8s.io';
const SA_PREFIX = 'system:serviceaccount:';

/** The group whose members the API server allows everything before RBAC is asked. */
export const PRIVILEGED_GROUP = 'system:masters';

function appliesTo(user: UserInfo, s: Subject, bindingNamespace: string) {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user.name === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string) {
  if (s.kind === 'ServiceAccount') {
    return `${s.kind} ${JSON.stringify(
      `${s.name}/${s.namespace || bindingNamespace}`,
    )}`;
  }
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

/** How roles are read: the authorizer's informer listers, or the RBAC storage's registry (see roleRefRules). */
export type RoleSource = 'lister' | 'registry';

type Visitor = (
  source: string | undefined,
  rule: PolicyRule | undefined,
  err: string | undefined,
) => boolean;

/**
 * Evaluates Roles, ClusterRoles, RoleBindings and ClusterRoleBindings from the store, as the
 * API server's RBAC authorizer does: ClusterRoleBindings first, then the RoleBindings of the
 * request's namespace; the first rule that allows the request decides.
 */
export class RbacAuthorizer {
  constructor(private readonly api: KubeApi) {}

  private type(plural: string) {
    return this.api.registry.find(RBAC, 'v1', plural)!;
  }

  /**
   * A ClusterRole's rules with those it aggregates, evaluated on read. The clusterrole-aggregation
   * controller writes an aggregated role's rules into it, so a role aggregated into one that is
   * itself aggregated (a role labelled aggregate-to-edit, through edit, into admin) reaches every
   * role up the chain; this follows the chain, each role once (selectors may form cycles).
   * Unlike the controller, a role keeps its own stored rules (the bootstrap admin, edit and view
   * carry theirs), and GET still answers the stored rules (see the README).
   */
  private clusterRoleRules(
    role: KubeObject,
    visited = new Set<string>([role.metadata.name ?? '']),
  ): PolicyRule[] {
    const own: PolicyRule[] = Array.isArray(role.rules) ? role.rules : [];
    const selectors = role.aggregationRule?.clusterRoleSelectors;
    if (!Array.isArray(selectors) || selectors.length === 0) return own;
    const rules = [...own];
    const add = (more: PolicyRule[]) => {
      for (const r of more) {
        if (!rules.some(x => deepEqual(x, r))) rules.push(r);
      }
    };
    for (const sel of selectors) {
      if (!isPlainObject(sel)) continue;
      const reqs = selectorObjectToRequirements(sel);
      // By name, as the controller lists them.
      const others = this.api.store
        .list(this.type('clusterroles'))
        .filter(o => matchesLabels(o.metadata.labels, reqs))
        .sort((a, b) => {
          const [x, y] = [a.metadata.name ?? '', b.metadata.name ?? ''];
          if (x === y) return 0;
          return x < y ? -1 : 1;
        });
      for (const other of others) {
        const otherName = other.metadata.name ?? '';
        if (visited.has(otherName)) continue;
        visited.add(otherName);
        add(this.clusterRoleRules(other, visited));
      }
    }
    return rules;
  }

  /**
   * The rules a binding's roleRef grants; throws NotFound when the role is missing. The authorizer reads roles
   * through informer listers, whose NotFound names the singular resource (`clusterrole.rbac…`); escalation
   * prevention in the RBAC storage reads them through the registry, whose NotFound names the plural one
   * (`clusterroles.rbac…`): `source` says which.
   */
  roleRefRules(
    ref: RoleRef,
    namespace: string,
    source: RoleSource = 'lister',
  ): PolicyRule[] {
    const resource = (plural: string) =>
      source === 'registry' ? plural : plural.replace(/s$/, '');
    if (ref?.kind === 'ClusterRole') {
      const role = this.api.tryGet(
        this.type('clusterroles'),
        undefined,
        ref.name,
      );
      if (!role)
        throw errors.notFound(resource('clusterroles'), RBAC, ref.name);
      return this.clusterRoleRules(role);
    }
    if (ref?.kind === 'Role' && namespace) {
      const role = this.api.tryGet(this.type('roles'), namespace, ref.name);
      if (!role) throw errors.notFound(resource('roles'), RBAC, ref.name);
      return Array.isArray(role.rules) ? role.rules : [];
    }
    throw errors.notFound(resource('roles'), RBAC, ref?.name ?? '');
  }

  private visitRules(
    user: UserInfo,
    namespace: string,
    visit: Visitor,
    roles: RoleSource = 'lister',
  ) {
    const bindings: Array<[KubeObject, string]> = this.api.store
      .list(this.type('clusterrolebindings'))
      .map(b => [b, '']);
    if (namespace) {
      for (const b of this.api.store.list(this.type('rolebindings'), namespace))
        bindings.push([b, namespace]);
    }
    for (const [binding, ns] of bindings) {
      const subjects: Subject[] = Array.isArray(binding.subjects)
        ? binding.subjects
        : [];
      const subject = subjects.find(
        s => isPlainObject(s) && appliesTo(user, s, ns),
      );
      if (!subject) continue;
      let rules: PolicyRule[];
      try {
        rules = this.roleRefRules(binding.roleRef, ns, roles);
      } catch (e) {
        if (!visit(undefined, undefined, (e as Error).message)) return;
        continue;
      }
      const source = ns
        ? `RoleBinding ${JSON.stringify(`${binding.metadata.name}/${ns}`)} of ${
            binding.roleRef.kind
          } ${JSON.stringify(binding.roleRef.name)} to ${describeSubject(
            subject,
            ns,
          )}`
        : `ClusterRoleBinding ${JSON.stringify(binding.metadata.name)} of ${
            binding.roleRef.kind
          } ${JSON.stringify(binding.roleRef.name)} to ${describeSubject(
            subject,
            '',
          )}`;
      for (const rule of rules) {
        if (!visit(source, rule, undefined)) return;
      }
    }
  }

  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP))
      return { allowed: true, reason: '' };
    let decision: Decision | undefined;
    const errs: string[] = [];
    this.visitRules(user, attrs.namespace, (source, rule, err) => {
      if (rule && ruleAllows(attrs, rule)) {
        decision = { allowed: true, reason: `RBAC: allowed by ${source}` };
        return false;
      }
      if (err) errs.push(err);
      return true;
    });
    if (decision) return decision;
    const reason = errs.length ? `RBAC: ${aggregate(errs)}` : '';
    return { allowed: false, reason };
  }

  /**
   * Every rule that applies to the user in the namespace, and the errors met resolving them (named as `source`
   * reads roles, see {@link RbacAuthorizer.roleRefRules}).
   */
  rulesFor(user: UserInfo, namespace: string, source: RoleSource = 'lister') {
    const rules: PolicyRule[] = [];
    const errs: string[] = [];
    this.visitRules(
      user,
      namespace,
      (_source, rule, err) => {
        if (rule) rules.push(rule);
        if (err) errs.push(err);
        return true;
      },
      source,
    );
    return { rules, errors: errs };
  }
}
