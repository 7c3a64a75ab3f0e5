/**
 * Field tables of the Kubernetes protobuf messages kube-sim decodes generically: for each message, field
 * number → `[jsonName, type, flags?]`. They state the wire format of k8s.io/api v0.26 (the field numbers of its
 * `protobuf:` struct tags), for the objects `kubectl create <kind>` sends.
 *
 * `type` is a scalar (`string`, `int`, `bool`, `bytes`), one of the special messages (`Time`, `Quantity`,
 * `IntOrString`) or the name of another message in the table. Flags:
 * - `r`: repeated (a JSON list);
 * - `m`: a `map<string, type>` (a JSON object);
 * - `i`: an embedded struct whose fields JSON inlines into the parent (IngressRule's IngressRuleValue);
 * - `p`: a Go pointer (`*int32`, `*bool`…): kept when zero. Non-pointer scalars are always on the wire and their
 *   zero value is what `omitempty` leaves out of the JSON, so a zero there is dropped.
 *
 * A field not in its message's table fails the decode (415) unless it is empty: the decoder never drops
 * something a client meant (non-pointer fields are always written, so unlisted empty ones are common).
 */
export type FieldDef = [json: string, type: string, flags?: string];
export type MessageTable = Record<number, FieldDef>;

const S = 'string';
const I = 'int';
const B = 'bool';

export const MESSAGES: Record<string, MessageTable> = {
  // meta/v1
  ObjectMeta: {
    1: ['name', S],
    2: ['generateName', S],
    3: ['namespace', S],
    4: ['selfLink', S],
    5: ['uid', S],
    6: ['resourceVersion', S],
    7: ['generation', I],
    8: ['creationTimestamp', 'Time'],
    9: ['deletionTimestamp', 'Time', 'p'],
    10: ['deletionGracePeriodSeconds', I, 'p'],
    11: ['labels', S, 'm'],
    12: ['annotations', S, 'm'],
    13: ['ownerReferences', 'OwnerReference', 'r'],
    14: ['finalizers', S, 'r'],
  },
  OwnerReference: {
    1: ['kind', S],
    3: ['name', S],
    4: ['uid', S],
    5: ['apiVersion', S],
    6: ['controller', B, 'p'],
    7: ['blockOwnerDeletion', B, 'p'],
  },
  LabelSelector: {
    1: ['matchLabels', S, 'm'],
    2: ['matchExpressions', 'LabelSelectorRequirement', 'r'],
  },
  LabelSelectorRequirement: {
    1: ['key', S],
    2: ['operator', S],
    3: ['values', S, 'r'],
  },

  // core/v1
  Namespace: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'NamespaceSpec'],
    3: ['status', 'NamespaceStatus'],
  },
  NamespaceSpec: { 1: ['finalizers', S, 'r'] },
  NamespaceStatus: { 1: ['phase', S] },
  ServiceAccount: {
    1: ['metadata', 'ObjectMeta'],
    2: ['secrets', 'ObjectReference', 'r'],
    3: ['imagePullSecrets', 'LocalObjectReference', 'r'],
    4: ['automountServiceAccountToken', B, 'p'],
  },
  ObjectReference: {
    1: ['kind', S],
    2: ['namespace', S],
    3: ['name', S],
    4: ['uid', S],
    5: ['apiVersion', S],
    6: ['resourceVersion', S],
    7: ['fieldPath', S],
  },
  LocalObjectReference: { 1: ['name', S] },
  Service: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'ServiceSpec'],
    3: ['status', 'ServiceStatus'],
  },
  ServiceSpec: {
    1: ['ports', 'ServicePort', 'r'],
    2: ['selector', S, 'm'],
    3: ['clusterIP', S],
    4: ['type', S],
    5: ['externalIPs', S, 'r'],
    7: ['sessionAffinity', S],
    8: ['loadBalancerIP', S],
    9: ['loadBalancerSourceRanges', S, 'r'],
    10: ['externalName', S],
    11: ['externalTrafficPolicy', S],
    12: ['healthCheckNodePort', I],
    13: ['publishNotReadyAddresses', B],
  },
  ServicePort: {
    1: ['name', S],
    2: ['protocol', S],
    3: ['port', I],
    4: ['targetPort', 'IntOrString'],
    5: ['nodePort', I],
    6: ['appProtocol', S, 'p'],
  },
  ServiceStatus: {},
  ResourceQuota: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'ResourceQuotaSpec'],
    3: ['status', 'ResourceQuotaStatus'],
  },
  ResourceQuotaSpec: {
    1: ['hard', 'Quantity', 'm'],
    2: ['scopes', S, 'r'],
  },
  ResourceQuotaStatus: {
    1: ['hard', 'Quantity', 'm'],
    2: ['used', 'Quantity', 'm'],
  },
  PodTemplateSpec: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'PodSpec'],
  },
  PodSpec: {
    2: ['containers', 'Container', 'r'],
    3: ['restartPolicy', S],
    4: ['terminationGracePeriodSeconds', I, 'p'],
    5: ['activeDeadlineSeconds', I, 'p'],
    6: ['dnsPolicy', S],
    7: ['nodeSelector', S, 'm'],
    8: ['serviceAccountName', S],
    9: ['serviceAccount', S],
    10: ['nodeName', S],
    11: ['hostNetwork', B],
    12: ['hostPID', B],
    13: ['hostIPC', B],
    15: ['imagePullSecrets', 'LocalObjectReference', 'r'],
    16: ['hostname', S],
    17: ['subdomain', S],
    19: ['schedulerName', S],
    20: ['initContainers', 'Container', 'r'],
    21: ['automountServiceAccountToken', B, 'p'],
    22: ['tolerations', 'Toleration', 'r'],
    24: ['priorityClassName', S],
    25: ['priority', I, 'p'],
    27: ['shareProcessNamespace', B, 'p'],
    29: ['runtimeClassName', S, 'p'],
    30: ['enableServiceLinks', B, 'p'],
    31: ['preemptionPolicy', S, 'p'],
    35: ['setHostnameAsFQDN', B, 'p'],
    37: ['hostUsers', B, 'p'],
  },
  Container: {
    1: ['name', S],
    2: ['image', S],
    3: ['command', S, 'r'],
    4: ['args', S, 'r'],
    5: ['workingDir', S],
    6: ['ports', 'ContainerPort', 'r'],
    7: ['env', 'EnvVar', 'r'],
    8: ['resources', 'ResourceRequirements'],
    9: ['volumeMounts', 'VolumeMount', 'r'],
    13: ['terminationMessagePath', S],
    14: ['imagePullPolicy', S],
    16: ['stdin', B],
    17: ['stdinOnce', B],
    18: ['tty', B],
    20: ['terminationMessagePolicy', S],
  },
  ContainerPort: {
    1: ['name', S],
    2: ['hostPort', I],
    3: ['containerPort', I],
    4: ['protocol', S],
    5: ['hostIP', S],
  },
  EnvVar: {
    1: ['name', S],
    2: ['value', S],
  },
  ResourceRequirements: {
    1: ['limits', 'Quantity', 'm'],
    2: ['requests', 'Quantity', 'm'],
  },
  VolumeMount: {
    1: ['name', S],
    2: ['readOnly', B],
    3: ['mountPath', S],
    4: ['subPath', S],
    5: ['mountPropagation', S, 'p'],
    6: ['subPathExpr', S],
  },
  Toleration: {
    1: ['key', S],
    2: ['operator', S],
    3: ['value', S],
    4: ['effect', S],
    5: ['tolerationSeconds', I, 'p'],
  },

  // apps/v1
  Deployment: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'DeploymentSpec'],
    3: ['status', 'DeploymentStatus'],
  },
  DeploymentSpec: {
    1: ['replicas', I, 'p'],
    2: ['selector', 'LabelSelector', 'p'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', I],
    6: ['revisionHistoryLimit', I, 'p'],
    7: ['paused', B],
    9: ['progressDeadlineSeconds', I, 'p'],
  },
  DeploymentStrategy: {
    1: ['type', S],
    2: ['rollingUpdate', 'RollingUpdateDeployment', 'p'],
  },
  RollingUpdateDeployment: {
    1: ['maxUnavailable', 'IntOrString', 'p'],
    2: ['maxSurge', 'IntOrString', 'p'],
  },
  // What a client sends in status is ignored on create; all zero is all kubectl sends.
  DeploymentStatus: {},

  // batch/v1
  Job: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'JobSpec'],
    3: ['status', 'JobStatus'],
  },
  JobSpec: {
    1: ['parallelism', I, 'p'],
    2: ['completions', I, 'p'],
    3: ['activeDeadlineSeconds', I, 'p'],
    4: ['selector', 'LabelSelector', 'p'],
    5: ['manualSelector', B, 'p'],
    6: ['template', 'PodTemplateSpec'],
    7: ['backoffLimit', I, 'p'],
    8: ['ttlSecondsAfterFinished', I, 'p'],
    9: ['completionMode', S, 'p'],
    10: ['suspend', B, 'p'],
  },
  JobStatus: {},
  CronJob: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'CronJobSpec'],
    3: ['status', 'CronJobStatus'],
  },
  CronJobSpec: {
    1: ['schedule', S],
    2: ['startingDeadlineSeconds', I, 'p'],
    3: ['concurrencyPolicy', S],
    4: ['suspend', B, 'p'],
    5: ['jobTemplate', 'JobTemplateSpec'],
    6: ['successfulJobsHistoryLimit', I, 'p'],
    7: ['failedJobsHistoryLimit', I, 'p'],
    8: ['timeZone', S, 'p'],
  },
  JobTemplateSpec: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'JobSpec'],
  },
  CronJobStatus: {},

  // networking.k8s.io/v1
  Ingress: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'IngressSpec'],
    3: ['status', 'IngressStatus'],
  },
  IngressSpec: {
    1: ['defaultBackend', 'IngressBackend', 'p'],
    2: ['tls', 'IngressTLS', 'r'],
    3: ['rules', 'IngressRule', 'r'],
    4: ['ingressClassName', S, 'p'],
  },
  IngressTLS: {
    1: ['hosts', S, 'r'],
    2: ['secretName', S],
  },
  IngressRule: {
    1: ['host', S],
    // Inlined in JSON: its `http` is a field of the rule.
    2: ['ingressRuleValue', 'IngressRuleValue', 'i'],
  },
  IngressRuleValue: { 1: ['http', 'HTTPIngressRuleValue', 'p'] },
  HTTPIngressRuleValue: { 1: ['paths', 'HTTPIngressPath', 'r'] },
  HTTPIngressPath: {
    1: ['path', S],
    2: ['backend', 'IngressBackend'],
    3: ['pathType', S, 'p'],
  },
  IngressBackend: {
    3: ['resource', 'TypedLocalObjectReference', 'p'],
    4: ['service', 'IngressServiceBackend', 'p'],
  },
  TypedLocalObjectReference: {
    1: ['apiGroup', S, 'p'],
    2: ['kind', S],
    3: ['name', S],
  },
  IngressServiceBackend: {
    1: ['name', S],
    2: ['port', 'ServiceBackendPort'],
  },
  ServiceBackendPort: {
    1: ['name', S],
    2: ['number', I],
  },
  IngressStatus: {},

  // policy/v1
  PodDisruptionBudget: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'PodDisruptionBudgetSpec'],
    3: ['status', 'PodDisruptionBudgetStatus'],
  },
  PodDisruptionBudgetSpec: {
    1: ['minAvailable', 'IntOrString', 'p'],
    2: ['selector', 'LabelSelector', 'p'],
    3: ['maxUnavailable', 'IntOrString', 'p'],
    4: ['unhealthyPodEvictionPolicy', S, 'p'],
  },
  PodDisruptionBudgetStatus: {},

  // rbac.authorization.k8s.io/v1
  Role: {
    1: ['metadata', 'ObjectMeta'],
    2: ['rules', 'PolicyRule', 'r'],
  },
  ClusterRole: {
    1: ['metadata', 'ObjectMeta'],
    2: ['rules', 'PolicyRule', 'r'],
    3: ['aggregationRule', 'AggregationRule', 'p'],
  },
  AggregationRule: {
    1: ['clusterRoleSelectors', 'LabelSelector', 'r'],
  },
  PolicyRule: {
    1: ['verbs', S, 'r'],
    2: ['apiGroups', S, 'r'],
    3: ['resources', S, 'r'],
    4: ['resourceNames', S, 'r'],
    5: ['nonResourceURLs', S, 'r'],
  },
  RoleBinding: {
    1: ['metadata', 'ObjectMeta'],
    2: ['subjects', 'Subject', 'r'],
    3: ['roleRef', 'RoleRef'],
  },
  ClusterRoleBinding: {
    1: ['metadata', 'ObjectMeta'],
    2: ['subjects', 'Subject', 'r'],
    3: ['roleRef', 'RoleRef'],
  },
  Subject: {
    1: ['kind', S],
    2: ['apiGroup', S],
    3: ['name', S],
    4: ['namespace', S],
  },
  RoleRef: {
    1: ['apiGroup', S],
    2: ['kind', S],
    3: ['name', S],
  },
};

/** The kinds decoded through {@link MESSAGES}, by `apiVersion/kind`. */
export const GENERIC_KINDS: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
};
