import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';
import { HealthService } from './HealthService';
import { parseCpu } from './quantity';

jest.setTimeout(60_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('ClusterHealthCache', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  beforeAll(async () => {
    sim = await startSim({ nodes: 3 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterAll(() => sim.stop());

  it('answers from the watch-fed cache, reports crash loops, and follows an outage', async () => {
    const changes: string[] = [];
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      {
        restartDelayMs: 200,
        onChange: h => changes.push(h.status),
      },
    );
    await cache.start();
    const first = cache.health();
    expect(first).toMatchObject({
      cluster: 'dev',
      status: 'ok',
      nodes: { ready: 3, total: 3 },
    });
    expect(first.utilisation.source).toMatch(/metrics|requests/);

    const kc = registry.kubeConfig('dev');
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'health-test' } } });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'health-test',
      body: {
        metadata: { name: 'crashy' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'crashy' } },
          template: {
            metadata: { labels: { app: 'crashy' } },
            spec: {
              containers: [
                { name: 'c', image: 'registry.example.com/x:crashloop' },
              ],
            },
          },
        },
      },
    });
    const degraded = await eventually(
      () => cache.health(),
      h => h.alerts.some(a => a.type === 'crash-loop'),
    );
    expect(degraded.status).toBe('degraded');
    expect(degraded.workloads.items).toEqual([
      expect.objectContaining({
        name: 'crashy',
        status: 'failed',
        reason: expect.stringContaining('CrashLoopBackOff'),
      }),
    ]);
    expect(degraded.alerts.find(a => a.type === 'crash-loop')).toMatchObject({
      namespace: 'health-test',
      reason: 'CrashLoopBackOff',
    });
    // The signal follows within the second (signals go out at most once a second per cluster).
    expect(
      await eventually(
        () => changes,
        c => c.includes('degraded'),
      ),
    ).toEqual(['degraded']);

    sim.faults.stopApi();
    const down = await eventually(
      () => cache.health(),
      h => h.status === 'error',
    );
    expect(down.status).toBe('error');
    expect(down.message).toMatch(/Kubernetes API of cluster "dev"/);
    expect(
      await eventually(
        () => changes,
        c => c.includes('error'),
      ),
    ).toContain('error');
    sim.faults.startApi();
    const back = await eventually(
      () => cache.health(),
      h => h.status !== 'error',
    );
    expect(back.status).toBe('degraded');
    expect(
      await eventually(
        () => changes,
        c => c[c.length - 1] === 'degraded',
      ),
    ).toEqual(['degraded', 'error', 'degraded']);
    await cache.stop();
  });

  it('keeps answering from the last good cache while it lists again after a watch expired (410), then follows the cluster', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'relist' } } });
    const deployment = (name: string, image: string, replicas: number) => ({
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'c',
                image,
                resources: { requests: { cpu: '100m', memory: '32Mi' } },
              },
            ],
          },
        },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: 'relist',
      body: deployment('steady', 'registry.example.com/x:1', 2),
    });
    await apps.createNamespacedDeployment({
      namespace: 'relist',
      body: deployment('looping', 'registry.example.com/x:crashloop', 1),
    });
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { restartDelayMs: 200, minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    const looping = (h: ClusterHealth) =>
      h.alerts.some(a => a.type === 'crash-loop' && a.namespace === 'relist');
    // The cluster settled first (`steady` has both pods ready): a change still on its way would
    // reach the cache before the watches expire and be taken for an answer from a relist.
    const before = await eventually(
      () => cache.health(),
      h =>
        looping(h) &&
        h.workloads.items.some(w => w.name === 'looping') &&
        h.workloads.items.some(
          w => w.name === 'steady' && w.status === 'healthy',
        ),
    );
    expect(looping(before)).toBe(true);
    const stable = (h: ClusterHealth) => ({
      ...h,
      observedAt: undefined,
      // Warning events keep coming (back-offs), and with them the count of every alert.
      alerts: h.alerts.filter(a => a.type !== 'warning-event'),
      alertsTotal: undefined,
    });

    // Every watch ends with 410 Expired; the informers must list again, and every answer of the
    // API is slowed down, so the relist takes a while.
    sim.faults.setLatency(1500);
    sim.faults.expireWatches();
    const during: ClusterHealth[] = [];
    for (let i = 0; i < 10; i++) {
      during.push(cache.health());
      await new Promise(r => setTimeout(r, 100));
    }
    expect(cache.ready).toBe(true);
    for (const h of during) expect(stable(h)).toEqual(stable(before));
    sim.faults.clear();

    // The relist completes and the watches resume: later changes reach the cache.
    await apps.deleteNamespacedDeployment({
      name: 'looping',
      namespace: 'relist',
    });
    const after = await eventually(
      () => cache.health(),
      h => !looping(h) && !h.workloads.items.some(w => w.name === 'looping'),
    );
    expect(looping(after)).toBe(false);
    expect(after.workloads.items.map(w => w.name)).not.toContain('looping');
    const listed = await core.listPodForAllNamespaces();
    const cached = await eventually(
      () => cache.list().pods.length,
      n => n === listed.items.length,
    );
    expect(cached).toBe(listed.items.length);
    await cache.stop();
  });

  it('counts workloads from watch events: one going unhealthy and back, one dropped by a relist after its watch expired', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'counted' } } });
    const body = (name: string, image: string) => ({
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'c', image }] },
        },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: 'counted',
      body: body('kept', 'registry.example.com/x:1'),
    });
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { restartDelayMs: 200, minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    const listed = async () =>
      (await apps.listDeploymentForAllNamespaces()).items.length;
    const counts = (h: ClusterHealth) =>
      h.workloads.healthy + h.workloads.degraded + h.workloads.failed;
    // Earlier tests left workloads of their own in the cluster: only this namespace's are asserted.
    const mine = (h: ClusterHealth) =>
      h.workloads.items.filter(w => w.namespace === 'counted');
    const figures = ({
      workloads: { healthy, degraded, failed },
    }: ClusterHealth) => ({ healthy, degraded, failed });
    // 'kept' rolled out: nothing of this namespace is behind.
    const { workloads: base } = await eventually(
      () => cache.health(),
      h => counts(h) > 0 && mine(h).length === 0,
    );
    expect(base.healthy + base.degraded + base.failed).toBe(await listed());

    // Added, failing, then rolled out with an image that starts: healthy again.
    await apps.createNamespacedDeployment({
      namespace: 'counted',
      body: body('flaky', 'registry.example.com/x:crashloop'),
    });
    const failing = await eventually(
      () => cache.health(),
      h => mine(h).some(w => w.name === 'flaky' && w.status === 'failed'),
    );
    expect(mine(failing)).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        namespace: 'counted',
        name: 'flaky',
        ready: 0,
        desired: 1,
        status: 'failed',
      }),
    ]);
    expect([failing.workloads.healthy, failing.workloads.failed]).toEqual([
      base.healthy,
      base.failed + 1,
    ]);
    await apps.patchNamespacedDeployment(
      {
        name: 'flaky',
        namespace: 'counted',
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: 'registry.example.com/x:2',
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const recovered = await eventually(
      () => cache.health(),
      h => mine(h).length === 0,
    );
    expect(figures(recovered)).toEqual({
      healthy: base.healthy + 1,
      degraded: base.degraded,
      failed: base.failed,
    });

    // The watch of deployments fails while 'flaky' is deleted; later watches can only resume from a
    // compacted resourceVersion (410), so the informer lists again and must drop 'flaky' from the list.
    sim.faults.failVerb({
      verb: 'watch',
      resource: 'deployments',
      status: 500,
    });
    sim.faults.expireWatches();
    await eventually(
      () => cache.ready,
      r => !r,
    );
    await apps.deleteNamespacedDeployment({
      name: 'flaky',
      namespace: 'counted',
    });
    sim.faults.expireWatches();
    sim.faults.clear();
    const relisted = await eventually(
      () => cache.health(),
      h => cache.ready && h.workloads.healthy === base.healthy,
    );
    expect(figures(relisted)).toEqual({
      healthy: base.healthy,
      degraded: base.degraded,
      failed: base.failed,
    });
    expect(mine(relisted)).toEqual([]);
    expect(counts(relisted)).toBe(await listed());
    expect(cache.list().deployments.map(d => d.metadata?.name)).not.toContain(
      'flaky',
    );
    await cache.stop();
  });

  it('counts the requests of running pods when the cluster serves no metrics, as pods come and go', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    // The read of usage made at start is done (a read in flight would answer after the fault).
    await eventually(
      () => cache.health().utilisation.source,
      source => source === 'metrics',
    );
    // metrics.k8s.io unavailable: utilisation comes from the pods' requests.
    sim.faults.failVerb({ verb: 'list', resource: 'nodes', status: 503 });
    await cache.refreshMetrics();
    sim.faults.clear();
    const base = cache.health().utilisation;
    expect(base.source).toBe('requests');
    const allocatable = (await core.listNode()).items.reduce(
      (s, n) => s + parseCpu(n.status?.allocatable?.cpu),
      0,
    );
    await core.createNamespace({ body: { metadata: { name: 'requests' } } });
    const body = (name: string) => ({
      metadata: { name },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'registry.example.com/x:1',
            resources: { requests: { cpu: '250m', memory: '64Mi' } },
          },
        ],
      },
    });
    await core.createNamespacedPod({ namespace: 'requests', body: body('a') });
    await core.createNamespacedPod({ namespace: 'requests', body: body('b') });
    const grown = await eventually(
      () => cache.health().utilisation,
      u => u.cpu > base.cpu + 0.4 / allocatable,
    );
    expect(grown.cpu).toBeCloseTo(base.cpu + 0.5 / allocatable, 9);
    await core.deleteNamespacedPod({ name: 'a', namespace: 'requests' });
    const shrunk = await eventually(
      () => cache.health().utilisation,
      u => u.cpu < grown.cpu - 0.2 / allocatable,
    );
    expect(shrunk.cpu).toBeCloseTo(base.cpu + 0.25 / allocatable, 9);
    await cache.stop();
  });

  it('refreshes metrics usage while it runs, says when it was read, and falls back to requests when it is old', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0, metricsIntervalMs: 200 },
    );
    await cache.start();
    const first = await eventually(
      () => cache.health().utilisation,
      u => u.source === 'metrics',
    );
    expect(first).toMatchObject({ source: 'metrics', at: expect.any(String) });
    const allocatable = (await core.listNode()).items.reduce(
      (s, n) => s + parseCpu(n.status?.allocatable?.cpu),
      0,
    );
    // A pod that uses at least 0.6 of a core (kube-sim: 30-80% of its request) starts.
    await core.createNamespace({ body: { metadata: { name: 'usage' } } });
    await core.createNamespacedPod({
      namespace: 'usage',
      body: {
        metadata: { name: 'busy' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'registry.example.com/x:1',
              resources: { requests: { cpu: '2' } },
            },
          ],
        },
      },
    });
    const grown = await eventually(
      () => cache.health().utilisation,
      u => u.cpu > first.cpu + 0.5 / allocatable,
    );
    expect(grown.source).toBe('metrics');
    expect(grown.cpu).toBeGreaterThan(first.cpu + 0.5 / allocatable);
    expect(Date.parse(grown.at!)).toBeGreaterThan(Date.parse(first.at!));

    // metrics.k8s.io stops answering in time: after a few intervals the answer says it is from requests.
    sim.faults.setLatency(3000);
    try {
      const old = await eventually(
        () => cache.health().utilisation,
        u => u.source === 'requests',
      );
      expect(old).toMatchObject({ source: 'requests' });
      expect(old.at).toBeUndefined();
    } finally {
      sim.faults.clear();
    }
    expect(
      (
        await eventually(
          () => cache.health().utilisation,
          u => u.source === 'metrics',
        )
      ).source,
    ).toBe('metrics');
    await core.deleteNamespacedPod({ name: 'busy', namespace: 'usage' });
    await cache.stop();
  });

  it("keeps each namespace's pods in that namespace's map as pods are added, change state, are deleted and appear in another namespace", async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['moving-a', 'moving-b'])
      await core.createNamespace({ body: { metadata: { name } } });
    const cache = new ClusterHealthCache('dev', kc, mockServices.logger.mock());
    await cache.start();
    const names = (ns: string) =>
      cache
        .inNamespace(ns)
        .pods.map(p => p.metadata?.name)
        .sort();
    const ready = (ns: string) =>
      cache
        .inNamespace(ns)
        .pods.map(
          p =>
            `${p.metadata?.name}:${
              p.status?.conditions?.find(c => c.type === 'Ready')?.status ?? '-'
            }`,
        );
    const pod = {
      metadata: { name: 'mover', labels: { app: 'mover' } },
      spec: { containers: [{ name: 'c', image: 'registry.example.com/x:1' }] },
    };

    // Added, then Ready (the kubelet's update).
    await core.createNamespacedPod({ namespace: 'moving-a', body: pod });
    expect(
      await eventually(
        () => ready('moving-a'),
        r => r[0] === 'mover:True',
      ),
    ).toEqual(['mover:True']);
    expect(names('moving-b')).toEqual([]);
    // Updated: no longer Ready.
    await core.patchNamespacedPodStatus(
      {
        name: 'mover',
        namespace: 'moving-a',
        body: [
          {
            op: 'replace',
            path: '/status/conditions',
            value: [{ type: 'Ready', status: 'False' }],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(
      await eventually(
        () => ready('moving-a'),
        r => r[0] === 'mover:False',
      ),
    ).toEqual(['mover:False']);
    // Deleted, and a pod of the same name created in the other namespace.
    await core.deleteNamespacedPod({
      name: 'mover',
      namespace: 'moving-a',
      body: { gracePeriodSeconds: 0 },
    });
    await core.createNamespacedPod({ namespace: 'moving-b', body: pod });
    expect(
      await eventually(
        () => [names('moving-a'), names('moving-b')],
        ([a, b]) => a.length === 0 && b.length === 1,
      ),
    ).toEqual([[], ['mover']]);
    expect(
      await eventually(
        () => ready('moving-b'),
        r => r[0] === 'mover:True',
      ),
    ).toEqual(['mover:True']);
    // The namespaces' maps hold what the cluster holds, nothing of other namespaces.
    for (const ns of ['moving-a', 'moving-b', 'kube-system']) {
      const listed = (await core.listNamespacedPod({ namespace: ns })).items
        .map(p => p.metadata?.name)
        .sort();
      expect(names(ns)).toEqual(listed);
    }
    expect(() => cache.inNamespace('')).toThrow(/No namespace/);
    await cache.stop();
  });

  it("counts a tenant's ready pods per release from its namespace only, as they change", async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    // The same release, with the same labels, in the tenant's namespace and in another one.
    for (const namespace of ['tenant-ready', 'tenant-other']) {
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: {
            name: 'web',
            annotations: { 'meta.helm.sh/release-name': 'web' },
          },
          spec: {
            replicas: namespace === 'tenant-ready' ? 2 : 3,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: {
                containers: [{ name: 'c', image: 'registry.example.com/x:1' }],
              },
            },
          },
        },
      });
    }
    const health = new HealthService(registry, mockServices.logger.mock());
    const tenant = {
      cluster: 'dev',
      code: 'ready',
      namespace: 'tenant-ready',
      status: 'active' as const,
      releases: ['web', 'api'],
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const releases = async () => (await health.tenantHealth(tenant)).releases;
    expect(await eventually(releases, r => r[0].status === 'healthy')).toEqual([
      { name: 'web', readyPods: 2, totalPods: 2, status: 'healthy' },
      // `api` has no workload (in this namespace): nothing to be ready, and not unhealthy.
      {
        name: 'api',
        readyPods: 0,
        totalPods: 0,
        status: 'no-workloads',
        reason: 'no Deployment, StatefulSet or DaemonSet',
      },
    ]);
    // One of the tenant's pods stops being Ready: the release is degraded.
    const [first] = (
      await core.listNamespacedPod({
        namespace: 'tenant-ready',
        labelSelector: 'app=web',
      })
    ).items;
    await core.patchNamespacedPodStatus(
      {
        name: first.metadata!.name!,
        namespace: 'tenant-ready',
        body: [
          {
            op: 'replace',
            path: '/status/conditions',
            value: [{ type: 'Ready', status: 'False' }],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect((await eventually(releases, r => r[0].readyPods === 1))[0]).toEqual({
      name: 'web',
      readyPods: 1,
      totalPods: 2,
      status: 'degraded',
      reason: expect.stringMatching(/^Deployment web: /),
    });
    expect((await health.tenantHealth(tenant)).status).toBe('degraded');
    await health.stop();
  });

  it('reports a pod that cannot start for a missing ConfigMap as a config error, not an image pull', async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name: 'config-error' } },
    });
    // Bound to a node without a kubelet, so the status written below is what a kubelet would
    // write for a container whose env reads a ConfigMap that does not exist.
    await core.createNamespacedPod({
      namespace: 'config-error',
      body: {
        metadata: { name: 'needs-config', labels: { app: 'needs-config' } },
        spec: {
          nodeName: 'node-without-kubelet',
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/x:1',
              envFrom: [{ configMapRef: { name: 'app-config' } }],
            },
          ],
        },
      },
    });
    await core.patchNamespacedPodStatus(
      {
        name: 'needs-config',
        namespace: 'config-error',
        body: [
          { op: 'add', path: '/status/phase', value: 'Pending' },
          {
            op: 'add',
            path: '/status/containerStatuses',
            value: [
              {
                name: 'app',
                ready: false,
                restartCount: 0,
                image: 'registry.example.com/x:1',
                imageID: '',
                state: {
                  waiting: {
                    reason: 'CreateContainerConfigError',
                    message: 'configmap "app-config" not found',
                  },
                },
              },
            ],
          },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      {
        minRecomputeIntervalMs: 0,
      },
    );
    await cache.start();
    const mine = (h: ClusterHealth) =>
      h.alerts.filter(a => a.object === 'Pod/needs-config');
    const health = await eventually(
      () => cache.health(),
      h => mine(h).length > 0,
    );
    expect(mine(health)).toEqual([
      {
        type: 'config-error',
        namespace: 'config-error',
        object: 'Pod/needs-config',
        reason: 'CreateContainerConfigError',
        message:
          'pod needs-config container app: CreateContainerConfigError (configmap "app-config" not found)',
      },
    ]);
    // A container that cannot start is a problem of the cluster, as an image pull failure is.
    expect(health.status).toBe('degraded');
    await core.deleteNamespacedPod({
      name: 'needs-config',
      namespace: 'config-error',
      body: { gracePeriodSeconds: 0 },
    });
    await cache.stop();
  });

  it("does not name another pod's problem for a workload whose selector has no matchLabels", async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({
      body: { metadata: { name: 'empty-selector' } },
    });
    // Selected by an expression only (matchLabels empty), and behind: its pod fits no node.
    await apps.createNamespacedDeployment({
      namespace: 'empty-selector',
      body: {
        metadata: { name: 'by-expression' },
        spec: {
          replicas: 1,
          selector: {
            matchExpressions: [
              { key: 'app', operator: 'In', values: ['by-expression'] },
            ],
          },
          template: {
            metadata: { labels: { app: 'by-expression' } },
            spec: {
              nodeSelector: { 'example.com/no-such-node': 'true' },
              containers: [{ name: 'c', image: 'registry.example.com/x:1' }],
            },
          },
        },
      },
    });
    // An unrelated pod of the namespace that crash-loops.
    await core.createNamespacedPod({
      namespace: 'empty-selector',
      body: {
        metadata: { name: 'loner', labels: { app: 'loner' } },
        spec: {
          containers: [
            { name: 'c', image: 'registry.example.com/x:crashloop' },
          ],
        },
      },
    });
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      {
        minRecomputeIntervalMs: 0,
      },
    );
    await cache.start();
    const health = await eventually(
      () => cache.health(),
      h =>
        h.alerts.some(
          a => a.object === 'Pod/loner' && a.type === 'crash-loop',
        ) && h.workloads.items.some(w => w.name === 'by-expression'),
    );
    const item = health.workloads.items.find(w => w.name === 'by-expression');
    expect(item).toMatchObject({
      namespace: 'empty-selector',
      ready: 0,
      desired: 1,
      // Nothing of it fails: its pod waits for a node.
      status: 'degraded',
    });
    expect(item?.reason).not.toMatch(/loner|CrashLoopBackOff/);
    expect(item?.reason).toMatch(/^0\/1 ready/);
    await cache.stop();
  });

  it("does not name a canary's failing pod for a workload whose matchExpressions leave the canary out", async () => {
    const kc = registry.kubeConfig('dev');
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'canary-card' } } });
    // web selects app=web except track=canary, and is behind: its pod fits no node.
    await apps.createNamespacedDeployment({
      namespace: 'canary-card',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: {
            matchLabels: { app: 'web' },
            matchExpressions: [
              { key: 'track', operator: 'NotIn', values: ['canary'] },
            ],
          },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              nodeSelector: { 'example.com/no-such-node': 'true' },
              containers: [{ name: 'c', image: 'registry.example.com/x:1' }],
            },
          },
        },
      },
    });
    // Its canary (app=web, track=canary) crash-loops.
    await apps.createNamespacedDeployment({
      namespace: 'canary-card',
      body: {
        metadata: { name: 'web-canary' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web', track: 'canary' } },
          template: {
            metadata: { labels: { app: 'web', track: 'canary' } },
            spec: {
              containers: [
                { name: 'c', image: 'registry.example.com/x:crashloop' },
              ],
            },
          },
        },
      },
    });
    const cache = new ClusterHealthCache(
      'dev',
      kc,
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    const health = await eventually(
      () => cache.health(),
      h =>
        h.alerts.some(
          a =>
            a.namespace === 'canary-card' &&
            a.type === 'crash-loop' &&
            a.object.startsWith('Pod/web-canary-'),
        ) &&
        h.workloads.items.some(
          w => w.namespace === 'canary-card' && w.name === 'web',
        ),
    );
    const web = health.workloads.items.find(
      w => w.namespace === 'canary-card' && w.name === 'web',
    );
    expect(web).toMatchObject({ ready: 0, desired: 1, status: 'degraded' });
    expect(web?.reason).not.toMatch(/web-canary|CrashLoopBackOff/);
    expect(web?.reason).toMatch(/^0\/1 ready/);
    // The canary names its own failing pod.
    const canary = health.workloads.items.find(
      w => w.namespace === 'canary-card' && w.name === 'web-canary',
    );
    expect(canary?.reason).toMatch(
      /pod web-canary-\S+ container c: CrashLoopBackOff/,
    );
    await cache.stop();
  });

  it('does not count an informer waiting to list again after repeated 410s as current: it follows the cluster until its last proof', async () => {
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      { restartDelayMs: 200, minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    const startedAt = Date.now();
    expect(cache.freshness(startedAt).followedUntil).toBe(startedAt);
    // A server that expires every watch soon after it is opened: after the first 410 in a row the
    // informers wait before they list again, with no watch open.
    const behind: number[] = [];
    for (let i = 0; i < 20; i++) {
      sim.faults.expireWatches();
      await new Promise(r => setTimeout(r, 100));
      const now = Date.now();
      const { followedUntil } = cache.freshness(now);
      // Still following the cluster (a short wait is no failure), but not as of now.
      expect(cache.follows()).toBe(true);
      expect(followedUntil).toBeGreaterThanOrEqual(startedAt);
      expect(followedUntil).toBeLessThanOrEqual(now);
      if (followedUntil! < now) behind.push(now - followedUntil!);
    }
    expect(behind.length).toBeGreaterThan(0);
    // Watches that last again: once each informer listed, it is current as of now again.
    sim.faults.clear();
    const current = await eventually(
      () => {
        const now = Date.now();
        return cache.freshness(now).followedUntil === now;
      },
      v => v,
    );
    expect(current).toBe(true);
    await cache.stop();
  });

  it('recovers when the cluster was down at start-up', async () => {
    sim.faults.stopApi();
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      { restartDelayMs: 200 },
    );
    await cache.start();
    expect(cache.health()).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/Kubernetes API of cluster "dev"/),
    });
    // It never followed the cluster: there is no time it was last seen.
    expect(cache.health().lastSeenAt).toBeUndefined();
    sim.faults.startApi();
    const back = await eventually(
      () => cache.health(),
      h => h.status !== 'error',
    );
    expect(back.nodes.total).toBe(3);
    await cache.stop();
  });
});
