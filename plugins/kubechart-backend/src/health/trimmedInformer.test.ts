import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';

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
    const cache = new ClusterHealthCache('dev', registry.kubeConfig('dev'), mockServices.logger.mock());
    await cache.start();
    await core.createNamespacedPod({ namespace: 'trim', body: pod('watched') });
    let cached: V1Pod[] = [];
    for (let i = 0; i < 100 && cached.length < 2; i++) {
      cached = cache.list().pods.filter(p => p.metadata?.namespace === 'trim');
      await new Promise(r => setTimeout(r, 100));
    }
    expect(cached.map(p => p.metadata?.name).sort()).toEqual(['listed', 'watched']);
    const served = (await core.readNamespacedPod({ name: 'watched', namespace: 'trim' }));
    expect(served.metadata?.managedFields?.length).toBeGreaterThan(0);
    for (const p of cached) {
      expect(p.metadata).toEqual({
        name: p.metadata?.name,
        namespace: 'trim',
        uid: expect.any(String),
        resourceVersion: expect.any(String),
        labels: { app: 'shop', 'kubechart.io/tenant': 'acme' },
      });
      expect(p.spec).toEqual({ containers: [{ name: 'web', resources: { requests: { cpu: '250m', memory: '64Mi' } } }] });
      expect(JSON.stringify(p).length).toBeLessThan(2_000);
    }
    // The pods' state as kube-sim's kubelet reports it (later watch updates) is kept.
    expect(cached.every(p => p.status?.phase)).toBe(true);
    await cache.stop();
  });
});
