import { PlanResource } from '@kubechart/plugin-assistant-common';

/** API version and kind of each plan resource. */
export const RESOURCE_TYPES: Record<
  PlanResource,
  { apiVersion: string; kind: string }
> = {
  pods: { apiVersion: 'v1', kind: 'Pod' },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment' },
  replicasets: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  statefulsets: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  daemonsets: { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  jobs: { apiVersion: 'batch/v1', kind: 'Job' },
  cronjobs: { apiVersion: 'batch/v1', kind: 'CronJob' },
  services: { apiVersion: 'v1', kind: 'Service' },
  endpoints: { apiVersion: 'v1', kind: 'Endpoints' },
  ingresses: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap' },
  secrets: { apiVersion: 'v1', kind: 'Secret' },
  persistentvolumeclaims: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  horizontalpodautoscalers: {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
  },
  resourcequotas: { apiVersion: 'v1', kind: 'ResourceQuota' },
  limitranges: { apiVersion: 'v1', kind: 'LimitRange' },
  events: { apiVersion: 'v1', kind: 'Event' },
  nodes: { apiVersion: 'v1', kind: 'Node' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace' },
  networkpolicies: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
  },
  endpointslices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  poddisruptionbudgets: {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
  },
  serviceaccounts: { apiVersion: 'v1', kind: 'ServiceAccount' },
  roles: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  rolebindings: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
  },
  clusterroles: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
  },
  clusterrolebindings: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
  },
  customresourcedefinitions: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
  },
  persistentvolumes: { apiVersion: 'v1', kind: 'PersistentVolume' },
};
