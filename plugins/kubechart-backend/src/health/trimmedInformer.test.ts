import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api, V1ConfigMap, V1Job, V1Pod } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';
import { makeListPages } from './listPages';
import { makeTrimmedInformer, trimJob, trimPod } from './trimmedInformer';

jest.setTimeout(60_000);

const pod = (name: string): V1Pod => ({
  metadata: {
    name,
    labels: { app: 'shop', 'kubechart.io/tenant': 'acme' },
    annotations: { 'example.com/big': 'x'.repeat(20_000) },
  },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'registry.example.com/shop:1.0',
        env: [{ name: 'GREETING', value: 'y'.repeat(5_000) }],
        resources: { requests: { cpu: '250m', memory: '64Mi' } },
      },
    ],
  },
});

describe('what tenant health keeps of Jobs and of their pods', () => {
  const job = (owner?: string): V1Job => ({
    metadata: {
      name: 'nightly-100',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: '7',
      creationTimestamp: new Date('2026-01-01T03:00:00Z'),
      labels: { app: 'shop' },
      annotations: {
        'meta.helm.sh/release-name': 'shop',
        'example.com/big': 'x'.repeat(20_000),
      },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'batch/v1',
                kind: owner,
                name: 'nightly',
                uid: 'c-1',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'c', image: 'x', env: [{ name: 'A', value: 'y' }] },
          ],
        },
      },
    },
    status: {
      failed: 7,
      conditions: [
        { type: 'FailureTarget', status: 'True' },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'connect failed: DB_PASSWORD=hunter2',
        },
      ],
    },
  });

  it("keeps a Job's name, release, CronJob and how it failed, its secrets hidden", () => {
    expect(trimJob(job('CronJob'))).toEqual({
      metadata: {
        name: 'nightly-100',
        namespace: 'shop',
        uid: 'u-1',
        resourceVersion: '7',
        creationTimestamp: new Date('2026-01-01T03:00:00Z'),
        annotations: { 'meta.helm.sh/release-name': 'shop' },
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            name: 'nightly',
            uid: 'c-1',
            controller: true,
          },
        ],
      },
      status: {
        conditions: [
          { type: 'FailureTarget', status: 'True' },
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'connect failed: DB_PASSWORD=***',
          },
        ],
      },
    });
    // An owner that is not a CronJob is not kept.
    expect(
      trimJob(job('Deployment')).metadata?.ownerReferences,
    ).toBeUndefined();
  });

  it("keeps a pod's Job and release, and no other owner or annotation", () => {
    const jobPod = (kind: string, uid = 'u-1'): V1Pod => ({
      metadata: {
        name: 'p',
        namespace: 'shop',
        annotations: {
          'meta.helm.sh/release-name': 'shop',
          'example.com/big': 'x',
        },
        ownerReferences: [
          { apiVersion: 'batch/v1', kind, name: 'j', uid, controller: true },
        ],
      },
      spec: { nodeName: 'node-1', containers: [] },
    });
    expect(trimPod(jobPod('Job')).metadata).toEqual({
      name: 'p',
      namespace: 'shop',
      annotations: { 'meta.helm.sh/release-name': 'shop' },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: 'j',
          uid: 'u-1',
          controller: true,
        },
      ],
    });
    expect(
      trimPod(jobPod('ReplicaSet')).metadata?.ownerReferences,
    ).toBeUndefined();
    // An owner reference the API server did not bound names no Job: not kept.
    expect(
      trimPod(jobPod('Job', 'u'.repeat(100_000))).metadata?.ownerReferences,
    ).toBeUndefined();
  });
});

describe('the health cache keeps trimmed pods', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  beforeAll(async () => {
    sim = await startSim({ nodes: 1 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterAll(() => sim.stop());

  it('from the list and from watch events: what health reads, without images, env, annotations or managed fields', async () => {
    const core = registry.kubeConfig('dev').makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'trim' } } });
    await core.createNamespacedPod({ namespace: 'trim', body: pod('listed') });
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
    );
    await cache.start();
    await core.createNamespacedPod({ namespace: 'trim', body: pod('watched') });
    let cached: V1Pod[] = [];
    for (let i = 0; i < 100 && cached.length < 2; i++) {
      cached = cache.list().pods.filter(p => p.metadata?.namespace === 'trim');
      await new Promise(r => setTimeout(r, 100));
    }
    expect(cached.map(p => p.metadata?.name).sort()).toEqual([
      'listed',
      'watched',
    ]);
    const served = await core.readNamespacedPod({
      name: 'watched',
      namespace: 'trim',
    });
    expect(served.metadata?.managedFields?.length).toBeGreaterThan(0);
    for (const p of cached) {
      expect(p.metadata).toEqual({
        name: p.metadata?.name,
        namespace: 'trim',
        uid: expect.any(String),
        resourceVersion: expect.any(String),
        labels: { app: 'shop', 'kubechart.io/tenant': 'acme' },
      });
      // The node it is bound to: utilisation counts requests on the nodes that take pods.
      expect(p.spec).toEqual({
        nodeName: 'kube-sim-node-1',
        containers: [
          {
            name: 'web',
            resources: { requests: { cpu: '250m', memory: '64Mi' } },
          },
        ],
      });
      expect(JSON.stringify(p).length).toBeLessThan(2_000);
    }
    // The pods' state as kube-sim's kubelet reports it (later watch updates) is kept.
    expect(cached.every(p => p.status?.phase)).toBe(true);
    await cache.stop();
  });

  it('keeps warning events only, and shows the newest as alerts', async () => {
    const core = registry.kubeConfig('dev').makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'events' } } });
    const event = (name: string, type: string, reason: string, at: string) => ({
      metadata: {
        name,
        namespace: 'events',
        annotations: { 'example.com/big': 'x'.repeat(5_000) },
      },
      involvedObject: {
        kind: 'Pod',
        namespace: 'events',
        name: 'web-1',
        apiVersion: 'v1',
      },
      type,
      reason,
      message: `${reason} of web-1`,
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: new Date(at),
      lastTimestamp: new Date(at),
      count: 3,
    });
    await core.createNamespacedEvent({
      namespace: 'events',
      body: event('listed', 'Warning', 'BackOff', '2026-01-01T10:00:00Z'),
    });
    await core.createNamespacedEvent({
      namespace: 'events',
      body: event('normal', 'Normal', 'Pulled', '2026-01-01T10:00:01Z'),
    });
    const cache = new ClusterHealthCache(
      'dev',
      registry.kubeConfig('dev'),
      mockServices.logger.mock(),
      { minRecomputeIntervalMs: 0 },
    );
    await cache.start();
    await core.createNamespacedEvent({
      namespace: 'events',
      body: event('watched', 'Warning', 'FailedMount', '2026-01-01T10:00:02Z'),
    });
    let alerts = cache.health().alerts;
    for (
      let i = 0;
      i < 100 && !alerts.some(a => a.reason === 'FailedMount');
      i++
    ) {
      await new Promise(r => setTimeout(r, 100));
      alerts = cache.health().alerts;
    }
    const mine = alerts.filter(
      a => a.type === 'warning-event' && a.namespace === 'events',
    );
    expect(mine).toEqual([
      {
        type: 'warning-event',
        namespace: 'events',
        object: 'Pod/web-1',
        reason: 'FailedMount',
        message: 'FailedMount of web-1',
        at: '2026-01-01T10:00:02.000Z',
      },
      {
        type: 'warning-event',
        namespace: 'events',
        object: 'Pod/web-1',
        reason: 'BackOff',
        message: 'BackOff of web-1',
        at: '2026-01-01T10:00:00.000Z',
      },
    ]);
    await cache.stop();
  });

  it('relisting, keeps the cached object of every unchanged object and trims only what changed', async () => {
    const kubeConfig = registry.kubeConfig('dev');
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'reuse' } } });
    const configMap = (name: string, n: string) => ({
      metadata: { name },
      data: { n, big: 'x'.repeat(1_000) },
    });
    for (let i = 0; i < 30; i++)
      await core.createNamespacedConfigMap({
        namespace: 'reuse',
        body: configMap(`cm-${i}`, String(i)),
      });
    const path = '/api/v1/namespaces/reuse/configmaps';
    const pages = makeListPages(kubeConfig);
    const listPage = pages.list<V1ConfigMap>(path);
    let listed = 0;
    const trimmed: string[] = [];
    const informer = makeTrimmedInformer<V1ConfigMap>(
      kubeConfig,
      path,
      (page, map) => {
        listed++;
        return listPage({ ...page, limit: 7 }, map);
      },
      cm => {
        trimmed.push(cm.metadata?.name ?? '');
        return {
          metadata: {
            name: cm.metadata?.name,
            namespace: cm.metadata?.namespace,
            resourceVersion: cm.metadata?.resourceVersion,
          },
          data: { n: cm.data?.n ?? '' },
        };
      },
    );
    const errors: unknown[] = [];
    informer.on('error', e => errors.push(e));
    await informer.start();
    const before = new Map(
      informer.list().map(cm => [cm.metadata?.name ?? '', cm]),
    );
    expect(before.size).toBeGreaterThanOrEqual(30);

    // The watch fails, cm-7 changes meanwhile, and the watch can then only resume from a compacted
    // resourceVersion: started again, the informer lists again.
    sim.faults.failVerb({ verb: 'watch', resource: 'configmaps', status: 500 });
    sim.faults.expireWatches();
    for (let i = 0; i < 100 && errors.length === 0; i++)
      await new Promise(r => setTimeout(r, 50));
    expect(errors.length).toBeGreaterThan(0);
    await core.replaceNamespacedConfigMap({
      name: 'cm-7',
      namespace: 'reuse',
      body: configMap('cm-7', 'changed'),
    });
    sim.faults.expireWatches();
    sim.faults.clear();
    listed = 0;
    trimmed.length = 0;
    await informer.start();

    expect(listed).toBeGreaterThan(1);
    expect(trimmed).toEqual(['cm-7']);
    expect(informer.get('cm-7', 'reuse')?.data).toEqual({ n: 'changed' });
    // The very objects cached before: not copies.
    const unchanged = [...before].filter(([name]) => name !== 'cm-7');
    expect(
      unchanged.filter(([name, cm]) => informer.get(name, 'reuse') !== cm),
    ).toEqual([]);
    expect(informer.list()).toHaveLength(before.size);
    await informer.stop();
    pages.close();
  });
});
