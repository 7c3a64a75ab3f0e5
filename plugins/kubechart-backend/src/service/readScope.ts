import {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, ServiceUnavailableError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { kubechartRunsReadPermission } from '@kubechart/plugin-kubechart-common';
import { Request } from 'express';
import { grantedToService } from '../engine/caller';
import { entityRefKey } from '@kubechart/plugin-audit-log-common';
import { EntityOwnersReader } from '@kubechart/plugin-audit-log-node';
import { DEFAULT_RELAYING_PLUGINS, relayingPlugin } from './identity';

/**
 * What a caller may read under one of kubechart's entity-scoped read permissions:
 * `all` after an ALLOW; after a conditional decision (e.g. owners only) each item is checked on
 * its catalog entity, and one that records the owner its entity had (`entityOwner`) is read only while
 * the entity has that owner still; an item without an entity is visible to its actor only. A service not
 * granted a permission of {@link NEEDS_SERVICE_GRANT} reads only the items it is the actor of.
 */
export type ReadScope = {
  credentials: BackstageCredentials;
  permission: ResourcePermission;
  all: boolean;
  /** The calling user, when it is a user. */
  userRef?: string;
  /**
   * The calling service (`service:<subject>`) when the permission is one of
   * {@link NEEDS_SERVICE_GRANT} and its token does not grant it: it reads the items it is the actor of.
   */
  serviceRef?: string;
};

/**
 * The read permissions a service holds on everything only when its token names them among its access
 * restrictions' permissions (`backend.auth.externalAccess[].accessRestrictions`), as the admin
 * permissions (see `grantedToService`): Backstage's permission client allows a service every
 * permission unless its token carries access restrictions, whatever the policy, so every plugin's own
 * token and every static external access token would otherwise read every run (values, manifests,
 * policy reports, failures). `kubechart.tenants.read` is not among them: the catalog module lists every tenant with
 * its plugin's own token, which can carry no access restrictions, and the catalog shows those
 * tenants to services as entities anyway.
 */
export const NEEDS_SERVICE_GRANT: ReadonlySet<string> = new Set([
  kubechartRunsReadPermission.name,
]);

/**
 * An item read under a scope. `entityOwner`: the owner its entity had when the item was made (an entity
 * ref key; '' none), absent when not recorded.
 */
type Item = { entityRef?: string; actor?: string; entityOwner?: string };

/** Entities asked of the permission framework in one request. */
const AUTHORIZE_BATCH = 200;

/**
 * Resolves read scopes and filters items by them. A DENY is a `NotAllowedError` (403), and so are a
 * user's credentials passed on by a plugin not allowed to act as a user; a route answers a single item
 * outside the scope as one that does not exist (404).
 */
export class ReadScopes {
  constructor(
    private readonly httpAuth: HttpAuthService,
    private readonly permissions: PermissionsService,
    /** `kubechart.onBehalfOf.relayingPlugins`. */
    private readonly relayingPlugins: string[] = DEFAULT_RELAYING_PLUGINS,
    /**
     * Who owns entities now (the catalog). Without it, an item that records its entity's owner is
     * read only under an ALLOW (fail closed: nothing tells whether the entity changed hands).
     */
    private readonly entityOwners?: EntityOwnersReader,
  ) {}

  async resolve(
    req: Request,
    permission: ResourcePermission,
  ): Promise<ReadScope> {
    const credentials = await this.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const scope = await this.scopeOf(credentials, permission);
    if (!scope) throw new NotAllowedError(`Not allowed: ${permission.name}`);
    return scope;
  }

  /**
   * The scope of `credentials` under `permission`; undefined after a DENY. A user's credentials
   * passed on by a plugin not in `relayingPlugins` are refused first (NotAllowedError, 403), as the
   * routes that change something refuse them (see `relayingPlugin`).
   */
  async scopeOf(
    credentials: BackstageCredentials,
    permission: ResourcePermission,
  ): Promise<ReadScope | undefined> {
    relayingPlugin(credentials, this.relayingPlugins);
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.DENY) return undefined;
    const p = credentials.principal as {
      type: string;
      userEntityRef?: string;
      subject?: string;
    };
    if (
      p.type === 'service' &&
      NEEDS_SERVICE_GRANT.has(permission.name) &&
      !grantedToService(credentials, permission.name)
    )
      return {
        credentials,
        permission,
        all: false,
        serviceRef: `service:${p.subject}`,
      };
    return {
      credentials,
      permission,
      all: decision.result === AuthorizeResult.ALLOW,
      userRef: p.type === 'user' ? p.userEntityRef : undefined,
    };
  }

  /** The items the scope may see, in their order. One permission request per 200 distinct entities. */
  async filter<T extends Item>(scope: ReadScope, items: T[]): Promise<T[]> {
    if (scope.all) return items;
    // The permission framework would allow such a service every entity: not asked.
    if (scope.serviceRef)
      return items.filter(i => i.actor === scope.serviceRef);
    const refs = [
      ...new Set(items.map(i => i.entityRef).filter((r): r is string => !!r)),
    ];
    // In batches: Backstage's permission backend takes at most 100 KB of requests at once (about
    // 470 entities), and its client does not split them.
    const decisions: Array<{ result: AuthorizeResult }> = [];
    for (let i = 0; i < refs.length; i += AUTHORIZE_BATCH) {
      decisions.push(
        ...(await this.permissions.authorize(
          refs.slice(i, i + AUTHORIZE_BATCH).map(resourceRef => ({
            permission: scope.permission,
            resourceRef,
          })),
          { credentials: scope.credentials },
        )),
      );
    }
    const allowed = new Set(
      refs.filter((_r, i) => decisions[i]?.result === AuthorizeResult.ALLOW),
    );
    // A decision on an entity is one on the entity that has the ref now: an item made while
    // someone else owned an entity of that ref (since deleted and registered again, or handed over)
    // is that owner's history, not the current owner's.
    const owned = new Set(
      items.filter(i => i.entityOwner).map(i => i.entityRef),
    );
    const owners = await this.ownersNow(
      refs.filter(r => allowed.has(r) && owned.has(r)),
    );
    return items.filter(i => {
      if (!i.entityRef) return !!scope.userRef && i.actor === scope.userRef;
      if (!allowed.has(i.entityRef)) return false;
      if (i.entityOwner === undefined) return true;
      return !!i.entityOwner && ownerOf(owners, i.entityRef) === i.entityOwner;
    });
  }

  /**
   * The owner `entityRef` has now in the catalog (an entity ref key), for a caller under a
   * conditional decision to read only the runs made while it had that owner (`RunFilter.entityOwner`);
   * '' when the entity has none or the catalog is not known here (such runs are read by nobody under a
   * conditional decision). ServiceUnavailableError (503) when the catalog cannot be read.
   */
  async ownerNow(entityRef: string): Promise<string> {
    return ownerOf(await this.ownersNow([entityRef]), entityRef);
  }

  private async ownersNow(refs: string[]): Promise<Map<string, string>> {
    if (refs.length === 0 || !this.entityOwners) return new Map();
    try {
      return await this.entityOwners(refs);
    } catch (e) {
      throw new ServiceUnavailableError(
        `The catalog could not be read to learn who owns the entities of what was asked for (${
          e instanceof Error ? e.message : String(e)
        }); try again later`,
      );
    }
  }
}

/** The owner of `entityRef` in `owners` (keyed by entity ref key); '' when it has none. */
function ownerOf(owners: Map<string, string>, entityRef: string): string {
  return owners.get(entityRefKey(entityRef) ?? entityRef) ?? '';
}
