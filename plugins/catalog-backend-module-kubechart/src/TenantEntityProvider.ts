import type {
  AuthService,
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
      tags: ['kubechart-tenant'],
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

/**
 * Keeps one catalog entity per KubeChart tenant, read from the kubechart backend on a schedule:
 * a provisioned tenant appears in the catalog, a deleted one disappears.
 * @public
 */
export class TenantEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;

  constructor(
    private readonly deps: {
      runs: KubechartRunsService;
      auth: AuthService;
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
        this.deps.logger.warn(
          `Skipped KubeChart tenant ${tenant.code} on ${
            tenant.cluster
          }: its entityRef ${JSON.stringify(
            tenant.entityRef,
          )} is unusable (${error})`,
        );
        continue;
      }
      const ref = `${entity.kind}:${entity.metadata.namespace}/${entity.metadata.name}`;
      const holder = tenantOf.get(ref);
      if (holder && holder.owner !== tenant.owner) {
        this.deps.logger.warn(
          `Skipped KubeChart tenant ${tenant.code} on ${
            tenant.cluster
          }: its entity ${ref.toLocaleLowerCase('en-US')} is tenant ${
            holder.code
          } on ${holder.cluster}, owned by ${
            holder.owner ?? 'nobody'
          }, not by ${tenant.owner ?? 'nobody'}`,
        );
        continue;
      }
      tenantOf.set(ref, tenant);
      byRef.set(ref, entity);
    }
    await this.connection.applyMutation({
      type: 'full',
      entities: [...byRef.values()].map(entity => ({
        entity,
        locationKey: `${this.getProviderName()}`,
      })),
    });
    this.deps.logger.debug(`Provided ${byRef.size} tenant entities`);
  }
}
