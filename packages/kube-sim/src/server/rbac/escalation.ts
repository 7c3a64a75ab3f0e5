import { ResourceType } from '../resources';
import { aggregate, errors } from '../status';
import { deepEqual, KubeObject } from '../types';
import {
  PRIVILEGED_GROUP,
  RbacAuthorizer,
  RoleRef,
  UserInfo,
} from './authorizer';
import {
  compactRules,
  compactString,
  goQuotedList,
  missingRights,
  PolicyRule,
  RequestAttributes,
} from './rules';

const RBAC = 'rbac.authorization.k8s.io';
const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** Called by the API before it writes an object on behalf of a user. */
export type WriteGuard = (
  type: ResourceType,
  obj: KubeObject,
  old: KubeObject | undefined,
) => void;

function unchangedRbac(obj: KubeObject, old: KubeObject | undefined) {
  if (!old) return false;
  const view = (o: KubeObject) => ({
    rules: o.rules,
    aggregationRule: o.aggregationRule,
    roleRef: o.roleRef,
    subjects: o.subjects,
    labels: o.metadata.labels,
    annotations: o.metadata.annotations,
  });
  return deepEqual(view(obj), view(old));
}

/**
 * RBAC escalation prevention as the API server does it: a Role or ClusterRole may only grant
 * rights its author holds (or the author has `escalate` on it), and a binding may only reference
 * a role whose rights its author holds (or the author has `bind` on that role).
 *
 * `requestName` is the object name in the request's URL: `escalate` is asked for it (RoleEscalationAuthorized
 * reads the request's name), so on a POST to the collection it is empty and `escalate` limited by resourceNames
 * never covers a create. `bind` is asked for the roleRef's name.
 */
export function escalationGuard(
  rbac: RbacAuthorizer,
  allows: (user: UserInfo, attrs: RequestAttributes) => boolean,
  user: UserInfo,
  requestName: string,
): WriteGuard {
  const attrs = (
    verb: string,
    resource: string,
    namespace: string,
    name: string,
  ): RequestAttributes => ({
    verb,
    resourceRequest: true,
    apiGroup: RBAC,
    resource,
    subresource: '',
    namespace,
    name,
    path: '',
  });

  function confirmNoEscalation(
    namespace: string,
    rules: PolicyRule[],
  ): string | undefined {
    const owner = rbac.rulesFor(user, namespace, 'registry');
    const missing = missingRights(owner.rules, rules);
    if (missing.length === 0) return undefined;
    const descriptions = [
      ...new Set(compactRules(missing).map(compactString)),
    ].sort();
    let msg = `user ${JSON.stringify(user.name)} (groups=${goQuotedList(
      user.groups,
    )}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join(
      '\n',
    )}`;
    if (owner.errors.length > 0) {
      // `%v` of []error{utilerrors.NewAggregate(errs)}.
      msg += `; resolution errors: [${aggregate(owner.errors)}]`;
    }
    return msg;
  }

  return (type, obj, old) => {
    if (type.group !== RBAC) return;
    if (user.groups.includes(PRIVILEGED_GROUP)) return;
    if (unchangedRbac(obj, old)) return;
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    if (type.plural === 'roles' || type.plural === 'clusterroles') {
      if (allows(user, attrs('escalate', type.plural, namespace, requestName)))
        return;
      const rules: PolicyRule[] = Array.isArray(obj.rules) ? obj.rules : [];
      const problem = confirmNoEscalation(namespace, rules);
      if (problem) throw errors.forbidden(type.plural, RBAC, name, problem);
      if (type.plural === 'clusterroles' && obj.aggregationRule) {
        if (confirmNoEscalation(namespace, FULL_AUTHORITY)) {
          throw errors.forbidden(
            type.plural,
            RBAC,
            name,
            'must have cluster-admin privileges to use the aggregationRule',
          );
        }
      }
      return;
    }
    if (
      type.plural === 'rolebindings' ||
      type.plural === 'clusterrolebindings'
    ) {
      const ref: RoleRef = obj.roleRef ?? { kind: '', name: '' };
      const roleResource =
        ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
      if (allows(user, attrs('bind', roleResource, namespace, ref.name)))
        return;
      // Looked up as the RBAC storage does (its NotFound answered as is: 404 `clusterroles.rbac… not found`).
      const rules = rbac.roleRefRules(ref, namespace, 'registry');
      const problem = confirmNoEscalation(namespace, rules);
      if (problem) throw errors.forbidden(type.plural, RBAC, name, problem);
    }
  };
}
