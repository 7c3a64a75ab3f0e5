import {
  Entity,
  makeValidator,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
// Who owns an entity (its full ref), as every family reads it.
import {
  entityOwnerRef as ownerOf,
  withDeadline,
} from '@kubechart/plugin-audit-log-common';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  CreateRunRequest,
  KUBECHART_CLUSTER_ANNOTATION,
  KUBECHART_NAMESPACE_ANNOTATION,
  KUBECHART_TENANT_ANNOTATION,
} from '@kubechart/plugin-kubechart-common';
import { RunStore, TenantRecord } from '../database/RunStore';
import { EngineSettings } from './settings';

/** The Backstage Kubernetes plugin's namespace annotation, which kubechart honours too. */
export const KUBERNETES_NAMESPACE_ANNOTATION =
  'backstage.io/kubernetes-namespace';

/** Reads a catalog entity as the run's caller sees it (undefined when absent or not visible). */
export type EntityReader = (entityRef: string) => Promise<Entity | undefined>;

/**
 * How long a catalog read that decides whether a run may start is waited for: a catalog that does
 * not answer is one that cannot be read (503), not a request left pending.
 */
export const CATALOG_READ_TIMEOUT_MS = 15_000;

/**
 * `read` of `entityRef` in the catalog, bounded by {@link CATALOG_READ_TIMEOUT_MS}: once that
 * passed, rejected with an error saying the catalog did not answer (each caller maps a failed read
 * to its 503).
 */
function readCatalog<T>(
  read: (entityRef: string) => Promise<T>,
  entityRef: string,
): Promise<T> {
  return withCatalogDeadline(read(entityRef));
}

/**
 * `read` (a catalog read), rejected with an error saying the catalog did not answer once
 * {@link CATALOG_READ_TIMEOUT_MS} passed.
 */
export function withCatalogDeadline<T>(read: Promise<T>): Promise<T> {
  return withDeadline(read, CATALOG_READ_TIMEOUT_MS, () => {
    throw new Error(
      `the catalog did not answer within ${CATALOG_READ_TIMEOUT_MS / 1000}s`,
    );
  });
}

/**
 * Whether `entity` is the one the tenant provider makes for tenant `tenant` on `cluster` (annotated
 * `kubechart.io/tenant` and `kubechart.io/cluster` with them).
 */
function isTenantsEntity(entity: Entity, tenant: string, cluster: string) {
  const annotations = entity.metadata.annotations ?? {};
  return (
    annotations[KUBECHART_TENANT_ANNOTATION] === tenant &&
    annotations[KUBECHART_CLUSTER_ANNOTATION] === cluster
  );
}

/** A namespace an entity may deploy to, and why. */
type Allowed = { namespace: string; tenant?: string; why: string };

/** What a refusal may name to its caller (see `RunCaller.mayReadTenant` and `mayReadEveryTenant`). */
type NamingCaller = {
  mayReadTenant?: (tenant: TenantRecord) => Promise<boolean>;
  mayReadEveryTenant?: () => Promise<boolean>;
};

const live = (t: TenantRecord) => t.status !== 'deleted';

/**
 * The namespaces a catalog entity may deploy to on a cluster, read from its annotations:
 * `kubechart.io/tenant` names a tenant, whose namespace it may use; `backstage.io/kubernetes-namespace`
 * and `kubechart.io/namespace` name a namespace. Each counts only when the record of that tenant or
 * namespace (a kubechart tenant, or `kubechart.clusters.<name>.namespaces`) lists the entity's owner
 * as its owner: anyone can write an annotation, only the platform assigns a namespace.
 * Also returns why each annotated namespace was not allowed, naming another owner's tenant and that
 * owner only to a caller who may read that tenant (`mayReadTenant`), and a namespace's assigned
 * owner only to one who may read every tenant (`mayReadEveryTenant`, see `RunCaller`).
 */
export async function namespacesOfEntity(
  entity: Entity,
  owner: string,
  cluster: string,
  deps: { store: RunStore; settings: EngineSettings },
  caller: NamingCaller = {},
): Promise<{ allowed: Allowed[]; refused: string[] }> {
  const annotations = entity.metadata.annotations ?? {};
  const tenants = (await deps.store.getTenants()).filter(
    t => t.cluster === cluster && live(t),
  );
  const allowed: Allowed[] = [];
  const refused: string[] = [];
  const tenantCode = annotations[KUBECHART_TENANT_ANNOTATION];
  if (tenantCode) {
    const what = `${KUBECHART_TENANT_ANNOTATION}: ${tenantCode}`;
    const t = tenants.find(x => x.code === tenantCode);
    if (!t) refused.push(`${what} names no tenant on cluster ${cluster}`);
    else if (t.owner !== owner)
      refused.push(
        (await caller.mayReadTenant?.(t))
          ? `${what}: tenant ${t.code} is owned by ${
              t.owner ?? 'nobody'
            }, not by the entity's owner ${owner}`
          : `${what}: a tenant not owned by the entity's owner ${owner}`,
      );
    else
      allowed.push({
        namespace: t.namespace,
        tenant: t.code,
        why: `${what}, tenant owned by ${owner}`,
      });
  }
  for (const key of [
    KUBERNETES_NAMESPACE_ANNOTATION,
    KUBECHART_NAMESPACE_ANNOTATION,
  ]) {
    const namespace = annotations[key];
    if (!namespace) continue;
    const what = `${key}: ${namespace}`;
    const t = tenants.find(x => x.namespace === namespace);
    const assigned = deps.settings.namespaceOwners[cluster]?.[namespace];
    // For a caller who may not learn whose it is: the same words for a tenant's and an assigned one.
    const notTheOwners = `${what}: not a namespace of the entity's owner ${owner}`;
    if (t) {
      if (t.owner === owner)
        allowed.push({
          namespace,
          tenant: t.code,
          why: `${what}, namespace of tenant ${t.code} owned by ${owner}`,
        });
      else if (await caller.mayReadTenant?.(t))
        refused.push(
          `${what}: namespace of tenant ${t.code}, owned by ${
            t.owner ?? 'nobody'
          }, not by the entity's owner ${owner}`,
        );
      else refused.push(notTheOwners);
    } else if (assigned === owner) {
      allowed.push({
        namespace,
        why: `${what}, assigned to ${owner} in kubechart.clusters.${cluster}.namespaces`,
      });
    } else if (assigned) {
      refused.push(
        (await caller.mayReadEveryTenant?.())
          ? `${what}: assigned to ${assigned}, not to the entity's owner ${owner}`
          : notTheOwners,
      );
    } else {
      refused.push(
        `${what}: neither a kubechart tenant nor assigned to an owner in kubechart.clusters.${cluster}.namespaces`,
      );
    }
  }
  return { allowed, refused };
}

/**
 * The target namespace of a chart, manifests or rollback run for an entity, when that entity may deploy
 * there and the caller acts for the entity's owner (`owner`, as the catalog has it now). Fails closed: no catalog, an entity the caller
 * cannot see, an entity without an owner or without a usable namespace annotation, or another
 * cluster than the entity's, are all refused with NotAllowedError (403) naming the reason.
 */
export async function resolveEntityNamespace(
  request: { cluster: string; namespace: string; entityRef: string },
  caller: NamingCaller & {
    ownershipRefs: string[];
    readEntity?: EntityReader;
  },
  deps: { store: RunStore; settings: EngineSettings },
): Promise<Allowed & { owner: string }> {
  const { cluster, namespace, entityRef } = request;
  const refuse = (why: string) =>
    new NotAllowedError(
      `A run for ${entityRef} may deploy only where that entity may deploy; ${why}`,
    );
  if (!caller.readEntity)
    throw refuse('the catalog cannot be read here, so its scope is unknown');
  const entity = await caller.readEntity(entityRef);
  if (!entity)
    throw refuse(
      `the catalog has no entity ${entityRef} visible to ${caller.ownershipRefs[0]}`,
    );
  const owner = ownerOf(entity);
  if (!owner) throw refuse(`${entityRef} has no owner in the catalog`);
  if (!caller.ownershipRefs.includes(owner))
    throw refuse(
      `${entityRef} is owned by ${owner} and ${caller.ownershipRefs[0]} is not a member of it`,
    );
  const entityCluster =
    entity.metadata.annotations?.[KUBECHART_CLUSTER_ANNOTATION];
  if (entityCluster && entityCluster !== cluster)
    throw refuse(
      `its ${KUBECHART_CLUSTER_ANNOTATION} annotation is ${entityCluster}, not ${cluster}`,
    );
  const { allowed, refused } = await namespacesOfEntity(
    entity,
    owner,
    cluster,
    deps,
    caller,
  );
  const match = allowed.find(a => a.namespace === namespace);
  if (match) return { ...match, owner };
  const may = allowed.length
    ? `it may deploy to ${[...new Set(allowed.map(a => a.namespace))].join(
        ', ',
      )} on cluster ${cluster}, not to ${namespace}`
    : `it may deploy to no namespace on cluster ${cluster}`;
  let why = refused.join('; ');
  if (!why && !allowed.length)
    why = `it has no ${KUBECHART_TENANT_ANNOTATION}, ${KUBERNETES_NAMESPACE_ANNOTATION} or ${KUBECHART_NAMESPACE_ANNOTATION} annotation`;
  throw refuse(why ? `${may}: ${why}` : may);
}

/**
 * The kinds a tenant's catalog entity may have, as the catalog module
 * (`@kubechart/plugin-catalog-backend-module-kubechart`, `TENANT_ENTITY_KINDS`) accepts them.
 */
export const TENANT_ENTITY_KINDS = ['Component', 'System', 'Resource'];

const entityValidator = makeValidator();

/**
 * A tenant's `entityRef` in the form runs are stored and listed by: `stringifyEntityRef`, the form
 * an entity page asks for its history with (`system:default/shop`). Read as the catalog module reads
 * it: a System in namespace `default` unless the ref says otherwise. Throws InputError (400) for a
 * ref that is not an entity ref, or names a kind other than {@link TENANT_ENTITY_KINDS} (a tenant's
 * entity would be a User, Group, Location or Template the requester put into the catalog).
 */
export function normalizeTenantEntityRef(
  entityRef: string,
  tenant: string,
): string {
  const what = `The entityRef ${JSON.stringify(entityRef)} of tenant ${tenant}`;
  const unusable = (why: string) =>
    new InputError(
      `${what} is not a usable entity ref: ${why}; give [<kind>:][<namespace>/]<name>, e.g. system:default/${tenant}`,
    );
  let ref;
  try {
    ref = parseEntityRef(entityRef, {
      defaultKind: 'System',
      defaultNamespace: 'default',
    });
  } catch (e) {
    throw unusable(e instanceof Error ? e.message : String(e));
  }
  if (
    !TENANT_ENTITY_KINDS.some(
      k => k.toLocaleLowerCase('en-US') === ref.kind.toLocaleLowerCase('en-US'),
    )
  ) {
    throw new InputError(
      `${what} names a ${
        ref.kind
      }; a tenant's entity must be a ${TENANT_ENTITY_KINDS.join(', ').replace(
        /, (?=[^,]*$)/,
        ' or ',
      )}`,
    );
  }
  const normalized = stringifyEntityRef(ref);
  const { namespace, name } = parseEntityRef(normalized);
  if (!entityValidator.isValidNamespace(namespace))
    throw unusable(`${JSON.stringify(namespace)} is not a valid namespace`);
  if (!entityValidator.isValidEntityName(name))
    throw unusable(`${JSON.stringify(name)} is not a valid entity name`);
  return normalized;
}

/**
 * The request with a tenant or tenant-delete run's `entityRef` normalised
 * ({@link normalizeTenantEntityRef}, InputError when unusable); other requests unchanged.
 */
export function withNormalizedTenantEntityRef<T extends CreateRunRequest>(
  request: T,
): T {
  if (
    (request.kind !== 'tenant' && request.kind !== 'tenant-delete') ||
    request.entityRef === undefined
  )
    return request;
  return {
    ...request,
    entityRef: normalizeTenantEntityRef(request.entityRef, request.tenant),
  };
}

/**
 * The entity the catalog module makes for a stored tenant: its entityRef, else the System named by
 * its code; undefined when unusable (the catalog module skips such a tenant).
 */
export function entityRefOfTenant(
  tenant: Pick<TenantRecord, 'code' | 'entityRef'>,
): string | undefined {
  try {
    return normalizeTenantEntityRef(
      tenant.entityRef ?? tenant.code,
      tenant.code,
    );
  } catch {
    return undefined;
  }
}

/**
 * The entityRef a tenant has once a run on it starts (`owner`: its owner then): the one the request
 * names, else the one the tenant has, but only while it is live and keeps its owner. A tenant created
 * again from a deleted record, or moved to another owner, inherits none: the entity's deployment
 * history belongs to the earlier owner, and the tenant provider would make the entity the new owner's.
 */
export function tenantEntityRefAfter(
  request: Pick<CreateRunRequest, 'entityRef'>,
  existing: TenantRecord | undefined,
  owner: string,
): string | undefined {
  if (request.entityRef) return request.entityRef;
  return existing && live(existing) && existing.owner === owner
    ? existing.entityRef
    : undefined;
}

/**
 * The owner a tenant or tenant-delete run records for its `entityRef` (`NewRun.entityOwner`): the
 * owner the entity has in the catalog when it is an entity registered there (read as the plugin sees
 * the catalog), else `tenantOwner`, the owner the run leaves the tenant with: the tenant provider makes
 * an entity not in the catalog, and its own entity for the tenant (annotated `kubechart.io/tenant` and
 * `kubechart.io/cluster` with this tenant), that owner's. Throws ServiceUnavailableError (503) when
 * the catalog cannot be read; without `readEntity` (no catalog here), `tenantOwner`.
 */
export async function tenantRunEntityOwner(
  request: { cluster: string; tenant: string; entityRef: string },
  tenantOwner: string,
  readEntity?: EntityReader,
): Promise<string> {
  if (!readEntity) return tenantOwner;
  let entity: Entity | undefined;
  try {
    entity = await readCatalog(readEntity, request.entityRef);
  } catch (e) {
    throw new ServiceUnavailableError(
      `Tenant ${
        request.tenant
      } was not changed: the catalog could not be read to learn who owns ${
        request.entityRef
      } (${e instanceof Error ? e.message : String(e)}); try again later`,
    );
  }
  if (!entity || isTenantsEntity(entity, request.tenant, request.cluster))
    return tenantOwner;
  return ownerOf(entity) ?? '';
}

/** The runs read at a time when looking through an entity's deployment history. */
const HISTORY_PAGE_SIZE = 500;

/**
 * NotAllowedError (403) when a tenant run would give a tenant an entity (`entityRef`, explicit or
 * the System named by its code) whose deployment history holds runs of someone else: run reads
 * are filtered by the run's entity, and the tenant provider makes that entity the tenant's owner's,
 * so the new owner could read the earlier owner's runs (a deleted tenant's entity leaves the
 * catalog with it, and nothing else tells whose history it is). Passes when
 * - the tenant already has that entity and keeps its owner (live);
 * - every run naming the entity was started by the caller (one of its ownership refs);
 * - the catalog, read as the caller, has the entity owned by the tenant's `owner`: its members read
 *   that history already;
 * - the caller holds `kubechart.tenants.admin`, who may hand an entity over.
 * A run counts as someone else's by its actor: runs do not record the owner they ran for, so a
 * teammate's run counts too (fail closed; a tenants admin can hand the entity over). The refusal
 * names that actor only to a caller who may read every tenant (`mayReadEveryTenant`): the earlier
 * owner's runs are not the caller's to read.
 * Throws ServiceUnavailableError (503) when the catalog cannot be read.
 */
export async function checkTenantEntityHistory(
  request: { tenant: string; entityRef: string },
  existing: TenantRecord | undefined,
  owner: string,
  caller: {
    ownershipRefs: string[];
    isTenantAdmin: boolean;
    readEntity?: EntityReader;
    mayReadEveryTenant?: () => Promise<boolean>;
  },
  deps: { store: RunStore },
  refusal: string,
): Promise<void> {
  const { tenant, entityRef } = request;
  if (
    existing &&
    live(existing) &&
    existing.owner === owner &&
    entityRefOfTenant(existing) === entityRef
  )
    return;
  if (caller.isTenantAdmin) return;
  let earlier: string | undefined;
  let cursor: string | undefined;
  do {
    const page = await deps.store.listRuns(
      { entityRef },
      { cursor, limit: HISTORY_PAGE_SIZE },
    );
    earlier = page.items.find(
      r => !caller.ownershipRefs.includes(r.actor),
    )?.actor;
    cursor = page.nextCursor;
  } while (!earlier && cursor);
  if (!earlier) return;
  let entity: Entity | undefined;
  if (caller.readEntity) {
    try {
      entity = await readCatalog(caller.readEntity, entityRef);
    } catch (e) {
      throw new ServiceUnavailableError(
        `${refusal} now: the catalog could not be read to learn whose deployment history ${entityRef} is (${
          e instanceof Error ? e.message : String(e)
        }); try again later`,
      );
    }
  }
  const entityOwnerRef = entity ? ownerOf(entity) : undefined;
  if (entityOwnerRef && entityOwnerRef === owner) return;
  const hint =
    entityOwnerRef && caller.ownershipRefs.includes(entityOwnerRef)
      ? `, or make ${entityOwnerRef}, which owns it in the catalog, the owner of tenant ${tenant}`
      : '';
  const who = (await caller.mayReadEveryTenant?.().catch(() => false))
    ? ` (${earlier})`
    : '';
  throw new NotAllowedError(
    `${refusal}: ${entityRef} has deployment history of an earlier owner${who}, which ${owner} would be able to read through tenant ${tenant}; ask a tenants admin (kubechart.tenants.admin) to hand that entity over${hint}, or give another entityRef`,
  );
}

/**
 * ConflictError (409) when another live tenant (other code or other cluster), owned by someone else
 * than `owner`, has `entityRef` as its entity: the catalog has one entity per ref, and the tenant
 * provider would make it this tenant's. Without `refusal`, `entityRef` is the entity a tenant that
 * names none gets (the System named by its code). The refusal names that tenant and its owner only
 * to a caller who may read it (`mayReadTenant`); anyone else learns only that the entity is taken.
 */
export async function checkTenantEntityUnclaimed(
  request: { cluster: string; tenant: string; entityRef: string },
  owner: string,
  caller: { mayReadTenant?: (tenant: TenantRecord) => Promise<boolean> },
  deps: { store: RunStore },
  refusal?: string,
): Promise<void> {
  const { cluster, tenant, entityRef } = request;
  const other = (await deps.store.getTenants()).find(
    t =>
      live(t) &&
      !(t.code === tenant && t.cluster === cluster) &&
      t.owner !== owner &&
      entityRefOfTenant(t) === entityRef,
  );
  if (!other) return;
  const claim = (await caller.mayReadTenant?.(other))
    ? `tenant ${other.code} on cluster ${other.cluster} already ${
        other.entityRef
          ? 'names it'
          : 'has it as its entity (the System named by its code)'
      } and is owned by ${other.owner ?? 'nobody'}, not by ${owner}`
    : 'another tenant already has it as its entity';
  throw new ConflictError(
    refusal
      ? `${refusal}: ${claim}`
      : `Tenant ${tenant} may not have ${entityRef} as its entity (the System named by its code): ${claim}; give another entityRef`,
  );
}

/**
 * Refuses a tenant (or tenant-delete) run that names an entity (`entityRef`, already normalised)
 * which is not this tenant's to name. Runs are listed by entityRef and the catalog module builds the
 * tenant's entity from it, so naming another team's entity would put this tenant's runs into that
 * entity's deployment history.
 * - ConflictError (409) when another live tenant (other code or other cluster), owned by someone
 *   else than `owner` (the tenant's owner once the run starts), has that entity: the catalog has one
 *   entity per ref.
 * - NotAllowedError (403) when the catalog, read as the caller, has that entity and the caller does
 *   not act for its owner, unless the caller holds `kubechart.tenants.admin`, or the entity is the
 *   one the tenant provider made for this live tenant (annotated `kubechart.io/tenant` and
 *   `kubechart.io/cluster`): who may change that tenant is `checkTenantOwnership`'s question.
 *   An entity the catalog does not have is created by the tenant provider.
 * Fails closed: without a catalog (403) or when it cannot be read (503), nothing is started.
 */
export async function checkTenantEntity(
  request: { cluster: string; tenant: string; entityRef: string },
  existing: TenantRecord | undefined,
  owner: string,
  caller: {
    ownershipRefs: string[];
    isTenantAdmin: boolean;
    readEntity?: EntityReader;
    entityExists?: (entityRef: string) => Promise<boolean>;
    mayReadTenant?: (tenant: TenantRecord) => Promise<boolean>;
  },
  deps: { store: RunStore },
): Promise<void> {
  const { cluster, tenant, entityRef } = request;
  const refusal = `Tenant ${tenant} may not name ${entityRef}`;
  await checkTenantEntityUnclaimed(request, owner, caller, deps, refusal);
  if (!caller.readEntity) {
    throw new NotAllowedError(
      `${refusal}: the catalog cannot be read here, so whose entity it is is unknown`,
    );
  }
  const catalogDown = (e: unknown) =>
    new ServiceUnavailableError(
      `${refusal} now: the catalog could not be read to learn whose entity it is (${
        e instanceof Error ? e.message : String(e)
      }); try again later`,
    );
  let entity: Entity | undefined;
  try {
    entity = await readCatalog(caller.readEntity, entityRef);
  } catch (e) {
    throw catalogDown(e);
  }
  if (!entity) {
    // Not in the catalog (yet): the tenant provider creates it, owned by the tenant's owner. But an
    // entity the catalog's permissions hide from the caller reads as absent too: it is another
    // team's, and naming it would put this tenant's runs into its deployment history.
    if (!caller.entityExists) {
      throw new NotAllowedError(
        `${refusal}: ${caller.ownershipRefs[0]} cannot see it in the catalog, and whether it exists cannot be checked here`,
      );
    }
    let hidden: boolean;
    try {
      hidden = await readCatalog(caller.entityExists, entityRef);
    } catch (e) {
      throw catalogDown(e);
    }
    if (hidden && !caller.isTenantAdmin) {
      throw new NotAllowedError(
        `${refusal}: the catalog has that entity and ${caller.ownershipRefs[0]} may not see it, so ${caller.ownershipRefs[0]} cannot be shown to own it`,
      );
    }
    return;
  }
  if (existing && live(existing) && isTenantsEntity(entity, tenant, cluster))
    return;
  if (caller.isTenantAdmin) return;
  const entityOwnerRef = ownerOf(entity);
  if (!entityOwnerRef) {
    throw new NotAllowedError(
      `${refusal}: that entity has no owner in the catalog, so ${caller.ownershipRefs[0]} cannot be shown to own it`,
    );
  }
  if (caller.ownershipRefs.includes(entityOwnerRef)) return;
  throw new NotAllowedError(
    `${refusal}: that entity is owned by ${entityOwnerRef}, and ${caller.ownershipRefs[0]} is not a member of it (naming another team's entity puts this tenant's runs into its deployment history)`,
  );
}

/**
 * ConflictError (409) when the catalog already has the System a tenant without an entityRef gets
 * (`entityRef`, named by its code) and it is another team's: the tenant provider would give the
 * catalog a second entity with that ref, which the catalog drops (the System registered first keeps
 * it) or, for an entity registered without a location key, puts in its place, owned by the tenant's
 * owner. Passes when the catalog has no such System; when it is the entity the tenant provider made
 * for this live tenant (annotated `kubechart.io/tenant` and `kubechart.io/cluster`: who may change
 * that tenant is `checkTenantOwnership`'s question); when the caller acts for its owner, as for an
 * entity a tenant names; and for a tenants admin, who may hand an entity over.
 * `catalog` reads it as the plugin sees it (so a System hidden from the caller, or a run relayed for a
 * user whose view cannot be read, still counts); the refusal names the System's owner only when the
 * caller's own view (`caller.readEntity`) shows it. ServiceUnavailableError (503) when the catalog
 * cannot be read.
 */
export async function checkTenantSystemInCatalog(
  request: { cluster: string; tenant: string; entityRef: string },
  existing: TenantRecord | undefined,
  caller: {
    ownershipRefs: string[];
    isTenantAdmin: boolean;
    readEntity?: EntityReader;
  },
  catalog: EntityReader,
  refusal: string,
): Promise<void> {
  const { cluster, tenant, entityRef } = request;
  let entity: Entity | undefined;
  try {
    entity = await readCatalog(catalog, entityRef);
  } catch (e) {
    throw new ServiceUnavailableError(
      `${refusal} now: the catalog could not be read to learn whether it has that System (${
        e instanceof Error ? e.message : String(e)
      }); try again later`,
    );
  }
  if (!entity) return;
  if (existing && live(existing) && isTenantsEntity(entity, tenant, cluster))
    return;
  if (caller.isTenantAdmin) return;
  const entityOwnerRef = ownerOf(entity);
  if (entityOwnerRef && caller.ownershipRefs.includes(entityOwnerRef)) return;
  const who = caller.ownershipRefs[0];
  // Named only to a caller who sees it; a failed read names nothing.
  const seen = await caller.readEntity?.(entityRef).catch(() => undefined);
  const whose =
    seen && entityOwnerRef
      ? `owned by ${entityOwnerRef}, and ${who} is not a member of it`
      : `and ${who} cannot be shown to own it`;
  throw new ConflictError(
    `${refusal}: the catalog already has that System, ${whose}; give an entityRef, or another tenant code`,
  );
}
