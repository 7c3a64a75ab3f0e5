import {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { Request } from 'express';

/**
 * What a caller may read under one of kubechart's entity-scoped read permissions:
 * `all` after an ALLOW; after a conditional decision (e.g. owners only) each item is checked on
 * its catalog entity, and an item without an entity is visible to its actor only.
 */
export type ReadScope = {
  credentials: BackstageCredentials;
  permission: ResourcePermission;
  all: boolean;
  /** The calling user, when it is a user. */
  userRef?: string;
};

type Item = { entityRef?: string; actor?: string };

/** Entities asked of the permission framework in one request. */
const AUTHORIZE_BATCH = 200;

/**
 * Resolves read scopes and filters items by them. A DENY is a `NotAllowedError` (403); a single item
 * outside a conditional scope is a `NotFoundError` (404), as one that does not exist.
 */
export class ReadScopes {
  constructor(
    private readonly httpAuth: HttpAuthService,
    private readonly permissions: PermissionsService,
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

  /** The scope of `credentials` under `permission`; undefined after a DENY. */
  async scopeOf(
    credentials: BackstageCredentials,
    permission: ResourcePermission,
  ): Promise<ReadScope | undefined> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.DENY) return undefined;
    const p = credentials.principal as { type: string; userEntityRef?: string };
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
    return items.filter(i =>
      i.entityRef
        ? allowed.has(i.entityRef)
        : !!scope.userRef && i.actor === scope.userRef,
    );
  }

  /**
   * Throws `NotFoundError(notFound)` unless the caller may read the item: an item the caller may
   * not read is answered as one that does not exist, as Backstage's catalog answers an entity the
   * caller may not see (a 403 would say it exists, and name its entity). A DENY of the permission
   * itself stays a `NotAllowedError` (403): it tells nothing of any item.
   */
  async assert<T extends Item>(
    req: Request,
    permission: ResourcePermission,
    item: T,
    notFound: string,
  ): Promise<ReadScope> {
    const scope = await this.resolve(req, permission);
    if ((await this.filter(scope, [item])).length === 0) {
      throw new NotFoundError(notFound);
    }
    return scope;
  }
}
