import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  Entity,
  parseEntityRef,
  RELATION_OWNED_BY,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  KUBERNETES_ANNOTATION,
  KUBERNETES_LABEL_SELECTOR_QUERY_ANNOTATION,
} from '@backstage/plugin-kubernetes-common';
import { CatalogService } from '@backstage/plugin-catalog-node';

/** Namespace of an entity's workloads (read by the Kubernetes plugin too). */
export const KUBERNETES_NAMESPACE_ANNOTATION =
  'backstage.io/kubernetes-namespace';
/** Cluster an entity runs on, when the assistant should not use the default. */
export const KUBERNETES_CLUSTER_ANNOTATION = 'backstage.io/kubernetes-cluster';

export type EntityScope = {
  entityRef: string;
  /** The entity's owner (its `ownedBy` relation, else `spec.owner`), as an entity ref. */
  owner?: string;
  cluster?: string;
  namespace?: string;
  labelSelector?: string;
};

/** Who owns an entity: its `ownedBy` relation, else `spec.owner` (a group by default). */
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

/** Where an entity's workloads run, from its Kubernetes annotations. */
export function scopeFromEntity(entity: Entity): EntityScope {
  const annotations = entity.metadata.annotations ?? {};
  const id = annotations[KUBERNETES_ANNOTATION];
  const selector = annotations[KUBERNETES_LABEL_SELECTOR_QUERY_ANNOTATION];
  const owner = entityOwner(entity);
  return {
    entityRef: stringifyEntityRef(entity),
    ...(owner ? { owner } : {}),
    cluster: annotations[KUBERNETES_CLUSTER_ANNOTATION],
    namespace: annotations[KUBERNETES_NAMESPACE_ANNOTATION],
    labelSelector:
      selector ?? (id ? `${KUBERNETES_ANNOTATION}=${id}` : undefined),
  };
}

/** Looks the entity up with the user's own credentials. */
export async function resolveEntityScope(
  catalog: CatalogService,
  entityRef: string,
  credentials: BackstageCredentials,
): Promise<EntityScope> {
  let ref: string;
  try {
    ref = stringifyEntityRef(parseEntityRef(entityRef));
  } catch {
    throw new InputError(
      `entityRef "${entityRef}" is not a valid entity reference`,
    );
  }
  const entity = await catalog.getEntityByRef(ref, { credentials });
  if (!entity) {
    throw new NotFoundError(`Entity ${entityRef} not found`);
  }
  return scopeFromEntity(entity);
}
