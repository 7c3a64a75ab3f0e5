import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim, limitedUser } from '@internal/kube-sim';
import type {
  ClusterHealth,
  TenantHealth,
} from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { HealthService } from './HealthService';

jest.setTimeout(90_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

const deployment = (name: string, replicas: number, image: string) => ({
  metadata: {
    name,
    annotations: { 'meta.helm.sh/release-name': name },
  },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image }] },
    },
  },
});

const tenantOf = (namespace: string, releases: string[]) => ({
  cluster: 'dev',
  code: namespace,
  namespace,
  status: 'active' as const,
  releases,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});

const release = (h: TenantHealth, name: string) =>
  h.releases.find(r => r.name === name);
const item = (h: ClusterHealth, namespace: string, name: string) =>
  h.workloads.items.find(w => w.namespace === namespace && w.name === name);

describe('HealthService', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let health: HealthService;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  const apps = () => registry.kubeConfig('dev').makeApiClient(AppsV1Api);
  const setImage = (namespace: string, name: string, image: string) =>
    apps().patchNamespacedDeployment(
      {
        name,
        namespace,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: image,
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );

  beforeAll(async () => {
    sim = await startSim({ nodes: 2 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterEach(() => health?.stop());
  afterAll(() => sim.stop());

  it('says a cluster is syncing, not ok, until its cache has listed', async () => {
    // Slow answers keep the first lists in flight while the cluster list is asked for.
    sim.faults.setLatency(1000);
    health = new HealthService(registry, mockServices.logger.mock());
    health.startAll();
    try {
      expect(await health.listClusters()).toEqual([
        expect.objectContaining({
          name: 'dev',
          status: 'unknown',
          message: expect.stringMatching(/syncing/),
        }),
      ]);
    } finally {
      sim.faults.clear();
    }
    await health.whenStarted('dev');
    expect(await health.listClusters()).toEqual([
      expect.objectContaining({
        name: 'dev',
        status: 'ok',
        message: expect.stringMatching(/^2 nodes Ready/),
      }),
    ]);
  });

  it('shows a rollout that quota refuses as degraded, in the tenant and the cluster', async () => {
    const ns = 'stuck-quota';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await core().createNamespacedResourceQuota({
      namespace: ns,
      body: {
        metadata: { name: 'kubechart-quota' },
        spec: { hard: { pods: '2' } },
      },
    });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock(), {});
    const tenant = tenantOf(ns, ['web']);
    // Its two pods use the quota up (the tenant says so: see tenantReadiness.test.ts).
    const settled = await eventually(
      () => health.tenantHealth(tenant),
      h => release(h, 'web')?.status === 'healthy',
    );
    expect(release(settled, 'web')).toMatchObject({
      readyPods: 2,
      totalPods: 2,
      status: 'healthy',
    });

    // The new ReplicaSet's surge pod is refused by the quota: the rollout cannot go on.
    await setImage(ns, 'web', 'registry.example.com/x:2');
    const stuck = await eventually(
      () => health.tenantHealth(tenant),
      h => release(h, 'web')?.status !== 'healthy',
    );
    expect(stuck.status).toBe('degraded');
    expect(release(stuck, 'web')).toMatchObject({
      readyPods: 2,
      status: 'degraded',
      reason: expect.stringMatching(/FailedCreate.*exceeded quota/),
    });
    const cluster = await eventually(
      () => health.clusterHealth('dev'),
      h => !!item(h, ns, 'web'),
    );
    expect(cluster.status).toBe('degraded');
    expect(item(cluster, ns, 'web')).toMatchObject({
      kind: 'Deployment',
      status: 'degraded',
      reason: expect.stringMatching(/FailedCreate.*exceeded quota/),
    });
    await apps().deleteNamespacedDeployment({ name: 'web', namespace: ns });
  });

  it('shows a rollout whose new image cannot be pulled as a problem of the cluster and the tenant', async () => {
    const ns = 'stuck-pull';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('api', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['api']);
    await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    await eventually(
      () => health.clusterHealth('dev'),
      h => h.status === 'ok',
    );

    await setImage(ns, 'api', 'registry.example.com/x:imagepull-fail');
    const cluster = await eventually(
      () => health.clusterHealth('dev'),
      h => /ImagePull|ErrImagePull/.test(item(h, ns, 'api')?.reason ?? ''),
    );
    expect(cluster.status).toBe('degraded');
    expect(item(cluster, ns, 'api')).toMatchObject({
      status: 'degraded',
      reason: expect.stringMatching(/ErrImagePull|ImagePullBackOff/),
    });
    expect(cluster.alerts).toContainEqual(
      expect.objectContaining({ type: 'image-pull', namespace: ns }),
    );
    const tenantNow = await health.tenantHealth(tenant);
    expect(tenantNow.status).toBe('degraded');
    expect(release(tenantNow, 'api')).toMatchObject({
      status: 'degraded',
      reason: expect.stringMatching(/ErrImagePull|ImagePullBackOff/),
    });
  });

  it('counts a release scaled to zero as healthy, and one without workloads apart', async () => {
    const ns = 'quiet';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('idle', 0, 'registry.example.com/x:1'),
    });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    // `config` installed only a ConfigMap: it has no workload to be ready.
    const tenant = tenantOf(ns, ['idle', 'web', 'config']);
    const settled = await eventually(
      () => health.tenantHealth(tenant),
      h => release(h, 'web')?.status === 'healthy',
    );
    expect(settled.releases).toEqual([
      {
        name: 'idle',
        readyPods: 0,
        totalPods: 0,
        status: 'healthy',
        reason: 'scaled to zero',
      },
      { name: 'web', readyPods: 2, totalPods: 2, status: 'healthy' },
      {
        name: 'config',
        readyPods: 0,
        totalPods: 0,
        status: 'no-workloads',
        reason: 'no Deployment, StatefulSet or DaemonSet',
      },
    ]);
    expect(settled.status).toBe('healthy');
  });

  it("answers a tenant's health as unknown, with the cache's error and since when, while the cache does not follow the cluster", async () => {
    const ns = 'unwatched';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    const startedAt = Date.now();
    health = new HealthService(registry, mockServices.logger.mock(), {
      restartDelayMs: 200,
    });
    const tenant = tenantOf(ns, ['web']);
    await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );

    // Deployments and pods can no longer be listed or watched, and the open watches end: the cache
    // keeps what it had, which no longer follows the cluster.
    const lostFrom = Date.now();
    try {
      for (const resource of ['deployments', 'pods'])
        for (const verb of ['list', 'watch'])
          sim.faults.failVerb({ verb, resource, status: 500 });
      sim.faults.expireWatches();
      const cluster = await eventually(
        () => health.clusterHealth('dev'),
        h => h.status === 'error',
      );
      expect(cluster.status).toBe('error');
      await apps().deleteNamespacedDeployment({ name: 'web', namespace: ns });
      await new Promise(r => setTimeout(r, 1500));

      const unknown = await health.tenantHealth(tenant);
      expect(unknown).toMatchObject({
        tenant: ns,
        status: 'unknown',
        message: expect.stringMatching(/answered 500/),
        // Nothing the cache holds is given as the tenant's: web is gone from the cluster.
        releases: [],
      });
      // Last seen when the cache last had proof it followed the cluster (a list, an event or bookmark),
      // before the failures: not the 410 ERROR events, the ends of those watches or the failing
      // lists after them. The answer itself is of now.
      const lastSeenAt = Date.parse(unknown.lastSeenAt ?? '');
      expect(lastSeenAt).toBeGreaterThanOrEqual(startedAt);
      expect(lastSeenAt).toBeLessThanOrEqual(lostFrom);
      expect(Date.now() - lastSeenAt).toBeGreaterThanOrEqual(1500);
      expect(Date.now() - Date.parse(unknown.observedAt)).toBeLessThan(1000);
      // The cluster's answer says so too.
      expect((await health.clusterHealth('dev')).lastSeenAt).toBe(
        unknown.lastSeenAt,
      );
    } finally {
      sim.faults.clear();
    }

    // Once the cache follows the cluster again, the answer is the cluster's, as of now.
    const back = await eventually(
      () => health.tenantHealth(tenant),
      h => h.status !== 'unknown',
    );
    expect(back.status).toBe('healthy');
    expect(release(back, 'web')).toMatchObject({ status: 'no-workloads' });
    expect(Date.now() - Date.parse(back.observedAt)).toBeLessThan(1000);
    expect((await health.clusterHealth('dev')).lastSeenAt).toBeUndefined();
  });

  it("answers a tenant's health as unknown with no last-seen time when the cache never reached the cluster", async () => {
    await sim.faults.stopApi();
    try {
      health = new HealthService(registry, mockServices.logger.mock(), {
        restartDelayMs: 200,
      });
      health.startAll();
      await health.whenStarted('dev');
      const tenant = tenantOf('never-seen', ['web']);
      // Time passes while the cache keeps failing to reach the cluster.
      await new Promise(r => setTimeout(r, 1500));
      const unknown = await health.tenantHealth(tenant);
      expect(unknown).toMatchObject({
        tenant: 'never-seen',
        status: 'unknown',
        message: expect.stringMatching(/Kubernetes API of cluster "dev"/),
        releases: [],
      });
      // It never heard from the cluster: nothing says when it was last seen, and the answer is of
      // now (not of when the cache was created).
      expect(unknown.lastSeenAt).toBeUndefined();
      expect(Date.now() - Date.parse(unknown.observedAt)).toBeLessThan(1000);
      expect((await health.clusterHealth('dev')).lastSeenAt).toBeUndefined();
    } finally {
      await sim.faults.startApi();
    }
  });

  it("answers a tenant's health from the informers it reads while the backend may not read nodes or events, and the cluster names what it does not follow", async () => {
    // The backend's identity may read what tenant health reads (pods, workloads and Jobs, its
    // namespace, quotas, ingresses) but not list or watch nodes or events (cluster-scoped reads its
    // RBAC lacks).
    const reader = limitedUser({
      name: 'health-reader',
      clusterRules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'statefulsets', 'daemonsets'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['resourcequotas'], verbs: ['get'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
        {
          apiGroups: ['networking.k8s.io'],
          resources: ['ingresses'],
          verbs: ['list'],
        },
      ],
    });
    const limitedSim = await startSim({
      nodes: 1,
      users: [reader.user],
      objects: reader.objects,
    });
    const limited = new HealthService(
      ClusterRegistry.fromConfig(
        new ConfigReader(
          testConfig({ ...limitedSim, token: reader.user.token } as KubeSim),
        ),
      ),
      mockServices.logger.mock(),
      { restartDelayMs: 200 },
    );
    try {
      const admin = ClusterRegistry.fromConfig(
        new ConfigReader(testConfig(limitedSim)),
      ).kubeConfig('dev');
      const ns = 'no-node-rights';
      await admin
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: ns } } });
      await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace: ns,
        body: deployment('web', 2, 'registry.example.com/x:1'),
      });
      const tenant = tenantOf(ns, ['web']);
      const answer = await eventually(
        () => limited.tenantHealth(tenant),
        h => h.status === 'healthy',
      );
      expect(answer).toMatchObject({
        status: 'healthy',
        releases: [
          { name: 'web', readyPods: 2, totalPods: 2, status: 'healthy' },
        ],
      });
      expect(answer.lastSeenAt).toBeUndefined();
      // The cluster's own answer cannot be given without nodes and events: it says which informers
      // do not follow the cluster, and why.
      const cluster = await limited.clusterHealth('dev');
      expect(cluster.status).toBe('error');
      expect(cluster.message).toMatch(/\bnodes\b.*\bevents\b/);
      expect(cluster.message).toMatch(/answered 403/);
      expect(cluster.message).not.toMatch(/\b(pods|deployments)\b/);

      // Once it may read nodes, the cluster names only what it still does not follow.
      await admin.makeApiClient(RbacAuthorizationV1Api).createClusterRole({
        body: {
          metadata: { name: 'health-reader-nodes' },
          rules: [
            { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
          ],
        },
      });
      await admin
        .makeApiClient(RbacAuthorizationV1Api)
        .createClusterRoleBinding({
          body: {
            metadata: { name: 'health-reader-nodes' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'health-reader-nodes',
            },
            subjects: [
              {
                apiGroup: 'rbac.authorization.k8s.io',
                kind: 'User',
                name: 'health-reader',
              },
            ],
          },
        });
      const onlyEvents = await eventually(
        () => limited.clusterHealth('dev'),
        h => !/\bnodes\b/.test(h.message ?? ''),
      );
      expect(onlyEvents.status).toBe('error');
      expect(onlyEvents.message).toMatch(/^events: .*answered 403/);
    } finally {
      await limited.stop();
      await limitedSim.stop();
    }
  });

  it("stops answering a tenant's health as current once its watch hangs silently, and lists again", async () => {
    const ns = 'hung-watch';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    // Watches ask the server to end them after 1 to 2 s, and are given up 0.5 s after that.
    health = new HealthService(registry, mockServices.logger.mock(), {
      restartDelayMs: 1500,
      minWatchTimeoutSeconds: 1,
      watchDeadlineGraceMs: 500,
    });
    const tenant = tenantOf(ns, ['web']);
    await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    // The connection of the deployments watch hangs: open, no event, no end. web is deleted meanwhile.
    const hungFrom = Date.now();
    try {
      sim.faults.hangWatches({ resource: 'deployments' });
      await apps().deleteNamespacedDeployment({ name: 'web', namespace: ns });
      const unknown = await eventually(
        () => health.tenantHealth(tenant),
        h => h.status === 'unknown',
        8000,
      );
      expect(unknown).toMatchObject({
        status: 'unknown',
        message: expect.stringMatching(/deployments: .*hangs/),
        releases: [],
      });
      // Last seen when the watch last proved the cache current (before the hang), not when the
      // hang was noticed.
      const lastSeenAt = Date.parse(unknown.lastSeenAt ?? '');
      expect(lastSeenAt).toBeLessThanOrEqual(hungFrom + 100);
      expect(
        Date.parse(unknown.observedAt) - lastSeenAt,
      ).toBeGreaterThanOrEqual(400);
      expect((await health.clusterHealth('dev')).message).toMatch(
        /deployments: /,
      );
      // Started again, the informer lists (lists are answered): web is gone.
      const relisted = await eventually(
        () => health.tenantHealth(tenant),
        h => h.status !== 'unknown',
        8000,
      );
      expect(release(relisted, 'web')).toMatchObject({
        status: 'no-workloads',
      });
    } finally {
      sim.faults.clear();
    }
  });

  it("answers a tenant's health while its watches get no answer at all (unknown past their deadline), follows the cluster again once they do, and hangs up the requests it gave up", async () => {
    const ns = 'unanswered-watch';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 1, 'registry.example.com/x:1'),
    });
    // A health answer that does not come within this is taken to hang.
    const within = <T>(p: Promise<T>, ms = 5000) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${ms} ms`)),
            ms,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    };
    // Deployments watches are never answered, not even with headers. Each asks the server to end it
    // after 1 to 2 s, and is given up 0.3 s after that.
    sim.faults.hangWatches({ resource: 'deployments', beforeHeaders: true });
    try {
      health = new HealthService(registry, mockServices.logger.mock(), {
        restartDelayMs: 200,
        minWatchTimeoutSeconds: 1,
        watchDeadlineGraceMs: 300,
      });
      const tenant = tenantOf(ns, ['web']);
      // Asked while the first watches wait for their answer: the lists answered, and so does health.
      const first = await within(health.tenantHealth(tenant));
      expect(first.status).not.toBe('unknown');
      expect(release(first, 'web')).toBeDefined();
      const unknown = await eventually(
        () => within(health.tenantHealth(tenant)),
        h => h.status === 'unknown',
        8000,
      );
      expect(unknown).toMatchObject({
        status: 'unknown',
        message: expect.stringMatching(/deployments: .*hangs/),
        releases: [],
      });
      expect((await within(health.clusterHealth('dev'))).status).toBe('error');
      // Several deadlines and restarts later, only the watch waiting now is open.
      await new Promise(r => setTimeout(r, 6000));
      expect(sim.faults.heldWatches()).toBeLessThanOrEqual(1);
    } finally {
      sim.faults.clear();
    }
    const tenant = tenantOf(ns, ['web']);
    const followed = await eventually(
      () => within(health.tenantHealth(tenant)),
      h => h.status !== 'unknown',
      8000,
    );
    expect(release(followed, 'web')).toBeDefined();
    // A watch held again is hung up on when the service stops.
    sim.faults.hangWatches({ resource: 'deployments', beforeHeaders: true });
    try {
      await eventually(
        () => sim.faults.heldWatches(),
        n => n > 0,
        8000,
      );
      await health.stop();
      expect(
        await eventually(
          () => sim.faults.heldWatches(),
          n => n === 0,
          3000,
        ),
      ).toBe(0);
    } finally {
      sim.faults.clear();
    }
  });

  it("says a tenant's URLs are not known while its Ingresses cannot be listed, rather than that it has none", async () => {
    const ns = 'ingress-unlisted';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 1, 'registry.example.com/x:1'),
    });
    await registry
      .kubeConfig('dev')
      .makeApiClient(NetworkingV1Api)
      .createNamespacedIngress({
        namespace: ns,
        body: {
          metadata: { name: 'web' },
          spec: {
            rules: [
              {
                host: 'web.example.com',
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: {
                        service: { name: 'web', port: { number: 80 } },
                      },
                    },
                  ],
                },
              },
            ],
          },
        },
      });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    const listed = await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    expect(listed.urls).toEqual(['http://web.example.com']);
    expect(listed.urlsError).toBeUndefined();

    sim.faults.failVerb({
      verb: 'list',
      resource: 'ingresses',
      status: 500,
      namespace: ns,
    });
    try {
      const unlisted = await health.tenantHealth(tenant);
      expect(unlisted.urls).toEqual([]);
      expect(unlisted.urlsError).toMatch(/^Ingresses: .*answered 500/);
      // What the tenant runs is still known.
      expect(unlisted.status).toBe('healthy');
    } finally {
      sim.faults.clear();
    }
    expect((await health.tenantHealth(tenant)).urlsError).toBeUndefined();
  });

  it('answers the cluster while Jobs cannot be listed, and a tenant as unknown saying so (its failed Jobs are not known)', async () => {
    const ns = 'no-jobs-list';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 1, 'registry.example.com/x:1'),
    });
    sim.faults.failVerb({ verb: 'list', resource: 'jobs', status: 403 });
    sim.faults.failVerb({ verb: 'watch', resource: 'jobs', status: 403 });
    try {
      health = new HealthService(registry, mockServices.logger.mock(), {
        restartDelayMs: 200,
      });
      const cluster = await eventually(
        () => health.clusterHealth('dev'),
        h => h.status !== 'error',
      );
      expect(cluster.status).not.toBe('error');
      const tenant = await health.tenantHealth(tenantOf(ns, ['web']));
      expect(tenant).toMatchObject({
        status: 'unknown',
        message: expect.stringMatching(/jobs: .*answered 403/),
        releases: [],
      });
    } finally {
      sim.faults.clear();
    }
    const back = await eventually(
      () => health.tenantHealth(tenantOf(ns, ['web'])),
      h => h.status === 'healthy',
    );
    expect(back.status).toBe('healthy');
  });

  it('counts the pods of a workload selected by matchExpressions only', async () => {
    const ns = 'by-expression';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    const web = deployment('web', 2, 'registry.example.com/x:1');
    web.spec.selector = {
      matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }],
    } as any;
    await apps().createNamespacedDeployment({ namespace: ns, body: web });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    const settled = await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
      10_000,
    );
    expect(release(settled, 'web')).toEqual({
      name: 'web',
      readyPods: 2,
      totalPods: 2,
      status: 'healthy',
    });
    expect(settled.status).toBe('healthy');
  });

  it("judges a workload by its own pods, not those of a canary its selector's matchExpressions leave out", async () => {
    const ns = 'canary';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    // web selects app=web except track=canary; its own pods crash-loop.
    const web = deployment('web', 2, 'registry.example.com/x:crashloop');
    web.spec.selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'track', operator: 'NotIn', values: ['canary'] },
      ],
    } as any;
    // The canary runs beside it (app=web, track=canary) and is ready.
    const canary = deployment('web-canary', 2, 'registry.example.com/x:1');
    canary.spec.selector = {
      matchLabels: { app: 'web', track: 'canary' },
    } as any;
    canary.spec.template.metadata.labels = {
      app: 'web',
      track: 'canary',
    } as any;
    await apps().createNamespacedDeployment({ namespace: ns, body: web });
    await apps().createNamespacedDeployment({ namespace: ns, body: canary });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web', 'web-canary']);
    const now = await eventually(
      () => health.tenantHealth(tenant),
      h =>
        release(h, 'web-canary')?.status === 'healthy' &&
        /CrashLoopBackOff/.test(release(h, 'web')?.reason ?? ''),
    );
    expect(release(now, 'web-canary')).toEqual({
      name: 'web-canary',
      readyPods: 2,
      totalPods: 2,
      status: 'healthy',
    });
    // Nothing of web serves: its own pods crash-loop; the canary's ready pods are not its.
    expect(release(now, 'web')).toEqual({
      name: 'web',
      readyPods: 0,
      totalPods: 2,
      status: 'unhealthy',
      reason: expect.stringMatching(
        /^Deployment web: pod web-(?!canary)\S+ container c: CrashLoopBackOff/,
      ),
    });
    expect(now.status).toBe('unhealthy');
  });

  it('does not count the pods of a release that ended', async () => {
    const ns = 'evicted';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    // One of web's pods is evicted (Failed): its ReplicaSet replaces it, and the ended pod is not
    // counted beside the two that run.
    const [evicted] = (
      await core().listNamespacedPod({
        namespace: ns,
        labelSelector: 'app=web',
      })
    ).items;
    await core().patchNamespacedPodStatus(
      {
        name: evicted.metadata!.name!,
        namespace: ns,
        body: [
          { op: 'replace', path: '/status/phase', value: 'Failed' },
          { op: 'add', path: '/status/reason', value: 'Evicted' },
          {
            op: 'replace',
            path: '/status/conditions',
            value: [{ type: 'Ready', status: 'False' }],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const phases = await eventually(
      async () =>
        (
          await core().listNamespacedPod({
            namespace: ns,
            labelSelector: 'app=web',
          })
        ).items
          .map(p =>
            p.status?.phase === 'Running' &&
            p.status.conditions?.some(
              c => c.type === 'Ready' && c.status === 'True',
            )
              ? 'ready'
              : p.status?.phase,
          )
          .sort(),
      p => p.join() === 'Failed,ready,ready',
    );
    expect(phases).toEqual(['Failed', 'ready', 'ready']);
    // The cache follows the cluster within milliseconds; a second is plenty.
    await new Promise(r => setTimeout(r, 1000));
    expect(release(await health.tenantHealth(tenant), 'web')).toEqual({
      name: 'web',
      readyPods: 2,
      totalPods: 2,
      status: 'healthy',
    });
  });
});
