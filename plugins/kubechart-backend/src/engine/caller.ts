import {
  AuthService,
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { NotAllowedError } from '@backstage/errors';
import {
  kubechartRunsClusterScopedPermission,
  kubechartTenantsAdminPermission,
} from '@kubechart/plugin-kubechart-common';
import { RELATION_MEMBER_OF } from '@backstage/catalog-model';
import { CatalogOwnersSource } from '@kubechart/plugin-audit-log-node';
import { TenantRecord } from '../database/RunStore';
import { EntityReader } from './entityScope';
import { RunCaller } from './scope';

/**
 * What a run's scope needs of the catalog service (`catalogServiceRef`): one entity, as a caller
 * sees it, and several at once, who owns a run's entity now (`catalogEntityOwners`).
 */
export type CatalogEntityReader = CatalogOwnersSource;

/**
 * What the requester of an approved run owns when the run starts without them (a kept run starts on
 * the deciding approval or the scheduled approval task: no token of theirs tells their groups then).
 */
export type RequesterDirectory = {
  /**
   * The requester's ownership refs now: the user and the groups it is a member of; a service owns
   * only its own ref. NotAllowedError for a user the catalog does not have (any more); throws
   * otherwise when they cannot be read.
   */
  ownershipRefs(actor: string): Promise<string[]>;
  /** A catalog entity (undefined when absent); throws when the catalog cannot be read. */
  readEntity: EntityReader;
};

/**
 * The requesters as the catalog has them, read with the plugin's own credentials: a user's
 * ownership refs are the user and the groups it is a member of (its `memberOf` relations), as
 * Backstage's catalog sign-in resolvers put them in a sign-in token.
 */
export function catalogRequesters(
  catalog: CatalogEntityReader,
  auth: Pick<AuthService, 'getOwnServiceCredentials'>,
): RequesterDirectory {
  const readEntity = async (ref: string) =>
    catalog.getEntityByRef(ref, {
      credentials: await auth.getOwnServiceCredentials(),
    });
  return {
    readEntity,
    async ownershipRefs(actor) {
      const user = actor.startsWith('user:')
        ? await readEntity(actor)
        : undefined;
      // A user the catalog does not have (removed, left the organisation, or never in it: a guest
      // sign-in) owns nothing: refused, not taken to own its own ref still.
      if (actor.startsWith('user:') && !user) {
        throw new NotAllowedError(
          `${actor} has no User entity in the catalog (any more)`,
        );
      }
      const groups = (user?.relations ?? [])
        .filter(r => r.type === RELATION_MEMBER_OF)
        .map(r => r.targetRef);
      return [...new Set([actor, ...groups])];
    },
  };
}

/**
 * What a run's caller owns and may do beyond `kubechart.runs.create`: a user's ownership refs (the
 * user and its groups, from the sign-in token), whether it holds `kubechart.runs.cluster-scoped`
 * and `kubechart.tenants.admin`, and the catalog as the caller sees it (its own credentials, so the
 * catalog's permission rules apply) and, with `auth`, whether an entity exists at all (the plugin's
 * credentials). A service owns only as the actor it was resolved to; acting for a user, it holds
 * neither permission and reads no catalog (see below). Acting as itself, it holds either only when
 * granted explicitly (see {@link grantedToService}).
 */
export async function resolveRunCaller(options: {
  credentials: BackstageCredentials;
  actor: string;
  permissions: PermissionsService;
  userInfo?: UserInfoService;
  catalog?: CatalogEntityReader;
  /** With the catalog: tells an entity hidden from the caller from one that does not exist. */
  auth?: Pick<AuthService, 'getOwnServiceCredentials'>;
  /** Whether the credentials' caller may read a tenant (see `RunCaller.mayReadTenant`). */
  mayReadTenant?: (tenant: TenantRecord) => Promise<boolean>;
  /** Whether the credentials' caller may read every tenant (see `RunCaller.mayReadEveryTenant`). */
  mayReadEveryTenant?: () => Promise<boolean>;
}): Promise<RunCaller> {
  const { credentials, actor, permissions, userInfo, catalog, auth } = options;
  const refs = new Set([actor]);
  if ((credentials.principal as { type: string }).type === 'user' && userInfo) {
    for (const r of (await userInfo.getUserInfo(credentials))
      .ownershipEntityRefs)
      refs.add(r);
  }
  // A service acting for a user (onBehalfOf): Backstage's permissions allow a service everything,
  // and the user's own decisions cannot be asked without the user's token, so the user gets neither
  // right. It owns only what its own ref owns. Nor is the catalog read for it: read with the
  // service's credentials it would show entities the user may not see (and their owners), so
  // whatever needs the catalog is refused for it (the router refuses a relayed entityRef first).
  // Nor does the service's right to read tenants tell what the user may read of them.
  const principal = credentials.principal as { type: string; subject?: string };
  const forAnother =
    principal.type !== 'user' && actor !== `service:${principal.subject}`;
  const [clusterScoped, tenantsAdmin] = forAnother
    ? [{ result: AuthorizeResult.DENY }, { result: AuthorizeResult.DENY }]
    : await permissions.authorize(
        [
          { permission: kubechartRunsClusterScopedPermission },
          { permission: kubechartTenantsAdminPermission },
        ],
        { credentials },
      );
  const holds = (
    decision: { result: AuthorizeResult },
    permission: { name: string },
  ) =>
    decision.result === AuthorizeResult.ALLOW &&
    (principal.type === 'user' ||
      grantedToService(credentials, permission.name));
  return {
    ownershipRefs: [...refs],
    mayApplyClusterScoped: holds(
      clusterScoped,
      kubechartRunsClusterScopedPermission,
    ),
    isTenantAdmin: holds(tenantsAdmin, kubechartTenantsAdminPermission),
    ...(catalog && !forAnother
      ? { readEntity: ref => catalog.getEntityByRef(ref, { credentials }) }
      : {}),
    ...(catalog && auth && !forAnother
      ? {
          entityExists: async ref =>
            Boolean(
              await catalog.getEntityByRef(ref, {
                credentials: await auth.getOwnServiceCredentials(),
              }),
            ),
        }
      : {}),
    ...(options.mayReadTenant && !forAnother
      ? { mayReadTenant: options.mayReadTenant }
      : {}),
    ...(options.mayReadEveryTenant && !forAnother
      ? { mayReadEveryTenant: options.mayReadEveryTenant }
      : {}),
  };
}

/**
 * Whether a service holds an admin permission (`kubechart.tenants.admin`,
 * `kubechart.runs.cluster-scoped`) as itself. Backstage's permission client allows a service every
 * permission unless its token carries access restrictions, whatever the policy: every plugin's own
 * token and every static external access token would hold both. A service holds one only when its
 * token names it among its access restrictions' permissions (`backend.auth.externalAccess`, entry
 * `accessRestrictions: [{ plugin: kubechart, permission: [kubechart.tenants.admin, …] }]`): granted
 * explicitly, for that token alone. A plugin's own token carries none, and holds neither.
 */
export function grantedToService(
  credentials: BackstageCredentials,
  permissionName: string,
): boolean {
  const { accessRestrictions } = credentials.principal as {
    accessRestrictions?: { permissionNames?: string[] };
  };
  return accessRestrictions?.permissionNames?.includes(permissionName) === true;
}
