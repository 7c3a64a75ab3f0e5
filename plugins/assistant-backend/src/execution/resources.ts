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
};
