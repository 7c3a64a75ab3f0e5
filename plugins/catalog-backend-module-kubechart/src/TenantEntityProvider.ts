import type {
  AuditorService,
  AuthService,
  BackstageCredentials,
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  Entity,
  parseEntityRef,
} from '@backstage/catalog-model';
import type {
  CatalogService,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import {
  KUBECHART_CLUSTER_ANNOTATION,
  KUBECHART_TENANT_ANNOTATION,
  KUBECHART_TENANT_LABEL,
  type Tenant,
} from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';

/** Owner of tenant entities whose tenant run named none. */
export const DEFAULT_TENANT_OWNER = 'group:default/platform-team';

/**
 * The kinds a tenant's entity may have. A tenant run names its entity, so any other kind (a User,
 * Group, Location or Template) would let a portal user put such an entity into the catalog.
 */
export const TENANT_ENTITY_KINDS = ['Component', 'System', 'Resource'] as const;

/** The tag of every tenant entity: the catalog can filter on it (not on an annotation's prefix). */
const TENANT_ENTITY_TAG = 'kubechart-tenant';

/**
 * The catalog entity of a tenant: the entity its tenant run named (a System by default), annotated
 * so that the Kubernetes tab, the deployment-history tab and the health card find its workloads.
 * Throws for an `entityRef` that is not an entity ref or names a kind other than
 * {@link TENANT_ENTITY_KINDS}.
 */
export function tenantToEntity(tenant: Tenant, providerName: string): Entity {
  const ref = parseEntityRef(tenant.entityRef ?? tenant.code, {
    defaultKind: 'System',
    defaultNamespace: 'default',
  });
  if (
    !TENANT_ENTITY_KINDS.some(
      k => k.toLocaleLowerCase('en-US') === ref.kind.toLocaleLowerCase('en-US'),
    )
  ) {
    throw new Error(
      `a tenant's entity must be a ${TENANT_ENTITY_KINDS.join(', ')}, not a ${
        ref.kind
      }`,
    );
  }
  const location = `kubechart:${tenant.cluster}/${tenant.code}`;
  // Entity refs are case-insensitive; entities conventionally spell their kind capitalised.
  const kind =
    ref.kind.charAt(0).toLocaleUpperCase('en-US') + ref.kind.slice(1);
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      title: tenant.displayName || undefined,
      description: `KubeChart tenant ${tenant.code} on ${tenant.cluster} (namespace ${tenant.namespace})`,
      tags: [TENANT_ENTITY_TAG],
      annotations: {
        [ANNOTATION_LOCATION]: `${providerName}:${location}`,
        [ANNOTATION_ORIGIN_LOCATION]: `${providerName}:${location}`,
        [KUBECHART_TENANT_ANNOTATION]: tenant.code,
        [KUBECHART_CLUSTER_ANNOTATION]: tenant.cluster,
        // A tenant code is unique per cluster only: another owner may have the same code, so the
        // same namespace and label, on another cluster. Without this the Kubernetes tab would show
        // that tenant's workloads as this one's (honoured by the `singleTenant` service locator).
        'backstage.io/kubernetes-cluster': tenant.cluster,
        'backstage.io/kubernetes-namespace': tenant.namespace,
        'backstage.io/kubernetes-label-selector': `${KUBECHART_TENANT_LABEL}=${tenant.code}`,
      },
    },
    spec: {
      owner: tenant.owner || DEFAULT_TENANT_OWNER,
      ...(kind === 'Component'
        ? { type: 'service', lifecycle: 'production' }
        : {}),
      ...(kind === 'Resource' ? { type: 'kubernetes-namespace' } : {}),
    },
  };
}

/** At most this many entries of each list (added, removed, re-owned, skipped) are named in an audit event. */
export const MAX_AUDITED_TENANT_ENTITIES = 100;

/** At most this many characters of a tenant's entityRef or skip reason reach an audit event. */
const MAX_AUDITED_TEXT = 500;

/** What the provider gives the catalog for one entity: who owns it, and which tenant it is. */
type AppliedEntity = { ref: string; owner: string; tenant: string };

/** A tenant the provider left out of the catalog, and why. */
type SkippedTenant = {
  tenant: string;
  entityRef: string | null;
  reason: string;
};

function bounded(text: string): string {
  return text.length > MAX_AUDITED_TEXT
    ? `${text.slice(0, MAX_AUDITED_TEXT)}…`
    : text;
}

/** The first {@link MAX_AUDITED_TENANT_ENTITIES} of `items`, sorted, with their count. */
function listed<T>(name: string, items: T[], key: (item: T) => string) {
  return {
    [name]: [...items]
      .sort((a, b) => key(a).localeCompare(key(b)))
      .slice(0, MAX_AUDITED_TENANT_ENTITIES),
    [`${name}Count`]: items.length,
  };
}

/**
 * Keeps one catalog entity per KubeChart tenant, read from the kubechart backend on a schedule:
 * a provisioned tenant appears in the catalog, a deleted one disappears.
 *
 * The entities' owners decide who may do what with them (Backstage permissions), so every refresh
 * that changes what the provider gives the catalog is a `tenant-entities-changed` audit event,
 * recorded before the catalog is changed: the entities added, removed and re-owned, and the tenants
 * left out with why. It compares with the provider's entities that the catalog holds now (read with
 * the plugin's own credentials), not with what this process last applied: with several replicas,
 * any of them may have applied the last change. When the catalog cannot be read, the event says
 * so and lists what the refresh gives the catalog instead of a change it cannot know.
 * A change that cannot be recorded is not applied.
 * @public
 */
export class TenantEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;

  constructor(
    private readonly deps: {
      runs: KubechartRunsService;
      auth: AuthService;
      /** Reads the provider's entities that the catalog holds, to compare a refresh with. */
      catalog: Pick<CatalogService, 'getEntities'>;
      /** Records what each refresh changes in the catalog (the plugin is the actor). */
      auditor: AuditorService;
      logger: LoggerService;
      taskRunner: SchedulerServiceTaskRunner;
    },
  ) {}

  getProviderName() {
    return 'kubechart-tenants';
  }

  async connect(connection: EntityProviderConnection) {
    this.connection = connection;
    await this.deps.taskRunner.run({
      id: `${this.getProviderName()}:refresh`,
      // through refreshSoon: a scheduled refresh never runs beside one for a tenant change, whose
      // newer list it could otherwise overwrite with an older one
      fn: () => this.refreshSoon(),
    });
  }

  /** Whether the catalog has connected the provider (before, there is nothing to refresh). */
  isConnected(): boolean {
    return this.connection !== undefined;
  }

  private refreshing?: Promise<void>;
  private refreshAgain = false;
  /**
   * The tenants the last mutation this process applied left out (keyed by tenant and reason). The
   * catalog does not hold them, so another replica's skips are not known: a change in them alone
   * is an event when this process sees it.
   */
  private appliedSkips = new Set<string>();

  /**
   * A refresh as soon as possible, for a tenant that just changed: one refresh at a time; changes
   * that come while one runs are taken up by a single refresh after it. Never rejects.
   */
  refreshSoon(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const loop = async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.refresh();
        } catch (error) {
          this.deps.logger.warn(
            `Could not refresh KubeChart tenants: ${error}`,
          );
        }
      } while (this.refreshAgain);
    };
    this.refreshing = loop().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Replaces the provider's entities with the current tenants. */
  async refresh() {
    if (!this.connection) {
      throw new Error('TenantEntityProvider is not connected');
    }
    const credentials = await this.deps.auth.getOwnServiceCredentials();
    let tenants: Tenant[];
    try {
      tenants = await this.deps.runs.listTenants({ credentials });
    } catch (error) {
      // Keep what the catalog has; a passing outage of the kubechart backend must not delete tenants.
      this.deps.logger.warn(`Could not list KubeChart tenants: ${error}`);
      return;
    }
    const byRef = new Map<string, Entity>();
    const tenantOf = new Map<string, Tenant>();
    const skipped: SkippedTenant[] = [];
    const skip = (tenant: Tenant, reason: string) => {
      this.deps.logger.warn(
        `Skipped KubeChart tenant ${tenant.code} on ${tenant.cluster}: ${reason}`,
      );
      skipped.push({
        tenant: `${tenant.cluster}/${tenant.code}`,
        entityRef:
          tenant.entityRef === undefined ? null : bounded(tenant.entityRef),
        reason: bounded(reason),
      });
    };
    // The oldest first: when tenants of different owners map to one entity (the backend refuses
    // that since it checks a tenant's implicit entity too), the one that had it first keeps it.
    const oldestFirst = [...tenants].sort((a, b) =>
      (a.createdAt ?? '').localeCompare(b.createdAt ?? ''),
    );
    for (const tenant of oldestFirst) {
      let entity: Entity;
      try {
        entity = tenantToEntity(tenant, this.getProviderName());
      } catch (error) {
        // One tenant's unusable entityRef must not keep every other tenant out of the catalog.
        skip(
          tenant,
          `its entityRef ${JSON.stringify(
            tenant.entityRef,
          )} is unusable (${error})`,
        );
        continue;
      }
      // The catalog compares entity refs without regard to case: so do the holders.
      const ref =
        `${entity.kind}:${entity.metadata.namespace}/${entity.metadata.name}`.toLocaleLowerCase(
          'en-US',
        );
      const holder = tenantOf.get(ref);
      if (holder && holder.owner !== tenant.owner) {
        skip(
          tenant,
          `its entity ${ref} is tenant ${holder.code} on ${
            holder.cluster
          }, owned by ${holder.owner ?? 'nobody'}, not by ${
            tenant.owner ?? 'nobody'
          }`,
        );
        continue;
      }
      tenantOf.set(ref, tenant);
      byRef.set(ref, entity);
    }

    const entities = new Map<string, AppliedEntity>();
    for (const [ref, entity] of byRef) {
      const tenant = tenantOf.get(ref)!;
      entities.set(ref, {
        ref,
        owner: String(entity.spec?.owner),
        tenant: `${tenant.cluster}/${tenant.code}`,
      });
    }
    const skippedKeys = new Set(
      skipped.map(t => `${t.tenant}\n${t.entityRef}\n${t.reason}`),
    );
    const event = await this.auditChange(
      credentials,
      entities,
      skipped,
      skippedKeys,
    );
    try {
      await this.connection.applyMutation({
        type: 'full',
        entities: [...byRef.values()].map(entity => ({
          entity,
          locationKey: `${this.getProviderName()}`,
        })),
      });
    } catch (error) {
      await event?.fail({ error: error as Error });
      throw error;
    }
    this.appliedSkips = skippedKeys;
    await event?.success();
    this.deps.logger.debug(`Provided ${byRef.size} tenant entities`);
  }

  /**
   * The provider's entities that the catalog holds now, by lower-cased entity ref. Only entities
   * whose location is the provider's count: the catalog sets the location of an entity it read
   * from a location itself, so another source's entity cannot pass for a tenant's.
   */
  private async heldByCatalog(
    credentials: BackstageCredentials,
  ): Promise<Map<string, AppliedEntity>> {
    const { items } = await this.deps.catalog.getEntities(
      {
        filter: { 'metadata.tags': TENANT_ENTITY_TAG },
        fields: [
          'kind',
          'metadata.namespace',
          'metadata.name',
          'metadata.annotations',
          'spec.owner',
        ],
      },
      { credentials },
    );
    const held = new Map<string, AppliedEntity>();
    for (const entity of items) {
      const annotations = entity.metadata.annotations ?? {};
      if (
        !annotations[ANNOTATION_LOCATION]?.startsWith(
          `${this.getProviderName()}:`,
        )
      )
        continue;
      const ref = `${entity.kind}:${entity.metadata.namespace ?? 'default'}/${
        entity.metadata.name
      }`.toLocaleLowerCase('en-US');
      held.set(ref, {
        ref,
        owner: String(entity.spec?.owner),
        tenant: `${annotations[KUBECHART_CLUSTER_ANNOTATION]}/${annotations[KUBECHART_TENANT_ANNOTATION]}`,
      });
    }
    return held;
  }

  /**
   * Creates the `tenant-entities-changed` event for a mutation that changes what the catalog holds
   * from the provider (or the tenants it leaves out); undefined when it changes nothing. Throws
   * when the event cannot be created, so that an unrecorded change is not applied.
   */
  private async auditChange(
    credentials: BackstageCredentials,
    entities: Map<string, AppliedEntity>,
    skipped: SkippedTenant[],
    skippedKeys: Set<string>,
  ) {
    let before: Map<string, AppliedEntity>;
    try {
      before = await this.heldByCatalog(credentials);
    } catch (error) {
      // Fail closed: without the catalog's side, any added, removed or re-owned would be a guess.
      this.deps.logger.warn(
        `Could not read the KubeChart tenant entities the catalog holds, to audit a refresh: ${error}`,
      );
      return this.deps.auditor.createEvent({
        eventId: 'tenant-entities-changed',
        severityLevel: 'medium',
        meta: {
          comparedWithCatalog: false,
          catalogError: bounded(String(error)),
          entities: entities.size,
          ...listed('provided', [...entities.values()], e => e.ref),
          ...listed('skipped', skipped, t => t.tenant),
        },
      });
    }
    const added = [...entities.values()].filter(e => !before.has(e.ref));
    const removed = [...before.values()].filter(e => !entities.has(e.ref));
    const reowned = [...entities.values()].flatMap(e => {
      const was = before.get(e.ref);
      return was && was.owner !== e.owner
        ? [{ ref: e.ref, from: was.owner, to: e.owner, tenant: e.tenant }]
        : [];
    });
    const skipsChanged =
      skippedKeys.size !== this.appliedSkips.size ||
      [...skippedKeys].some(k => !this.appliedSkips.has(k));
    if (!added.length && !removed.length && !reowned.length && !skipsChanged)
      return undefined;
    return this.deps.auditor.createEvent({
      eventId: 'tenant-entities-changed',
      severityLevel: 'medium',
      meta: {
        comparedWithCatalog: true,
        entities: entities.size,
        ...listed('added', added, e => e.ref),
        ...listed('removed', removed, e => e.ref),
        ...listed('reowned', reowned, e => e.ref),
        ...listed('skipped', skipped, t => t.tenant),
      },
    });
  }
}
