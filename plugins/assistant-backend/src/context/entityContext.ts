import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import { entityOwnerRef } from '@kubechart/plugin-audit-log-common';
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

/** Where an entity's workloads run, from its Kubernetes annotations. */
export function scopeFromEntity(entity: Entity): EntityScope {
  const annotations = entity.metadata.annotations ?? {};
  const id = annotations[KUBERNETES_ANNOTATION];
  const selector = annotations[KUBERNETES_LABEL_SELECTOR_QUERY_ANNOTATION];
  const owner = entityOwnerRef(entity);
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
