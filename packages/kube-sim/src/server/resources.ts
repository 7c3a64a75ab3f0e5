import { KubeObject, Verb } from './types';

/**
 * One row of the resource table. The same table drives discovery, OpenAPI, routing and storage,
 * so a resource is served exactly when it is advertised.
 */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment and the discovery name. */
  plural: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: Verb[];
  /** Subresources served besides the main resource (`status`, `scale`, `log`). */
  subresources?: Array<'status' | 'scale' | 'log' | 'token'>;
  /** Whether metadata.generation is kept and bumped on spec changes. */
  generation?: boolean;
  /** Computed on read (metrics); never stored or written. */
  virtual?: boolean;
  /** An access review: answered on create, never stored. */
  review?: boolean;
  /** A custom resource: served from a CustomResourceDefinition. */
  custom?: CustomResourceInfo;
  /** A finalizer every DELETE puts on the object first (a CRD's instance cleanup). */
  deleteFinalizer?: string;
  /** Changes the object a DELETE marks for deletion (e.g. a CRD's `Terminating` condition). */
  markDeleting?: (obj: KubeObject, now: string) => void;
  /**
   * Another API's view of objects stored under this core resource (events.k8s.io/v1 Events are the
   * core/v1 Events, converted on the way in and out).
   */
  viewOf?: string;
}

/** What a custom resource type keeps of its CustomResourceDefinition version. */
export interface CustomResourceInfo {
  /** The CRD's name (`<plural>.<group>`). */
  crd: string;
  /** `schema.openAPIV3Schema` of the version. */
  schema: Record<string, unknown>;
  listKind: string;
  singular: string;
  /** The version's `additionalPrinterColumns` (Table columns). */
  printerColumns?: Array<{
    name: string;
    type: string;
    jsonPath: string;
    format?: string;
    description?: string;
    priority?: number;
  }>;
}

const ALL: Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

function r(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return { group, version, plural, kind, namespaced, verbs: ALL, ...extra };
}

const NS_VERBS: Verb[] = [
  'create',
  'delete',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** Every resource kube-sim serves. */
export const RESOURCE_TYPES: ResourceType[] = [
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('', 'v1', 'limitranges', 'LimitRange', true, { shortNames: ['limits'] }),
  r('', 'v1', 'namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    verbs: NS_VERBS,
    subresources: ['status'],
  }),
  r('', 'v1', 'nodes', 'Node', false, {
    shortNames: ['no'],
    subresources: ['status'],
  }),
  r('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, {
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  r('', 'v1', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log'],
  }),
  r('', 'v1', 'resourcequotas', 'ResourceQuota', true, {
    shortNames: ['quota'],
    subresources: ['status'],
  }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, {
    shortNames: ['sa'],
    subresources: ['token'],
  }),
  r('', 'v1', 'services', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  r(
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
    {
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      subresources: ['status'],
      generation: true,
      deleteFinalizer: 'customresourcecleanup.apiextensions.k8s.io',
      markDeleting: (crd, now) => {
        const conditions = crd.status?.conditions ?? [];
        crd.status = {
          ...crd.status,
          conditions: [
            ...conditions.filter((c: any) => c.type !== 'Terminating'),
            {
              type: 'Terminating',
              status: 'True',
              lastTransitionTime: now,
              reason: 'InstanceDeletionPending',
              message:
                'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
            },
          ],
        };
      },
    },
  ),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('events.k8s.io', 'v1', 'events', 'Event', true, {
    shortNames: ['ev'],
    viewOf: 'events',
  }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  r('apps', 'v1', 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r(
    'autoscaling',
    'v2',
    'horizontalpodautoscalers',
    'HorizontalPodAutoscaler',
    true,
    {
      shortNames: ['hpa'],
      categories: ['all'],
      subresources: ['status'],
    },
  ),
  r('batch', 'v1', 'cronjobs', 'CronJob', true, {
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  r('batch', 'v1', 'jobs', 'Job', true, {
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  r('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, {
    shortNames: ['ing'],
    subresources: ['status'],
    generation: true,
  }),
  r('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, {
    shortNames: ['netpol'],
    generation: true,
  }),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, {
    shortNames: ['pdb'],
    subresources: ['status'],
    generation: true,
  }),
  r(
    'rbac.authorization.k8s.io',
    'v1',
    'clusterrolebindings',
    'ClusterRoleBinding',
    false,
  ),
  r('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  r('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  r('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  ...[
    ['localsubjectaccessreviews', 'LocalSubjectAccessReview', true],
    ['selfsubjectaccessreviews', 'SelfSubjectAccessReview', false],
    ['selfsubjectrulesreviews', 'SelfSubjectRulesReview', false],
    ['subjectaccessreviews', 'SubjectAccessReview', false],
  ].map(([plural, kind, namespaced]) =>
    r(
      'authorization.k8s.io',
      'v1',
      plural as string,
      kind as string,
      namespaced as boolean,
      {
        verbs: ['create'],
        review: true,
      },
    ),
  ),
  r('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute', true, {
    categories: ['gateway-api'],
    subresources: ['status'],
    generation: true,
  }),
  r('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', false, {
    verbs: ['get', 'list'],
    virtual: true,
  }),
  r('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics', true, {
    verbs: ['get', 'list'],
    virtual: true,
  }),
];

export function groupVersion(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** The storage key of a resource type, e.g. `pods` or `deployments.apps`. */
export function typeId(t: ResourceType): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

export class ResourceRegistry {
  private readonly byPath = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();

  readonly types: ResourceType[];

  constructor(types: ResourceType[] = RESOURCE_TYPES) {
    // A copy: custom resources are added to and removed from this server's table only.
    this.types = [...types];
    for (const t of this.types) this.index(t);
  }

  private index(t: ResourceType) {
    this.byPath.set(`${groupVersion(t)}/${t.plural}`, t);
    this.byKind.set(`${groupVersion(t)}/${t.kind}`, t);
  }

  /** Serves a custom resource type (replacing one with the same group, version and plural). */
  add(t: ResourceType) {
    this.remove(t);
    this.types.push(t);
    this.index(t);
  }

  /** Stops serving a type. */
  remove(t: { group: string; version: string; plural: string }) {
    const existing = this.find(t.group, t.version, t.plural);
    if (!existing) return;
    this.types.splice(this.types.indexOf(existing), 1);
    this.byPath.delete(`${groupVersion(existing)}/${existing.plural}`);
    this.byKind.delete(`${groupVersion(existing)}/${existing.kind}`);
  }

  find(
    group: string,
    version: string,
    plural: string,
  ): ResourceType | undefined {
    return this.byPath.get(`${groupVersion({ group, version })}/${plural}`);
  }

  byApiVersionKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  /** Group versions in the order discovery lists them. */
  groupVersions(): Array<{ group: string; version: string }> {
    const seen = new Map<string, { group: string; version: string }>();
    for (const t of this.types) {
      seen.set(groupVersion(t), { group: t.group, version: t.version });
    }
    return [...seen.values()];
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter(t => t.group === group && t.version === version);
  }
}

export const registry = new ResourceRegistry();
