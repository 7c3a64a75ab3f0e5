import { KubeObject } from '../types';
import { PolicyRule } from './rules';

/**
 * The built-in ClusterRoles and ClusterRoleBindings a v1.26 API server creates at start-up, with the
 * rule sets it serves (taken from a real server's SelfSubjectRulesReview answers, see
 * ../shared/reference/kube-api/rbac/). Only the roles clients and tests rely on are here.
 */

const RW = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const RO = ['get', 'list', 'watch'];
const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

const rule = (
  apiGroups: string[],
  resources: string[],
  verbs: string[],
): PolicyRule => ({ verbs, apiGroups, resources });

/** `view`: read access to most namespaced objects, not Secrets. */
export const VIEW_RULES: PolicyRule[] = [
  rule(
    [''],
    [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
    RO,
  ),
  rule(
    [''],
    [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
    RO,
  ),
  rule([''], ['namespaces'], RO),
  rule(['discovery.k8s.io'], ['endpointslices'], RO),
  rule(
    ['apps'],
    [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
    RO,
  ),
  rule(
    ['autoscaling'],
    ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'],
    RO,
  ),
  rule(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], RO),
  rule(
    ['extensions'],
    [
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'ingresses',
      'ingresses/status',
      'networkpolicies',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'replicationcontrollers/scale',
    ],
    RO,
  ),
  rule(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status'], RO),
  rule(
    ['networking.k8s.io'],
    ['ingresses', 'ingresses/status', 'networkpolicies'],
    RO,
  ),
];

/** What `edit` adds to `view`: writes to workloads, Secrets, ServiceAccounts; no RBAC. */
const EDIT_ONLY_RULES: PolicyRule[] = [
  rule(
    [''],
    [
      'pods/attach',
      'pods/exec',
      'pods/portforward',
      'pods/proxy',
      'secrets',
      'services/proxy',
    ],
    RO,
  ),
  rule([''], ['serviceaccounts'], ['impersonate']),
  rule(
    [''],
    ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'],
    RW,
  ),
  rule([''], ['pods/eviction'], ['create']),
  rule(
    [''],
    [
      'configmaps',
      'events',
      'persistentvolumeclaims',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'secrets',
      'serviceaccounts',
      'services',
      'services/proxy',
    ],
    RW,
  ),
  rule([''], ['serviceaccounts/token'], ['create']),
  rule(
    ['apps'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'statefulsets/scale',
    ],
    RW,
  ),
  rule(['autoscaling'], ['horizontalpodautoscalers'], RW),
  rule(['batch'], ['cronjobs', 'jobs'], RW),
  rule(
    ['extensions'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'ingresses',
      'networkpolicies',
      'replicasets',
      'replicasets/scale',
      'replicationcontrollers/scale',
    ],
    RW,
  ),
  rule(['policy'], ['poddisruptionbudgets'], RW),
  rule(['networking.k8s.io'], ['ingresses', 'networkpolicies'], RW),
  rule(['coordination.k8s.io'], ['leases'], ALL_VERBS),
];

export const EDIT_RULES: PolicyRule[] = [...EDIT_ONLY_RULES, ...VIEW_RULES];

/** `admin`: `edit` plus Roles/RoleBindings and local access reviews in the namespace. */
export const ADMIN_RULES: PolicyRule[] = [
  ...EDIT_RULES,
  rule(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']),
  rule(['rbac.authorization.k8s.io'], ['rolebindings', 'roles'], ALL_VERBS),
];

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const AGG = 'rbac.authorization.k8s.io/aggregate-to-';

function clusterRole(
  name: string,
  rules: PolicyRule[],
  extra: { labels?: Record<string, string>; aggregateTo?: string } = {},
): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABELS, ...extra.labels },
      annotations: { ...AUTOUPDATE },
    },
    ...(extra.aggregateTo
      ? {
          aggregationRule: {
            clusterRoleSelectors: [
              { matchLabels: { [`${AGG}${extra.aggregateTo}`]: 'true' } },
            ],
          },
        }
      : {}),
    rules,
  };
}

function groupBinding(
  name: string,
  role: string,
  groups: string[],
): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      labels: { ...BOOTSTRAP_LABELS },
      annotations: { ...AUTOUPDATE },
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role,
    },
    subjects: groups.map(g => ({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Group',
      name: g,
    })),
  };
}

/** The ClusterRoles, then the ClusterRoleBindings, a fresh cluster starts with. */
export function bootstrapPolicy(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ]),
    clusterRole('admin', ADMIN_RULES, { aggregateTo: 'admin' }),
    clusterRole('edit', EDIT_RULES, {
      aggregateTo: 'edit',
      labels: { [`${AGG}admin`]: 'true' },
    }),
    clusterRole('view', VIEW_RULES, {
      aggregateTo: 'view',
      labels: { [`${AGG}edit`]: 'true' },
    }),
    clusterRole('system:basic-user', [
      rule(
        ['authorization.k8s.io'],
        ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        ['create'],
      ),
    ]),
    clusterRole('system:discovery', [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ]),
    clusterRole('system:public-info-viewer', [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/healthz',
          '/livez',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ]),
    clusterRole('system:service-account-issuer-discovery', [
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/.well-known/openid-configuration',
          '/openid/v1/jwks',
        ],
      },
    ]),
    groupBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    groupBinding('system:basic-user', 'system:basic-user', [
      'system:authenticated',
    ]),
    groupBinding('system:discovery', 'system:discovery', [
      'system:authenticated',
    ]),
    groupBinding('system:public-info-viewer', 'system:public-info-viewer', [
      'system:authenticated',
      'system:unauthenticated',
    ]),
    groupBinding(
      'system:service-account-issuer-discovery',
      'system:service-account-issuer-discovery',
      ['system:serviceaccounts'],
    ),
  ];
}
