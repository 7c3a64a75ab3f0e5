import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  Entity,
  RELATION_MEMBER_OF,
  parseEntityRef,
} from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';

/**
 * A permission service that denies a request when `denies(permission name, principal)` says so and
 * allows every other (conditional requests too).
 */
export function permissionsDenying(
  denies: (permission: string | undefined, principal: any) => boolean,
) {
  return createServiceFactory({
    service: coreServices.permissions,
    deps: {},
    factory: () => {
      const decide = (
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) =>
        requests.map(r => ({
          result: denies(r.permission?.name, options?.credentials?.principal)
            ? AuthorizeResult.DENY
            : AuthorizeResult.ALLOW,
        }));
      return {
        authorize: async (r: any[], o: any) => decide(r, o),
        authorizeConditional: async (r: any[], o: any) => decide(r, o),
      } as any;
    },
  });
}

/**
 * A permission service under which everyone may create runs and read, and only `admin` holds
 * `kubechart.tenants.admin` among users. Services are allowed everything, as Backstage's own
 * permission client allows a service principal without access restrictions whatever the policy.
 */
export function onlyAdminIsTenantsAdmin(admin: string) {
  return permissionsDenying(
    (permission, principal) =>
      permission === 'kubechart.tenants.admin' &&
      principal?.type === 'user' &&
      principal?.userEntityRef !== admin,
  );
}

/** A user-info service giving each user the groups `groups` lists, as the sign-in token carries them. */
export function userInfoWithGroups(groups: Record<string, string[]>) {
  return createServiceFactory({
    service: coreServices.userInfo,
    deps: {},
    factory: () => ({
      async getUserInfo(credentials: BackstageCredentials) {
        const ref = (credentials.principal as any).userEntityRef as string;
        return {
          userEntityRef: ref,
          ownershipEntityRefs: [ref, ...(groups[ref] ?? [])],
        };
      },
    }),
  });
}

/** A permission service that denies `users` everything and allows everyone else everything. */
export function deniesOnly(...users: string[]) {
  return permissionsDenying((_permission, principal) =>
    users.includes(principal?.userEntityRef),
  );
}

/**
 * The catalog's User entities of `groups` (each a member of its groups, as `memberOf` relations):
 * what the plugin reads, when a kept approved run starts, to learn what its requester owns then.
 */
export function catalogUsers(groups: Record<string, string[]>): Entity[] {
  return Object.entries(groups).map(([ref, memberOf]) => {
    const { namespace, name } = parseEntityRef(ref);
    return {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'User',
      metadata: { name, namespace },
      spec: { memberOf },
      relations: memberOf.map(targetRef => ({
        type: RELATION_MEMBER_OF,
        targetRef,
      })),
    };
  });
}
