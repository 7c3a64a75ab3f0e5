import { KubeSimUser } from './server/auth';
import { PolicyRule } from './server/rbac/rules';
import { KubeObject } from './server/types';

/** Options of {@link limitedUser}. */
export interface LimitedUserOptions {
  /** The user name (what RBAC `User` subjects match). */
  name: string;
  /** Its bearer token; `<name>-token` when left out. */
  token?: string;
  /** Extra groups (every token user is also in `system:authenticated`). */
  groups?: string[];
  /** Cluster-wide rules, granted by a ClusterRole `kube-sim:<name>` and its ClusterRoleBinding. */
  clusterRules?: PolicyRule[];
  /** Rules per namespace, granted by a Role and RoleBinding `kube-sim:<name>` there (the namespace must exist). */
  namespaceRules?: Record<string, PolicyRule[]>;
}

const RBAC_V1 = 'rbac.authorization.k8s.io/v1';

/**
 * A token user and the RBAC objects that give it exactly the listed rights, for
 * `startKubeSim({ users: [u.user], objects: u.objects })`. Everything else answers 403 as on a real
 * cluster; discovery, `/version` and self access reviews work through the built-in bindings.
 */
export function limitedUser(opts: LimitedUserOptions): {
  user: KubeSimUser;
  objects: KubeObject[];
} {
  const roleName = `kube-sim:${opts.name}`;
  const subject = {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'User',
    name: opts.name,
  };
  const objects: KubeObject[] = [];
  if (opts.clusterRules?.length) {
    objects.push(
      {
        apiVersion: RBAC_V1,
        kind: 'ClusterRole',
        metadata: { name: roleName },
        rules: opts.clusterRules,
      },
      {
        apiVersion: RBAC_V1,
        kind: 'ClusterRoleBinding',
        metadata: { name: roleName },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: roleName,
        },
        subjects: [subject],
      },
    );
  }
  for (const [namespace, rules] of Object.entries(opts.namespaceRules ?? {})) {
    objects.push(
      {
        apiVersion: RBAC_V1,
        kind: 'Role',
        metadata: { name: roleName, namespace },
        rules,
      },
      {
        apiVersion: RBAC_V1,
        kind: 'RoleBinding',
        metadata: { name: roleName, namespace },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: roleName,
        },
        subjects: [subject],
      },
    );
  }
  return {
    user: {
      token: opts.token ?? `${opts.name}-token`,
      name: opts.name,
      ...(opts.groups ? { groups: opts.groups } : {}),
    },
    objects,
  };
}
