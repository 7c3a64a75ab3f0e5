import {
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { failure, simCluster, TestCluster } from './__testUtils__/cluster';
import { rawRequest, withToken } from './__testUtils__/http';
import { limitedUser } from './users';

// kube-sim only: static token users, the limitedUser helper, the built-in policy objects and
// token lifetimes. (What a real server answers is checked by src/conformance/rbac.test.ts.)
jest.setTimeout(30_000);

describe('kube-sim RBAC', () => {
  let cluster: TestCluster;
  const engine = limitedUser({
    name: 'platform-engine',
    token: 'engine-token',
    clusterRules: [
      {
        apiGroups: [''],
        resources: ['namespaces'],
        verbs: ['create', 'get', 'list'],
      },
      {
        apiGroups: [''],
        resources: ['serviceaccounts'],
        verbs: ['impersonate'],
      },
    ],
    namespaceRules: {
      default: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    },
  });

  beforeAll(async () => {
    cluster = await simCluster({
      tls: true,
      users: [
        engine.user,
        { token: 'ops-token', name: 'ops', groups: ['ops-team'] },
        { token: 'root-token', name: 'root', groups: ['system:masters'] },
      ],
      objects: engine.objects,
    });
  });
  afterAll(() => cluster.stop());

  const as = (token?: string) => withToken(cluster.kc, token);
  const fromKubeconfig = (yaml: string) => {
    const kc = new KubeConfig();
    kc.loadFromString(yaml);
    return kc;
  };

  it('keeps the development token all-powerful (system:masters)', async () => {
    const review = await rawRequest(
      cluster.kc,
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: { verb: '*', group: '*', resource: '*' },
          },
        },
      },
    );
    expect(review.body.status).toEqual({ allowed: true });
    const nodes = await cluster.kc.makeApiClient(CoreV1Api).listNode();
    expect(nodes.items.length).toBeGreaterThan(0);
  });

  it('gives a limitedUser exactly its rules, through a kubeconfigFor its token', async () => {
    const kc = fromKubeconfig(cluster.sim!.kubeconfigFor('engine-token'));
    const core = kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespace();
    expect(list.items.map(n => n.metadata?.name)).toContain('kube-system');
    const cm = await core.readNamespacedConfigMap({
      name: 'kube-root-ca.crt',
      namespace: 'default',
    });
    expect(cm.metadata?.name).toBe('kube-root-ca.crt');
    const denied = await failure(
      core.listNamespacedSecret({ namespace: 'default' }),
    );
    expect(denied.message).toBe(
      'secrets is forbidden: User "platform-engine" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
    const other = await failure(
      core.readNamespacedConfigMap({
        name: 'kube-root-ca.crt',
        namespace: 'kube-system',
      }),
    );
    expect(other.code).toBe(403);
  });

  it('lets every authenticated user do discovery and anonymous only read /version', async () => {
    const version = await as('ops-token').makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.26.1');
    const apis = await rawRequest(as('ops-token'), 'GET', '/apis');
    expect(apis.status).toBe(200);
    const openapi = await rawRequest(as('ops-token'), 'GET', '/openapi/v3');
    expect(openapi.status).toBe(200);
    const anonVersion = await rawRequest(as(), 'GET', '/version');
    expect(anonVersion.status).toBe(200);
    const anonApi = await rawRequest(as(), 'GET', '/api');
    expect(anonApi.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'forbidden: User "system:anonymous" cannot get path "/api"',
      reason: 'Forbidden',
      details: {},
      code: 403,
    });
  });

  it('binds token users by group, and treats a system:masters token user as admin', async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const ops = as('ops-token').makeApiClient(CoreV1Api);
    expect(
      (await failure(ops.listNamespacedPod({ namespace: 'kube-system' }))).code,
    ).toBe(403);
    await rbac.createNamespacedRoleBinding({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'ops-view' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'view',
        },
        subjects: [
          {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Group',
            name: 'ops-team',
          },
        ],
      },
    });
    const pods = await ops.listNamespacedPod({ namespace: 'kube-system' });
    expect(Array.isArray(pods.items)).toBe(true);
    const secrets = await failure(
      ops.listNamespacedSecret({ namespace: 'kube-system' }),
    );
    expect(secrets.code).toBe(403);
    const root = as('root-token').makeApiClient(CoreV1Api);
    expect(
      (await root.listNamespacedSecret({ namespace: 'kube-system' })).items,
    ).toBeDefined();
  });

  it('names a binding whose role is missing in the 403 and still denies', async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'ops-dangling' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'no-such-role',
        },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ops' },
        ],
      },
    });
    const err = await failure(
      as('ops-token').makeApiClient(CoreV1Api).listNode(),
    );
    expect(err.message).toBe(
      'nodes is forbidden: User "ops" cannot list resource "nodes" in API group "" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found',
    );
  });

  it('serves the built-in ClusterRoles and bindings as objects', async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const roles = (await rbac.listClusterRole()).items.map(
      r => r.metadata?.name,
    );
    expect(roles).toEqual(
      expect.arrayContaining([
        'cluster-admin',
        'admin',
        'edit',
        'view',
        'system:basic-user',
        'system:discovery',
      ]),
    );
    const view = await rbac.readClusterRole({ name: 'view' });
    expect(view.rules?.some(r => r.resources?.includes('secrets'))).toBe(false);
    const crb = await rbac.readClusterRoleBinding({ name: 'cluster-admin' });
    expect(crb.subjects).toEqual([
      {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Group',
        name: 'system:masters',
      },
    ]);
  });

  it('aggregates ClusterRoles labelled aggregate-to-view into view', async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: {
          name: 'widgets-view',
          labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
        },
        rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'ops-view-all' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'view',
        },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ops' },
        ],
      },
    });
    const node = await as('ops-token')
      .makeApiClient(CoreV1Api)
      .readNode({ name: 'kube-sim-node-1' });
    expect(node.metadata?.name).toBe('kube-sim-node-1');
  });

  it('follows aggregation through aggregated ClusterRoles, and through cycles', async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const role = (
      name: string,
      label: string,
      selects: string[],
      rules: any[] = [],
    ) =>
      rbac.createClusterRole({
        body: {
          metadata: { name, labels: { 'kube-sim.test/chain': label } },
          ...(selects.length
            ? {
                aggregationRule: {
                  clusterRoleSelectors: [
                    {
                      matchExpressions: [
                        {
                          key: 'kube-sim.test/chain',
                          operator: 'In',
                          values: selects,
                        },
                      ],
                    },
                  ],
                },
              }
            : {}),
          rules,
        },
      });
    // top aggregates middle; middle aggregates top (a cycle) and leaf, whose rule reaches top.
    await role('chain-top', 'top', ['middle']);
    await role('chain-middle', 'middle', ['top', 'leaf']);
    await role(
      'chain-leaf',
      'leaf',
      [],
      [
        {
          apiGroups: ['apiextensions.k8s.io'],
          resources: ['customresourcedefinitions'],
          verbs: ['list'],
        },
      ],
    );
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'ops-chain-top' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'chain-top',
        },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'ops' },
        ],
      },
    });
    const r = await rawRequest(
      as('ops-token'),
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    );
    expect(r.status).toBe(200);
  });

  it('honours a RoleBinding naming a ServiceAccount of another namespace, in the binding namespace only', async () => {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    for (const name of ['sa-home', 'sa-work'])
      await core.createNamespace({ body: { metadata: { name } } });
    const tokenOf = async (namespace: string) => {
      await core.createNamespacedServiceAccount({
        namespace,
        body: { metadata: { name: 'worker' } },
      });
      const tr = await core.createNamespacedServiceAccountToken({
        name: 'worker',
        namespace,
        body: { spec: { audiences: [] } },
      });
      return as(tr.status!.token);
    };
    const home = await tokenOf('sa-home');
    await rbac.createNamespacedRoleBinding({
      namespace: 'sa-work',
      body: {
        metadata: { name: 'worker-view' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'view',
        },
        subjects: [
          { kind: 'ServiceAccount', name: 'worker', namespace: 'sa-home' },
        ],
      },
    });
    const list = async (kc: KubeConfig, namespace: string) =>
      (
        await rawRequest(
          kc,
          'GET',
          `/api/v1/namespaces/${namespace}/configmaps`,
        )
      ).status;
    expect(await list(home, 'sa-work')).toBe(200);
    expect(await list(home, 'sa-home')).toBe(403);
    // A ServiceAccount of the same name in the binding's namespace is another user.
    expect(await list(await tokenOf('sa-work'), 'sa-work')).toBe(403);
  });

  it('stops accepting a ServiceAccount token once the ServiceAccount is deleted', async () => {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: 'default',
      body: { metadata: { name: 'short-lived' } },
    });
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'short-lived',
      namespace: 'default',
      body: { spec: { audiences: [] } },
    });
    expect(tr.status?.expirationTimestamp).toBeInstanceOf(Date);
    const kc = as(tr.status!.token);
    const ssrr = await rawRequest(
      kc,
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectRulesReview',
          spec: { namespace: 'default' },
        },
      },
    );
    expect(ssrr.status).toBe(201);
    await core.deleteNamespacedServiceAccount({
      name: 'short-lived',
      namespace: 'default',
    });
    const after = await rawRequest(
      kc,
      'GET',
      '/api/v1/namespaces/default/pods',
    );
    expect(after.status).toBe(401);
    const tooShort = await failure(
      core.createNamespacedServiceAccountToken({
        name: 'default',
        namespace: 'default',
        body: { spec: { audiences: [], expirationSeconds: 60 } },
      }),
    );
    expect(tooShort.code).toBe(422);
  });
});
