import { KubeObject } from '../types';

/** A container that satisfies every built-in container rule. */
export const goodContainer = (name = 'app'): any => ({
  name,
  image: 'registry.example.com/team/app:1.2.3',
  imagePullPolicy: 'Always',
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  },
  resources: {
    requests: { cpu: '100m', memory: '64Mi' },
    limits: { cpu: '1', memory: '128Mi' },
  },
  livenessProbe: { httpGet: { path: '/', port: 8080 } },
  readinessProbe: { httpGet: { path: '/', port: 8080 } },
  ports: [{ containerPort: 8080 }],
});

/** A pod spec that satisfies every built-in pod rule. */
export const goodPodSpec = (): any => ({
  automountServiceAccountToken: false,
  securityContext: { runAsNonRoot: true },
  containers: [goodContainer()],
});

export const LABELS = { app: 'web' };

/** Wraps a pod spec in each pod-bearing kind (built-in and custom resources). */
export const WORKLOAD_KINDS: Record<
  string,
  (spec: any, name?: string) => KubeObject
> = {
  Pod: (spec, name = 'w') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: LABELS },
    spec,
  }),
  Deployment: (spec, name = 'w') => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  ReplicaSet: (spec, name = 'w') => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  ReplicationController: (spec, name = 'w') => ({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: LABELS,
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  StatefulSet: (spec, name = 'w') => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      serviceName: name,
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  DaemonSet: (spec, name = 'w') => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  Job: (spec, name = 'w') => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } },
  }),
  CronJob: (spec, name = 'w') => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '0 * * * *',
      jobTemplate: {
        spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } },
      },
    },
  }),
  PodTemplate: (spec, name = 'w') => ({
    apiVersion: 'v1',
    kind: 'PodTemplate',
    metadata: { name },
    template: { metadata: { labels: LABELS }, spec },
  }),
  'Rollout (custom resource)': (spec, name = 'w') => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec },
    },
  }),
  'ScheduledWorkflow (custom resource with a jobTemplate)': (
    spec,
    name = 'w',
  ) => ({
    apiVersion: 'example.com/v1',
    kind: 'ScheduledWorkflow',
    metadata: { name },
    spec: { jobTemplate: { spec: { template: { spec } } } },
  }),
};

/** A Deployment with its PodDisruptionBudget: passes every built-in rule. */
export const goodDeployment = (spec = goodPodSpec()): KubeObject[] => [
  WORKLOAD_KINDS.Deployment(spec, 'web'),
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web' },
    spec: { maxUnavailable: 1, selector: { matchLabels: LABELS } },
  },
];

/** A copy of the good pod spec with the first container changed by `fn`. */
export const withContainer = (fn: (c: any) => void, spec = goodPodSpec()) => {
  fn(spec.containers[0]);
  return spec;
};
