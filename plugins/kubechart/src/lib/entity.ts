import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  KUBECHART_CLUSTER_ANNOTATION,
  KUBECHART_NAMESPACE_ANNOTATION,
  KUBECHART_RELEASE_ANNOTATION,
  KUBECHART_TENANT_ANNOTATION,
} from '@kubechart/plugin-kubechart-common';

/** The core Kubernetes plugin's annotation. */
export const KUBERNETES_ID_ANNOTATION = 'backstage.io/kubernetes-id';

const KUBECHART_ANNOTATIONS = [
  KUBECHART_CLUSTER_ANNOTATION,
  KUBECHART_TENANT_ANNOTATION,
  KUBECHART_RELEASE_ANNOTATION,
  KUBECHART_NAMESPACE_ANNOTATION,
];

/**
 * True when the entity carries a kubechart annotation or `backstage.io/kubernetes-id`,
 * i.e. when the deployment-history tab and the health card have something to show.
 * @public
 */
export function isKubechartAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return [...KUBECHART_ANNOTATIONS, KUBERNETES_ID_ANNOTATION].some(
    name => !!annotations[name],
  );
}

/** What an entity's annotations point to. */
export type KubechartTargets = {
  entityRef: string;
  /** Cluster names from `kubechart.io/cluster` (comma-separated allowed); empty means "all". */
  clusters: string[];
  tenant?: string;
};

/** Reads the kubechart annotations of an entity. */
export function getKubechartTargets(entity: Entity): KubechartTargets {
  const annotations = entity.metadata.annotations ?? {};
  const clusters = (annotations[KUBECHART_CLUSTER_ANNOTATION] ?? '')
    .split(',')
    .map(c => c.trim())
    .filter(Boolean);
  return {
    entityRef: stringifyEntityRef(entity),
    clusters,
    tenant: annotations[KUBECHART_TENANT_ANNOTATION] || undefined,
  };
}
