import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  CreateRunRequest,
  KUBECHART_TENANT_LABEL,
  PolicyReport,
  PolicyResult,
  tenantNamespace,
} from '@kubechart/plugin-kubechart-common';
import type {
  KubeObject,
  NamespacedLookup,
  PolicyScope,
  ProtectedObject,
} from '@kubechart/plugin-kubechart-node';
import { RunStore, TenantRecord } from '../database/RunStore';
import { EntityReader, resolveEntityNamespace } from './entityScope';
import { RunFailure } from './errors';
import { EngineSettings } from './settings';

/** Who starts a run, as far as its scope is concerned. Computed by the caller of the engine (the router). */
export type RunCaller = {
  /** Entity refs the caller acts for: the user and the groups the user belongs to (Backstage ownership refs). */
  ownershipRefs: string[];
  /** Holds `kubechart.runs.cluster-scoped`: may apply the cluster-scoped kinds the cluster allows. */
  mayApplyClusterScoped: boolean;
  /** Holds `kubechart.tenants.admin`: may update or delete tenants owned by others. */
  isTenantAdmin: boolean;
  /**
   * The catalog as the caller sees it: the scope of a chart or manifests run for an entity comes
   * from that entity's annotations. Without it such runs are refused.
   */
  readEntity?: EntityReader;
  /**
   * Whether the catalog holds an entity at all, read with the plugin's own credentials: an entity
   * the caller cannot see is told from one that does not exist. Without it, a tenant may not name
   * an entity the caller cannot see.
   */
  entityExists?: (entityRef: string) => Promise<boolean>;
  /**
   * Whether the caller may read a tenant (`kubechart.tenants.read`, as `GET /tenants` lists it): a
   * refusal names another owner's tenant, and that owner, only to a caller who may read it. Without
   * it, none is named.
   */
  mayReadTenant?: (tenant: TenantRecord) => Promise<boolean>;
  /**
   * Whether the caller may read every tenant (an ALLOW of `kubechart.tenants.read`, under which
   * cluster health names every namespace): a refusal names the owner a namespace is assigned to in
   * `kubechart.clusters.<name>.namespaces` only to such a caller. Without it, none is named.
   */
  mayReadEveryTenant?: () => Promise<boolean>;
};

/**
 * Whom a run's message about a tenant is for, as far as naming another tenant or its owner goes:
 * the owners it acts for (`ownershipRefs`) and, as in {@link RunCaller}, the tenants it may read. A
 * run's messages are for its requester. Without these (a run started without its requester: a
 * kept approved run), no other tenant and no owner beyond `ownershipRefs` is named.
 */
export type TenantNaming = Pick<
  RunCaller,
  'mayReadTenant' | 'mayReadEveryTenant'
> & { ownershipRefs?: string[] };

/** What a message about another tenant may name to a run's caller (see {@link TenantNaming}). */
export const tenantNamingOf = (caller: RunCaller): TenantNaming => ({
  ownershipRefs: caller.ownershipRefs,
  ...(caller.mayReadTenant ? { mayReadTenant: caller.mayReadTenant } : {}),
  ...(caller.mayReadEveryTenant
    ? { mayReadEveryTenant: caller.mayReadEveryTenant }
    : {}),
});

/**
 * Whether a message for `naming` may name `tenant` (undefined: a tenant without a live record, such
 * as a label's value only) and its owner. Fails closed: a permission check that fails names nothing.
 */
export async function mayNameTenant(
  naming: TenantNaming | undefined,
  tenant: TenantRecord | undefined,
): Promise<boolean> {
  try {
    if (await naming?.mayReadEveryTenant?.()) return true;
    return !!tenant && !!(await naming?.mayReadTenant?.(tenant));
  } catch {
    return false;
  }
}

/**
 * Whether a message for `naming` may name the tenant whose code is `code` on `cluster` (a label's
 * value): one with a record the caller may read, or any to a caller who may read every tenant.
 */
export function tenantCodeNamer(
  naming: TenantNaming | undefined,
  cluster: string,
  store: Pick<RunStore, 'getTenants'>,
): (code: string) => Promise<boolean> {
  return async code => {
    if (!naming?.mayReadTenant && !naming?.mayReadEveryTenant) return false;
    const tenant = (await store.getTenants(code)).find(
      t => t.code === code && t.cluster === cluster,
    );
    return mayNameTenant(naming, tenant);
  };
}

/**
 * The refusal of a namespace the caller may not deploy to, for a caller who may not learn whose it
 * is: the same words for a tenant's namespace and one assigned in config.
 */
const notYourNamespace = (namespace: string, cluster: string) =>
  new NotAllowedError(
    `Namespace ${namespace} on cluster ${cluster} is not one you may deploy to; runs there need membership of its owner`,
  );

/** A caller with no permissions beyond `kubechart.runs.create`, owning only through its own ref. */
export const plainCaller = (actor: string): RunCaller => ({
  ownershipRefs: [actor],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
});

/** What a run may touch, resolved on the server before anything is applied. */
export type RunScope = {
  cluster: string;
  /** The namespaces objects may be in (one today: the tenant's, or the owned namespace). */
  namespaces: string[];
  /** Where objects without a namespace go. */
  defaultNamespace: string;
  /** `<group>/<Kind>` of cluster-scoped kinds the run may apply (empty unless allowed and permitted). */
  allowedClusterScopedKinds: string[];
  /** The tenant whose namespace this is, when it is one. */
  tenant?: string;
  /**
   * For a chart, manifests or rollback run for an entity: the entity's owner as the scope check read
   * it from the catalog (recorded on the run, see `NewRun.entityOwner`).
   */
  entityOwner?: string;
  /** Why the run has this scope, for the run log. */
  reason: string;
};

const live = (t: TenantRecord) => t.status !== 'deleted';

/**
 * Resolves a run's scope, or throws NotAllowedError (403) when the target namespace is not one the
 * caller may deploy to: a tenant namespace the caller owns (directly or through a group), or a
 * namespace the platform team assigned to an owner in `kubechart.clusters.<name>.namespaces`.
 * A chart, manifests or rollback run for an entity (`entityRef`) may deploy only to a namespace that
 * entity may deploy to, read from the catalog with the caller's credentials (see `resolveEntityNamespace`).
 * Tenant runs are scoped to their own namespace; their ownership is checked by `checkTenantOwnership`.
 * A tenant run on a namespace the platform assigned to an owner the caller does not act for is
 * refused (403) unless the caller is a tenants admin, and a `tenant-delete` of a tenant with no live
 * record on the cluster is refused (NotFoundError, 404): it would delete a namespace KubeChart does not own.
 */
export async function resolveRunScope(
  request: CreateRunRequest,
  caller: RunCaller,
  deps: { store: RunStore; settings: EngineSettings },
): Promise<RunScope> {
  const { cluster } = request;
  const allowedKinds = caller.mayApplyClusterScoped
    ? deps.settings.allowedClusterScopedKinds[cluster] ?? []
    : [];
  if (request.kind === 'tenant' || request.kind === 'tenant-delete') {
    const namespace = tenantNamespace(request.tenant);
    const assigned = deps.settings.namespaceOwners[cluster]?.[namespace];
    if (
      assigned &&
      !caller.isTenantAdmin &&
      !caller.ownershipRefs.includes(assigned)
    ) {
      throw new NotAllowedError(
        (await caller.mayReadEveryTenant?.())
          ? `Namespace ${namespace} on cluster ${cluster} is assigned to ${assigned} in kubechart.clusters.${cluster}.namespaces; ` +
            `a tenant run there needs membership of that owner or the kubechart.tenants.admin permission`
          : `Namespace ${namespace} on cluster ${cluster} is assigned to an owner in kubechart.clusters.${cluster}.namespaces; ` +
            `a tenant run there needs membership of that owner or the kubechart.tenants.admin permission`,
      );
    }
    if (request.kind === 'tenant-delete') {
      const tenant = (await deps.store.getTenants(request.tenant)).find(
        t => t.code === request.tenant && t.cluster === cluster && live(t),
      );
      if (!tenant) {
        throw new NotFoundError(
          `Tenant ${request.tenant} does not exist on cluster ${cluster}; there is nothing to delete ` +
            `(a tenant-delete run deletes only namespaces of live KubeChart tenants)`,
        );
      }
    }
    return {
      cluster,
      namespaces: [namespace],
      defaultNamespace: namespace,
      allowedClusterScopedKinds: [],
      tenant: request.tenant,
      reason: `tenant ${request.tenant}`,
    };
  }
  const namespace = request.namespace;
  if (
    (request.kind === 'chart' ||
      request.kind === 'manifests' ||
      request.kind === 'rollback') &&
    request.entityRef
  ) {
    const entityRef = request.entityRef;
    const allowed = await resolveEntityNamespace(
      { cluster, namespace, entityRef },
      caller,
      deps,
    );
    return {
      cluster,
      namespaces: [namespace],
      defaultNamespace: namespace,
      allowedClusterScopedKinds: allowedKinds,
      ...(allowed.tenant ? { tenant: allowed.tenant } : {}),
      entityOwner: allowed.owner,
      reason: `namespace ${namespace} of ${entityRef} (${allowed.why})`,
    };
  }
  const tenant = (await deps.store.getTenants()).find(
    t => t.cluster === cluster && t.namespace === namespace && live(t),
  );
  const base = {
    cluster,
    namespaces: [namespace],
    defaultNamespace: namespace,
    allowedClusterScopedKinds: allowedKinds,
  };
  if (tenant) {
    if (tenant.owner && caller.ownershipRefs.includes(tenant.owner)) {
      return {
        ...base,
        tenant: tenant.code,
        reason: `namespace ${namespace} of tenant ${tenant.code}, owned by ${tenant.owner}`,
      };
    }
    if (!(await caller.mayReadTenant?.(tenant)))
      throw notYourNamespace(namespace, cluster);
    throw new NotAllowedError(
      `Namespace ${namespace} on cluster ${cluster} belongs to tenant ${
        tenant.code
      }, owned by ${tenant.owner ?? 'nobody'}; ` +
        `runs there need membership of that owner`,
    );
  }
  const owner = deps.settings.namespaceOwners[cluster]?.[namespace];
  if (owner && caller.ownershipRefs.includes(owner)) {
    return {
      ...base,
      reason: `namespace ${namespace}, assigned to ${owner} in kubechart.clusters.${cluster}.namespaces`,
    };
  }
  if (owner) {
    if (!(await caller.mayReadEveryTenant?.()))
      throw notYourNamespace(namespace, cluster);
    throw new NotAllowedError(
      `Namespace ${namespace} on cluster ${cluster} is assigned to ${owner}; runs there need membership of that owner`,
    );
  }
  throw new NotAllowedError(
    `Namespace ${namespace} on cluster ${cluster} is neither a kubechart tenant nor assigned to an owner in ` +
      `kubechart.clusters.${cluster}.namespaces; runs may only deploy to namespaces their caller owns`,
  );
}

/**
 * Refuses re-submitting (or deleting) an existing tenant by anyone but its owner, unless the caller
 * holds `kubechart.tenants.admin`. Returns the existing record (undefined for a new tenant).
 */
export function checkTenantOwnership(
  existing: TenantRecord | undefined,
  caller: RunCaller,
): TenantRecord | undefined {
  if (!existing || !live(existing)) return undefined;
  if (caller.isTenantAdmin) return existing;
  if (existing.owner && caller.ownershipRefs.includes(existing.owner))
    return existing;
  return undefined;
}

/**
 * Refuses (ConflictError, 409) a run on a live tenant the caller may not change: one owned by
 * someone else, unless the caller holds `kubechart.tenants.admin` (see {@link checkTenantOwnership}).
 * The refusal names the tenant's owner only to a caller who may read the tenant
 * (`RunCaller.mayReadTenant`); anyone else learns that the tenant code is taken.
 */
export async function refuseOthersTenant(
  request: { tenant: string },
  existing: TenantRecord | undefined,
  caller: RunCaller,
): Promise<void> {
  if (!existing || !live(existing) || checkTenantOwnership(existing, caller))
    return;
  if (await caller.mayReadTenant?.(existing)) {
    throw new ConflictError(
      `tenant ${request.tenant} exists and is owned by ${
        existing.owner ?? 'nobody'
      }`,
    );
  }
  throw new ConflictError(
    `tenant ${request.tenant} exists and is owned by someone you do not act for`,
  );
}

/**
 * The owner a tenant has once a run on it starts: the owner the request names, else the live
 * tenant's owner, else (a new tenant without an owner) whoever started the run.
 */
export function tenantOwnerAfter(
  request: CreateRunRequest,
  existing: TenantRecord | undefined,
  actor: string,
): string {
  return (
    (request.kind === 'tenant' ? request.owner : undefined) ??
    (existing && live(existing) ? existing.owner : undefined) ??
    actor
  );
}

/**
 * Refuses (NotAllowedError, 403) a tenant run that creates a tenant (or re-creates a deleted one)
 * owned by someone the caller does not act for, or moves a tenant to such an owner: the owner must
 * be one of the caller's ownership refs (the user or one of its groups) unless the caller holds
 * `kubechart.tenants.admin`. Otherwise anyone could create tenants in another team's name and pick
 * the `owner` approver of their own runs. Who may change an existing tenant at all is
 * `checkTenantOwnership`'s question.
 */
export function checkRequestedTenantOwner(
  request: CreateRunRequest,
  existing: TenantRecord | undefined,
  caller: RunCaller,
  actor: string,
): void {
  if (request.kind !== 'tenant') return;
  const owner = tenantOwnerAfter(request, existing, actor);
  const current = existing && live(existing) ? existing.owner : undefined;
  if (existing && live(existing) && owner === current) return;
  if (caller.isTenantAdmin || caller.ownershipRefs.includes(owner)) return;
  const what =
    existing && live(existing)
      ? `move tenant ${request.tenant} from ${
          current ?? 'no owner'
        } to ${owner}`
      : `create tenant ${request.tenant} owned by ${owner}`;
  throw new NotAllowedError(
    `You may not ${what}: a tenant's owner must be you or a group you belong to (${caller.ownershipRefs.join(
      ', ',
    )}); giving a tenant another owner needs the kubechart.tenants.admin permission`,
  );
}

/** What a tenant run saw of its tenant when it was requested, to compare with when it starts. */
export type TenantSnapshot = { live: boolean; owner?: string };

/** The snapshot of a tenant record (undefined: no tenant). */
export function tenantSnapshot(
  existing: TenantRecord | undefined,
): TenantSnapshot {
  return existing && live(existing)
    ? { live: true, ...(existing.owner ? { owner: existing.owner } : {}) }
    : { live: false };
}

/**
 * Whether a tenant is no longer as a run's request found it (`then`): created, deleted or moved to
 * another owner since. A run requested before the snapshot was kept (`then` undefined) counts as changed.
 */
export function tenantChanged(
  then: TenantSnapshot | undefined,
  now: TenantRecord | undefined,
): boolean {
  if (!then) return true;
  const current = tenantSnapshot(now);
  return current.live !== then.live || current.owner !== then.owner;
}

/**
 * How a tenant changed since a run on it was requested (`then`), as the start of a failure reason:
 * a tenant created, deleted or moved to another owner meanwhile. Undefined when it is as it was. A
 * run requested before the snapshot was kept (`then` undefined) cannot be compared: it counts as changed.
 * An owner is named only to whom the reason is for (`naming`, see {@link TenantNaming}) when it acts
 * for that owner or may read the tenant; otherwise it reads "another owner".
 */
export async function describeTenantChange(
  request: { tenant: string; cluster: string },
  then: TenantSnapshot | undefined,
  now: TenantRecord | undefined,
  naming?: TenantNaming,
): Promise<string | undefined> {
  const what = `Tenant ${request.tenant} on cluster ${request.cluster}`;
  if (!then) {
    return `${what} cannot be compared with what it was when this run was requested (the request predates that record)`;
  }
  if (!tenantChanged(then, now)) return undefined;
  const current = tenantSnapshot(now);
  const readable = await mayNameTenant(naming, now);
  const owner = (o?: string) => {
    if (o === undefined) return 'nobody';
    return readable || naming?.ownershipRefs?.includes(o) ? o : 'another owner';
  };
  const was = then.live
    ? `it was owned by ${owner(then.owner)}`
    : 'it did not exist then';
  let is = 'has been deleted since';
  if (current.live)
    is = then.live
      ? `is now owned by ${owner(current.owner)}`
      : `now exists, owned by ${owner(current.owner)}`;
  return `${what} changed after this run was requested: ${was}, and ${is}`;
}

/**
 * A tenant run refused because its namespace exists and was not created by KubeChart for its
 * tenant (another team's namespace, or one made by hand): nothing in it was changed.
 */
export class ForeignNamespaceError extends RunFailure {}

/**
 * Refuses (ForeignNamespaceError) a `tenant` or `tenant-delete` run whose namespace exists without
 * the label `kubechart.io/tenant=<tenant>` that KubeChart puts on the namespaces it creates for a
 * tenant: such a run would relabel the namespace and bind the tenant's deployer in it, or delete it.
 * Namespaces are cluster-scoped, so only a cluster admin can set that label: that is how one hands a
 * namespace to KubeChart. `current` is the Namespace as read (undefined when absent). The tenant the
 * label names instead is named only when `mayName` says its caller may learn of it (default: never).
 */
export async function checkTenantNamespace(
  current: { metadata?: { labels?: Record<string, string> } } | undefined,
  target: { cluster: string; namespace: string; tenant: string },
  kind: 'tenant' | 'tenant-delete',
  mayName: (code: string) => Promise<boolean> = async () => false,
): Promise<void> {
  if (!current) return;
  const { cluster, namespace, tenant } = target;
  const label = current.metadata?.labels?.[KUBECHART_TENANT_LABEL];
  if (label === tenant) return;
  let why = `it has no ${KUBECHART_TENANT_LABEL} label`;
  if (label)
    why = (await mayName(label))
      ? `it is labelled ${KUBECHART_TENANT_LABEL}=${label}`
      : `it is labelled ${KUBECHART_TENANT_LABEL} for another tenant`;
  const wanted = `${KUBECHART_TENANT_LABEL}=${tenant}`;
  const what =
    kind === 'tenant'
      ? `nothing was changed. Choose another tenant code, or, if KubeChart is to manage this namespace as tenant ${tenant}, ` +
        `a cluster admin labels it ${wanted} and the tenant run is submitted again.`
      : `nothing was deleted. A tenant-delete run deletes only the namespace KubeChart created for the tenant; ` +
        `if this is it, a cluster admin labels it ${wanted} and the run is submitted again.`;
  throw new ForeignNamespaceError(
    `Namespace ${namespace} on cluster ${cluster} exists and was not created by KubeChart for tenant ${tenant} (${why}); ${what}`,
  );
}

/** `<group>/<Kind>` of an object, `""` group for core. */
export const groupKind = (apiVersion: string, kind: string) =>
  `${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}`;

const ref = (o: KubeObject, namespace?: string): PolicyResult['object'] => ({
  apiVersion: o.apiVersion,
  kind: String(o.kind),
  name: String(o.metadata?.name ?? ''),
  ...(namespace ? { namespace } : {}),
});

const refused = (
  o: KubeObject,
  ruleId: string,
  message: string,
  fix: string,
  namespace?: string,
): PolicyResult => ({
  ruleId,
  severity: 'error',
  passed: false,
  object: ref(o, namespace),
  message,
  fix,
});

/**
 * The tenant resources every tenant run keeps in its namespace, by kind and name: the quota, the
 * limit range and the default-deny NetworkPolicy. Protected in every namespace a run writes to (a
 * chart may not write objects of these kinds and names anywhere), whether it is a tenant's or not.
 */
export const BUILTIN_TENANT_RESOURCES: ReadonlyArray<{
  kind: string;
  name: string;
}> = [
  { kind: 'ResourceQuota', name: 'kubechart-quota' },
  { kind: 'LimitRange', name: 'kubechart-limits' },
  { kind: 'NetworkPolicy', name: 'kubechart-default-deny' },
];

/**
 * The scope in the form the chart policy's `run-scope` rule takes, with the cluster's discovery
 * answering which kinds are namespaced. `protectedObjects` are the tenant resources of the run's
 * namespaces beyond the built-in ones (a tenant resource provider's objects), which the rule refuses
 * to let a chart, hook or manifest replace.
 */
export function toPolicyScope(
  scope: Pick<
    RunScope,
    'namespaces' | 'defaultNamespace' | 'allowedClusterScopedKinds'
  >,
  isNamespaced: NamespacedLookup,
  protectedObjects: ProtectedObject[] = [],
): PolicyScope {
  return {
    namespaces: scope.namespaces,
    defaultNamespace: scope.defaultNamespace,
    allowedClusterScopedKinds: scope.allowedClusterScopedKinds,
    isNamespaced,
    protectedObjects: [
      ...scope.namespaces.flatMap(namespace =>
        BUILTIN_TENANT_RESOURCES.map(r => ({ ...r, namespace })),
      ),
      ...protectedObjects,
    ],
  };
}

/**
 * The `object-ownership` rule of manifests runs, which apply with force: an object that already
 * exists must not belong to another tenant, a Helm release or another server-side-apply manager,
 * or the forced apply would take it over. `current` reads the live object (undefined when absent).
 * The other tenant is named only when `mayName` says the run's caller may learn of it (default:
 * never), and a Helm release only when it is released in one of the run's namespaces.
 */
export async function objectOwnershipResults(
  objects: KubeObject[],
  scope: RunScope,
  current: (o: KubeObject) => Promise<any | undefined>,
  fieldManager = 'kubechart',
  mayName: (code: string) => Promise<boolean> = async () => false,
): Promise<PolicyResult[]> {
  const out: PolicyResult[] = [];
  for (const o of objects) {
    const existing = await current(o);
    if (!existing) continue;
    const labels: Record<string, string> = existing.metadata?.labels ?? {};
    const annotations: Record<string, string> =
      existing.metadata?.annotations ?? {};
    const tenant = labels[KUBECHART_TENANT_LABEL];
    const release = annotations['meta.helm.sh/release-name'];
    const releaseNamespace = annotations['meta.helm.sh/release-namespace'];
    const managedBy = labels['app.kubernetes.io/managed-by'];
    const appliers = (
      (existing.metadata?.managedFields ?? []) as Array<{
        manager?: string;
        operation?: string;
        subresource?: string;
      }>
    )
      .filter(
        m =>
          m.operation === 'Apply' &&
          !m.subresource &&
          m.manager &&
          m.manager !== fieldManager,
      )
      .map(m => m.manager!);
    let why: string | undefined;
    if (tenant && tenant !== scope.tenant)
      why = (await mayName(tenant))
        ? `it belongs to tenant ${tenant}`
        : 'it belongs to another tenant';
    else if (annotations['kubechart.io/tenant-resource'] === 'true')
      why = `it is a tenant resource KubeChart keeps (only tenant runs change it)`;
    else if (release)
      why =
        !releaseNamespace || scope.namespaces.includes(releaseNamespace)
          ? `it is managed by Helm release ${release}`
          : 'it is managed by a Helm release of another namespace';
    else if (managedBy && managedBy !== 'kubechart')
      why = `it is managed by ${managedBy}`;
    else if (appliers.length)
      why = `its fields are applied by ${[...new Set(appliers)].join(', ')}`;
    if (why) {
      out.push(
        refused(
          o,
          'object-ownership',
          `${o.kind}/${o.metadata?.name} already exists and ${why}; a forced apply would take it over`,
          'change it through its owner, or choose another name',
          existing.metadata?.namespace,
        ),
      );
    }
  }
  return out;
}

/**
 * Adds the engine's own refusals to a policy report. They block whatever the policy mode, because
 * they guard the run's scope rather than a chart's quality.
 */
export function withRefusals(
  report: PolicyReport,
  refusals: PolicyResult[],
): PolicyReport {
  if (refusals.length === 0) return report;
  const results = [...refusals, ...report.results];
  const errors = results.filter(
    r => !r.passed && r.severity === 'error',
  ).length;
  return {
    ...report,
    passed: false,
    blocking: true,
    summary: { ...report.summary, errors },
    results,
  };
}
