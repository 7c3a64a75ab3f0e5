import {
  Entity,
  RELATION_OWNED_BY,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import {
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

/** A namespace an entity may deploy to, and why. */
type Allowed = { namespace: string; tenant?: string; why: string };

/** The entity's owner as a full entity ref (`group:default/team`), from its relations or `spec.owner`. */
export function entityOwner(entity: Entity): string | undefined {
  const related = entity.relations?.find(r => r.type === RELATION_OWNED_BY);
  if (related) return related.targetRef;
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || !owner) return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    );
  } catch {
    return undefined;
  }
}

const live = (t: TenantRecord) => t.status !== 'deleted';

/**
 * The namespaces a catalog entity may deploy to on a cluster, read from its annotations:
 * `kubechart.io/tenant` names a tenant, whose namespace it may use; `backstage.io/kubernetes-namespace`
 * and `kubechart.io/namespace` name a namespace. Each counts only when the record of that tenant or
 * namespace (a kubechart tenant, or `kubechart.clusters.<name>.namespaces`) lists the entity's owner
 * as its owner: anyone can write an annotation, only the platform assigns a namespace.
 * Also returns why each annotated namespace was not allowed.
 */
export async function namespacesOfEntity(
  entity: Entity,
  owner: string,
  cluster: string,
  deps: { store: RunStore; settings: EngineSettings },
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
        `${what}: tenant ${t.code} is owned by ${
          t.owner ?? 'nobody'
        }, not by the entity's owner ${owner}`,
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
    if (t) {
      if (t.owner === owner)
        allowed.push({
          namespace,
          tenant: t.code,
          why: `${what}, namespace of tenant ${t.code} owned by ${owner}`,
        });
      else
        refused.push(
          `${what}: namespace of tenant ${t.code}, owned by ${
            t.owner ?? 'nobody'
          }, not by the entity's owner ${owner}`,
        );
    } else if (assigned === owner) {
      allowed.push({
        namespace,
        why: `${what}, assigned to ${owner} in kubechart.clusters.${cluster}.namespaces`,
      });
    } else if (assigned) {
      refused.push(
        `${what}: assigned to ${assigned}, not to the entity's owner ${owner}`,
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
 * there and the caller acts for the entity's owner. Fails closed: no catalog, an entity the caller
 * cannot see, an entity without an owner or without a usable namespace annotation, or another
 * cluster than the entity's, are all refused with NotAllowedError (403) naming the reason.
 */
export async function resolveEntityNamespace(
  request: { cluster: string; namespace: string; entityRef: string },
  caller: { ownershipRefs: string[]; readEntity?: EntityReader },
  deps: { store: RunStore; settings: EngineSettings },
): Promise<Allowed> {
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
  const owner = entityOwner(entity);
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
  );
  const match = allowed.find(a => a.namespace === namespace);
  if (match) return match;
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
