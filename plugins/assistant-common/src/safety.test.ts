import { Plan } from './plan';
import { classifySafety, SafetyLevel } from './safety';

describe('classifySafety', () => {
  it.each<[Plan, SafetyLevel]>([
    [{ verb: 'get', resource: 'pods' }, 'safe'],
    [{ verb: 'describe', resource: 'nodes', name: 'n1' }, 'safe'],
    [{ verb: 'logs', resource: 'pods', name: 'p' }, 'safe'],
    [{ verb: 'top', resource: 'nodes' }, 'safe'],
    [{ verb: 'events', resource: 'events' }, 'safe'],
    [
      { verb: 'rollout', resource: 'deployments', rolloutAction: 'status' },
      'safe',
    ],
    [
      { verb: 'rollout', resource: 'deployments', rolloutAction: 'history' },
      'safe',
    ],
    [
      {
        verb: 'rollout',
        resource: 'deployments',
        rolloutAction: 'restart',
        namespace: 'shop',
      },
      'warning',
    ],
    // Scope is part of the class: a change that reaches every namespace,
    // or every object of a cluster-scoped kind, is dangerous.
    [
      { verb: 'rollout', resource: 'deployments', rolloutAction: 'restart' },
      'dangerous',
    ],
    [
      {
        verb: 'rollout',
        resource: 'deployments',
        rolloutAction: 'restart',
        labelSelector: 'app=web',
        allNamespaces: true,
      },
      'dangerous',
    ],
    [
      {
        verb: 'label',
        resource: 'nodes',
        labelSelector: 'pool=a',
        labels: { x: 'y' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'rollout',
        resource: 'deployments',
        rolloutAction: 'undo',
        name: 'web',
        namespace: 'shop',
      },
      'warning',
    ],
    [{ verb: 'diagnose', resource: 'deployments', name: 'web' }, 'safe'],
    [
      { verb: 'scale', resource: 'deployments', name: 'd', replicas: 2 },
      'warning',
    ],
    [
      { verb: 'label', resource: 'pods', name: 'p', labels: { a: 'b' } },
      'warning',
    ],
    [
      {
        verb: 'annotate',
        resource: 'pods',
        name: 'p',
        annotations: { a: 'b' },
      },
      'warning',
    ],
    // An annotation with a prefix is read by a controller, which may act far beyond the object:
    // ingress-nginx runs snippets for every namespace, cloud IAM keys give pods a cloud role.
    [
      {
        verb: 'annotate',
        resource: 'ingresses',
        name: 'checkout-web',
        namespace: 'shop',
        annotations: {
          'nginx.ingress.kubernetes.io/server-snippet':
            'content_by_lua_block {}',
        },
      },
      'dangerous',
    ],
    [
      {
        verb: 'annotate',
        resource: 'serviceaccounts',
        name: 'app',
        namespace: 'shop',
        annotations: {
          'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/admin',
        },
      },
      'dangerous',
    ],
    [
      {
        verb: 'annotate',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        annotations: { owner: 'team-shop', 'example.com/team': 'shop' },
      },
      'dangerous',
    ],
    // Keys without a prefix are the user's own, and the change cause is kubectl's record.
    [
      {
        verb: 'annotate',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        annotations: {
          owner: 'team-shop',
          'kubernetes.io/change-cause': 'rolled back',
        },
      },
      'warning',
    ],
    // A label with a prefix is read by a controller too: a mesh stops injecting its sidecar, a
    // cloud's workload identity gives the pods a cloud role.
    [
      {
        verb: 'label',
        resource: 'pods',
        name: 'web',
        namespace: 'shop',
        labels: { 'sidecar.istio.io/inject': 'false' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'label',
        resource: 'pods',
        name: 'web',
        namespace: 'shop',
        labels: { tier: 'web', 'azure.workload.identity/use': 'true' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'label',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      },
      'dangerous',
    ],
    // The descriptive recommended labels are the team's own metadata.
    [
      {
        verb: 'label',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        labels: {
          'app.kubernetes.io/name': 'web',
          'app.kubernetes.io/instance': 'web-1',
          'app.kubernetes.io/version': '1.2.0',
          'app.kubernetes.io/component': 'frontend',
          'app.kubernetes.io/part-of': 'shop',
          tier: 'web',
        },
      },
      'warning',
    ],
    // Any change to a cluster-scoped object reaches beyond one namespace:
    // RBAC, namespaces (and their pod-security labels), nodes, CRDs, PVs.
    [{ verb: 'cordon', resource: 'nodes', name: 'n' }, 'dangerous'],
    [{ verb: 'uncordon', resource: 'nodes', name: 'n' }, 'dangerous'],
    [
      {
        verb: 'label',
        resource: 'clusterroles',
        name: 'cluster-admin',
        labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'label',
        resource: 'namespaces',
        name: 'payments',
        labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'annotate',
        resource: 'clusterrolebindings',
        name: 'view',
        annotations: { a: 'b' },
      },
      'dangerous',
    ],
    [
      {
        verb: 'annotate',
        resource: 'customresourcedefinitions',
        name: 'x.example.com',
        annotations: { a: 'b' },
      },
      'dangerous',
    ],
    [
      { verb: 'label', resource: 'nodes', name: 'n', labels: { a: 'b' } },
      'dangerous',
    ],
    [
      {
        verb: 'label',
        resource: 'persistentvolumes',
        name: 'pv',
        labels: { a: 'b' },
      },
      'dangerous',
    ],
    // Reads of cluster-scoped objects stay safe.
    [{ verb: 'get', resource: 'clusterroles', name: 'cluster-admin' }, 'safe'],
    [{ verb: 'delete', resource: 'pods', name: 'p' }, 'dangerous'],
    [{ verb: 'drain', resource: 'nodes', name: 'n' }, 'dangerous'],
    [
      { verb: 'exec', resource: 'pods', name: 'p', command: ['sh'] },
      'dangerous',
    ],
    [{ verb: 'apply', resource: 'deployments' }, 'dangerous'],
    [
      { verb: 'patch', resource: 'deployments', name: 'd', patch: '{}' },
      'dangerous',
    ],
    [
      { verb: 'get', resource: 'secrets', name: 's', output: 'yaml' },
      'dangerous',
    ],
    [{ verb: 'describe', resource: 'secrets' }, 'dangerous'],
  ])('%j is %s', (plan, level) => {
    expect(classifySafety(plan).level).toBe(level);
  });

  it('says which prefixed labels make a label change dangerous', () => {
    expect(
      classifySafety({
        verb: 'label',
        resource: 'pods',
        name: 'web',
        namespace: 'shop',
        labels: {
          tier: 'web',
          'app.kubernetes.io/name': 'web',
          'sidecar.istio.io/inject': 'false',
        },
      }).reason,
    ).toBe(
      'label sets sidecar.istio.io/inject: labels with a prefix are read by controllers, which may act beyond the object.',
    );
  });
});
