import {
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  kubechartRunsClusterScopedPermission,
  kubechartTenantsAdminPermission,
} from '@kubechart/plugin-kubechart-common';
import { RunCaller } from './scope';

/**
 * What a run's caller owns and may do beyond `kubechart.runs.create`: a user's ownership refs (the
 * user and its groups, from the sign-in token), and whether it holds `kubechart.runs.cluster-scoped`
 * and `kubechart.tenants.admin`. A service owns only as the actor it was resolved to.
 */
export async function resolveRunCaller(options: {
  credentials: BackstageCredentials;
  actor: string;
  permissions: PermissionsService;
  userInfo?: UserInfoService;
}): Promise<RunCaller> {
  const { credentials, actor, permissions, userInfo } = options;
  const refs = new Set([actor]);
  if ((credentials.principal as { type: string }).type === 'user' && userInfo) {
    for (const r of (await userInfo.getUserInfo(credentials))
      .ownershipEntityRefs)
      refs.add(r);
  }
  const [clusterScoped, tenantsAdmin] = await permissions.authorize(
    [
      { permission: kubechartRunsClusterScopedPermission },
      { permission: kubechartTenantsAdminPermission },
    ],
    { credentials },
  );
  return {
    ownershipRefs: [...refs],
    mayApplyClusterScoped: clusterScoped.result === AuthorizeResult.ALLOW,
    isTenantAdmin: tenantsAdmin.result === AuthorizeResult.ALLOW,
  };
}
