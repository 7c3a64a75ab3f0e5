import {
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Metrics,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import {
  eventually,
  failure,
  simCluster,
  TestCluster,
} from './__testUtils__/cluster';
import { generateServingCert } from './tls';

// Generous: these talk to a server over HTTP, and CI machines are shared.
jest.setTimeout(30_000);

function asUser(cluster: TestCluster, token: string) {
  const kc = new KubeConfig();
  const c = cluster.kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [c],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'u', cluster: c.name, user: 'u' }],
    currentContext: 'u',
  });
  return kc;
}

describe('startKubeSim', () => {
  describe('over TLS with users', () => {
    let cluster: TestCluster;

    beforeAll(async () => {
      cluster = await simCluster({
        tls: true,
        token: 'admin-token',
        users: [
          { token: 'nobody-token', name: 'nobody' },
          {
            token: 'reader-token',
            name: 'reader',
            rules: [
              {
                verbs: ['get', 'list'],
                resources: ['configmaps'],
                namespaces: ['default'],
              },
            ],
          },
        ],
      });
    });
    afterAll(() => cluster.stop());

    it('serves HTTPS verified with the returned caData', async () => {
      const sim = cluster.sim!;
      expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(Buffer.from(sim.caData!, 'base64').toString()).toContain(
        'BEGIN CERTIFICATE',
      );
      expect(sim.kubeconfig).toContain(
        `certificate-authority-data: ${sim.caData}`,
      );
      expect(cluster.kc.getCurrentCluster()?.skipTLSVerify).toBeFalsy();
      const version = await cluster.kc.makeApiClient(VersionApi).getCode();
      expect(version).toMatchObject({
        major: '1',
        minor: '26',
        gitVersion: 'v1.26.1',
      });
    });

    it('serves a given certificate, so a CA can be kept across restarts', async () => {
      const pair = generateServingCert();
      const other = await simCluster({ tls: true, tlsCertificate: pair });
      try {
        expect(Buffer.from(other.sim!.caData!, 'base64').toString()).toBe(
          pair.cert,
        );
        const version = await other.kc.makeApiClient(VersionApi).getCode();
        expect(version.gitVersion).toBe('v1.26.1');
      } finally {
        await other.stop();
      }
    });

    it('answers a wrong token with 401', async () => {
      const err = await failure(
        asUser(cluster, 'wrong').makeApiClient(CoreV1Api).listNamespace(),
      );
      expect(err.httpCode ?? err.code).toBe(401);
    });

    it('answers a token without rights with 403 Forbidden, worded as the real API', async () => {
      const err = await failure(
        asUser(cluster, 'nobody-token')
          .makeApiClient(CoreV1Api)
          .listNamespacedSecret({ namespace: 'ref' }),
      );
      expect(err).toEqual({
        httpCode: 403,
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'secrets is forbidden: User "nobody" cannot list resource "secrets" in API group "" in the namespace "ref"',
        reason: 'Forbidden',
        details: { kind: 'secrets' },
        code: 403,
      });
    });

    it('lets a restricted user do exactly what its rules allow', async () => {
      const reader = asUser(cluster, 'reader-token').makeApiClient(CoreV1Api);
      const list = await reader.listNamespacedConfigMap({
        namespace: 'default',
      });
      expect(list.items.map(i => i.metadata?.name)).toContain(
        'kube-root-ca.crt',
      );
      const write = await failure(
        reader.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: 'x' } },
        }),
      );
      expect(write).toMatchObject({ code: 403, reason: 'Forbidden' });
      const other = await failure(
        reader.listNamespacedConfigMap({ namespace: 'kube-system' }),
      );
      expect(other).toMatchObject({ code: 403 });
    });
  });

  describe('discovery, watch edges and bad requests', () => {
    let cluster: TestCluster;

    beforeAll(async () => {
      cluster = await simCluster({
        watchCacheSize: 5,
        bookmarkIntervalMs: 100,
      });
    });
    afterAll(() => cluster.stop());

    it('advertises groups, resources, verbs, namespaced flags and short names', async () => {
      const groups = await cluster.kc.makeApiClient(ApisApi).getAPIVersions();
      const names = groups.groups.map(g => g.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'apps',
          'batch',
          'autoscaling',
          'networking.k8s.io',
          'policy',
          'rbac.authorization.k8s.io',
          'gateway.networking.k8s.io',
          'metrics.k8s.io',
        ]),
      );
      const core = await cluster.kc.makeApiClient(CoreV1Api).getAPIResources();
      const pods = core.resources.find(r => r.name === 'pods')!;
      expect(pods).toMatchObject({
        kind: 'Pod',
        namespaced: true,
        shortNames: ['po'],
      });
      expect(pods.verbs.sort()).toEqual([
        'create',
        'delete',
        'deletecollection',
        'get',
        'list',
        'patch',
        'update',
        'watch',
      ]);
      expect(core.resources.map(r => r.name)).toEqual(
        expect.arrayContaining([
          'pods/log',
          'pods/status',
          'namespaces',
          'nodes',
          'events',
          'secrets',
        ]),
      );
      expect(core.resources.find(r => r.name === 'nodes')?.namespaced).toBe(
        false,
      );
      const apps = await cluster.kc.makeApiClient(AppsV1Api).getAPIResources();
      expect(apps.resources.find(r => r.name === 'deployments')).toMatchObject({
        kind: 'Deployment',
        shortNames: ['deploy'],
      });
      expect(
        apps.resources.find(r => r.name === 'deployments/scale'),
      ).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    });

    it('answers a watch from a compacted resourceVersion with a 410 Expired ERROR event', async () => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      for (let i = 0; i < 10; i++) {
        await core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: `old-${i}` } },
        });
      }
      const events: Array<{ type: string; obj: any }> = [];
      let ended = false;
      await new Watch(cluster.kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: '2' },
        (type, obj) => events.push({ type, obj }),
        () => {
          ended = true;
        },
      );
      await eventually(async () => ended);
      expect(events).toEqual([
        {
          type: 'ERROR',
          obj: expect.objectContaining({
            kind: 'Status',
            code: 410,
            reason: 'Expired',
          }),
        },
      ]);
      expect(events[0].obj.message).toMatch(
        /^too old resource version: 2 \(\d+\)$/,
      );
    });

    it('answers a continue token older than the watch cache with 410 Expired', async () => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const first = await core.listNamespacedConfigMap({
        namespace: 'default',
        limit: 1,
      });
      expect(first.metadata?._continue).toBeTruthy();
      for (let i = 0; i < 10; i++) {
        await core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: `churn-${i}` } },
        });
      }
      const err = await failure(
        core.listNamespacedConfigMap({
          namespace: 'default',
          limit: 1,
          _continue: first.metadata!._continue,
        }),
      );
      expect(err).toMatchObject({ code: 410, reason: 'Expired' });
      expect(err.message).toContain(
        'The provided continue parameter is too old',
      );
    });

    it('sends BOOKMARK events carrying only a resourceVersion when asked for them', async () => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const rv = (await core.listNamespacedConfigMap({ namespace: 'default' }))
        .metadata!.resourceVersion!;
      const events: Array<{ type: string; obj: any }> = [];
      const abort = await new Watch(cluster.kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: rv, allowWatchBookmarks: true },
        (type, obj) => events.push({ type, obj }),
        () => {},
      );
      try {
        await eventually(async () => events.some(e => e.type === 'BOOKMARK'));
      } finally {
        abort.abort();
      }
      const bookmark = events.find(e => e.type === 'BOOKMARK')!;
      expect(bookmark.obj).toEqual({
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { resourceVersion: rv, creationTimestamp: null },
      });
    });

    it('rejects malformed objects with a Status and keeps serving', async () => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const bad = await failure(
        core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name: 'bad' }, data: { a: 5 } } as any,
        }),
      );
      expect(bad).toMatchObject({ code: 400, reason: 'BadRequest' });
      const noName = await failure(
        core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: {} },
        }),
      );
      expect(noName).toMatchObject({ code: 422, reason: 'Invalid' });
      expect(noName.details.causes[0]).toMatchObject({
        field: 'metadata.name',
        reason: 'FieldValueRequired',
      });
      const badPatch = await failure(
        core.patchNamespacedConfigMap({
          name: 'kube-root-ca.crt',
          namespace: 'default',
          body: [{ op: 'explode', path: '/x' }],
        }),
      );
      expect(badPatch.code ?? badPatch.httpCode).toBeGreaterThanOrEqual(400);
      const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
      await expect(
        objects.create({
          apiVersion: 'v1',
          kind: 'NoSuchKind',
          metadata: { name: 'x' },
        }),
      ).rejects.toThrow();
      const badDeployment = await failure(
        cluster.kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
          namespace: 'default',
          body: {
            metadata: { name: 'mismatch' },
            spec: {
              selector: { matchLabels: { app: 'a' } },
              template: {
                metadata: { labels: { app: 'b' } },
                spec: { containers: [{ name: 'c', image: 'nginx' }] },
              },
            },
          },
        }),
      );
      expect(badDeployment).toMatchObject({ code: 422, reason: 'Invalid' });
      expect(badDeployment.message).toContain(
        '`selector` does not match template `labels`',
      );
      const badQuantity = await failure(
        core.createNamespacedPod({
          namespace: 'default',
          body: {
            metadata: { name: 'q' },
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'i',
                  resources: { requests: { cpu: 'lots' } },
                },
              ],
            },
          },
        }),
      );
      expect(badQuantity).toMatchObject({ code: 400, reason: 'BadRequest' });
      expect(badQuantity.message).toContain(
        'quantities must match the regular expression',
      );
      // Still alive.
      expect((await core.listNamespace()).items.length).toBeGreaterThan(0);
    });
  });

  describe('fault injection', () => {
    let cluster: TestCluster;
    let core: CoreV1Api;

    beforeAll(async () => {
      cluster = await simCluster();
      core = cluster.kc.makeApiClient(CoreV1Api);
    });
    afterEach(() => cluster.sim!.faults.clear());
    afterAll(() => cluster.stop());

    it('stops the API (connection refused) and starts it again on the same port', async () => {
      const { faults, url } = cluster.sim!;
      await faults.stopApi();
      await expect(core.listNamespace()).rejects.toThrow(/ECONNREFUSED/);
      await faults.startApi();
      expect(cluster.sim!.url).toBe(url);
      expect((await core.listNamespace()).items.length).toBeGreaterThan(0);
    });

    it('adds latency', async () => {
      cluster.sim!.faults.setLatency(300);
      const start = Date.now();
      await core.listNamespace();
      expect(Date.now() - start).toBeGreaterThanOrEqual(290);
    });

    it('fails a share of requests with 503', async () => {
      cluster.sim!.faults.setErrorRate(1);
      const err = await failure(core.listNamespace());
      expect(err).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
      cluster.sim!.faults.setErrorRate(0);
      await expect(core.listNamespace()).resolves.toBeTruthy();
    });

    it('fails one verb on one resource with the given status', async () => {
      cluster.sim!.faults.failVerb({
        verb: 'list',
        resource: 'pods',
        status: 500,
      });
      const err = await failure(core.listPodForAllNamespaces());
      expect(err).toMatchObject({ code: 500, reason: 'InternalError' });
      await expect(
        core.listNamespacedConfigMap({ namespace: 'default' }),
      ).resolves.toBeTruthy();
      await expect(
        core.readNamespace({ name: 'default' }),
      ).resolves.toBeTruthy();
      cluster.sim!.faults.clear();
      await expect(core.listPodForAllNamespaces()).resolves.toBeTruthy();
    });

    it('expires watches: open ones end with 410 Expired, and resuming from before the compaction gets it too', async () => {
      const rv = (await core.listNamespacedConfigMap({ namespace: 'default' }))
        .metadata!.resourceVersion!;
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'before-expiry' } },
      });
      const events: Array<{ type: string; obj: any }> = [];
      let ended = false;
      await new Watch(cluster.kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: rv },
        (type, obj) => events.push({ type, obj }),
        () => {
          ended = true;
        },
      );
      await eventually(async () => events.length > 0);
      cluster.sim!.faults.expireWatches();
      await eventually(async () => ended);
      expect(events.map(e => e.type)).toEqual(['ADDED', 'ERROR']);
      expect(events[0].obj.metadata.name).toBe('before-expiry');
      expect(events[1].obj).toMatchObject({
        kind: 'Status',
        code: 410,
        reason: 'Expired',
      });
      const resumed: string[] = [];
      let resumedEnded = false;
      await new Watch(cluster.kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: rv },
        type => resumed.push(type),
        () => {
          resumedEnded = true;
        },
      );
      await eventually(async () => resumedEnded);
      expect(resumed).toEqual(['ERROR']);
      // A fresh list and a watch from its resourceVersion work as before.
      const listed = await core.listNamespacedConfigMap({
        namespace: 'default',
      });
      expect(listed.items.map(c => c.metadata?.name)).toContain(
        'before-expiry',
      );
    });
  });

  describe('held watches', () => {
    let cluster: TestCluster;
    let core: CoreV1Api;

    beforeAll(async () => {
      cluster = await simCluster({ bookmarkIntervalMs: 200 });
      core = cluster.kc.makeApiClient(CoreV1Api);
    });
    afterEach(() => cluster.sim!.faults.clear());
    afterAll(() => cluster.stop());

    const watchOf = async (path: string) => {
      const seen: string[] = [];
      const state = { ended: false };
      const request = await new Watch(cluster.kc).watch(
        path,
        { allowWatchBookmarks: true, timeoutSeconds: 1 },
        (type, obj) => seen.push(`${type} ${obj?.metadata?.name ?? ''}`),
        () => {
          state.ended = true;
        },
      );
      return { seen, state, request };
    };

    it('holds open watches and new ones silently, past their timeout, while others and lists are answered', async () => {
      const ns = 'default';
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'held-before' } },
      });
      const open = await watchOf(`/api/v1/namespaces/${ns}/configmaps`);
      await eventually(async () => open.seen.includes('ADDED held-before'));
      cluster.sim!.faults.hangWatches({ resource: 'configmaps' });
      const later = await watchOf(`/api/v1/namespaces/${ns}/configmaps`);
      const secrets = await watchOf(`/api/v1/namespaces/${ns}/secrets`);
      const seenBefore = open.seen.length;
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'held-after' } },
      });
      // Lists are answered as usual.
      expect(
        (await core.listNamespacedConfigMap({ namespace: ns })).items.map(
          c => c.metadata?.name,
        ),
      ).toContain('held-after');
      // Past the 1 s timeout: the other resource's watch ended on time, the held ones sent nothing
      // (no event, no bookmark) and are still open.
      await new Promise(r => setTimeout(r, 2000));
      expect(secrets.state.ended).toBe(true);
      expect(open.seen.length).toBe(seenBefore);
      expect(open.state.ended).toBe(false);
      expect(later.seen).toEqual([]);
      expect(later.state.ended).toBe(false);
      open.request.abort();
      later.request.abort();

      // After clear(), new watches work again.
      cluster.sim!.faults.clear();
      const after = await watchOf(`/api/v1/namespaces/${ns}/configmaps`);
      await eventually(async () => after.state.ended);
      expect(after.seen).toEqual(
        expect.arrayContaining(['ADDED held-before', 'ADDED held-after']),
      );
    });
  });

  describe('the demo seed', () => {
    let cluster: TestCluster;

    beforeAll(async () => {
      cluster = await simCluster({
        seed: 'demo',
        podReadyDelayMs: 50,
        crashLoopBackoffMs: 100,
      });
    });
    afterAll(() => cluster.stop());

    it('has three nodes and labelled workloads for the catalog ids', async () => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const apps = cluster.kc.makeApiClient(AppsV1Api);
      expect((await core.listNode()).items).toHaveLength(3);

      const payments = await eventually(async () => {
        const d = await apps.listNamespacedDeployment({
          namespace: 'payments',
          labelSelector: 'backstage.io/kubernetes-id=payments-api',
        });
        return d.items[0]?.status?.readyReplicas === 2 ? d.items[0] : undefined;
      });
      expect(payments.spec?.replicas).toBe(2);

      const inventory = await eventually(async () => {
        const pods = await core.listNamespacedPod({
          namespace: 'shop',
          labelSelector: 'backstage.io/kubernetes-id=inventory-service',
        });
        return pods.items.length >= 2 &&
          pods.items.every(p =>
            p.status?.containerStatuses?.every(c => c.ready),
          )
          ? pods
          : undefined;
      });
      expect(inventory.items.length).toBeGreaterThanOrEqual(2);

      const crashing = await eventually(async () => {
        const pods = await core.listNamespacedPod({
          namespace: 'shop',
          labelSelector: 'backstage.io/kubernetes-id=checkout-web',
        });
        return pods.items.length === 1 &&
          (pods.items[0].status?.containerStatuses?.[0].restartCount ?? 0) > 0
          ? pods.items[0]
          : undefined;
      });
      expect(crashing.spec?.containers[0].image).toMatch(/:crashloop$/);
      expect(crashing.status?.containerStatuses?.[0].ready).toBe(false);
    });

    it('answers every list the Backstage Kubernetes backend makes for an entity', async () => {
      // The object types @backstage/plugin-kubernetes-backend fetches, with the entity's label selector.
      const types: Array<[string, string]> = [
        ['v1', 'Pod'],
        ['v1', 'Service'],
        ['v1', 'ConfigMap'],
        ['v1', 'LimitRange'],
        ['v1', 'ResourceQuota'],
        ['v1', 'Secret'],
        ['apps/v1', 'Deployment'],
        ['apps/v1', 'ReplicaSet'],
        ['apps/v1', 'StatefulSet'],
        ['apps/v1', 'DaemonSet'],
        ['autoscaling/v2', 'HorizontalPodAutoscaler'],
        ['batch/v1', 'Job'],
        ['batch/v1', 'CronJob'],
        ['networking.k8s.io/v1', 'Ingress'],
      ];
      const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
      const found: Record<string, number> = {};
      for (const [apiVersion, kind] of types) {
        const list = await objects.list(
          apiVersion,
          kind,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          'backstage.io/kubernetes-id=payments-api',
        );
        found[kind] = list.items.length;
      }
      // Two pods of the Deployment and one of the migration Job.
      expect(found).toMatchObject({
        Pod: 3,
        Service: 1,
        ConfigMap: 1,
        Deployment: 1,
        ReplicaSet: 1,
        HorizontalPodAutoscaler: 1,
        Job: 1,
        CronJob: 1,
        Ingress: 0,
      });
      const metrics = await new Metrics(cluster.kc).getPodMetrics('payments');
      expect(
        metrics.items
          .map(m => m.metadata.name)
          .filter(n => n.startsWith('payments-api-')),
      ).toHaveLength(2);
    });
  });
});
