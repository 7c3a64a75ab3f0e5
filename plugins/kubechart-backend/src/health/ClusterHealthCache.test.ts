import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';

jest.setTimeout(60_000);

async function eventually<T>(fn: () => T | Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
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
    const cache = new ClusterHealthCache('dev', registry.kubeConfig('dev'), mockServices.logger.mock(), {
      restartDelayMs: 200,
      onChange: h => changes.push(h.status),
    });
    await cache.start();
    const first = cache.health();
    expect(first).toMatchObject({ cluster: 'dev', status: 'ok', nodes: { ready: 3, total: 3 } });
    expect(first.utilisation.source).toMatch(/metrics|requests/);

    const kc = registry.kubeConfig('dev');
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'health-test' } } });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'health-test',
      body: {
        metadata: { name: 'crashy' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'crashy' } },
          template: { metadata: { labels: { app: 'crashy' } }, spec: { containers: [{ name: 'c', image: 'registry.example.com/x:crashloop' }] } },
        },
      },
    });
    const degraded = await eventually(() => cache.health(), h => h.alerts.some(a => a.type === 'crash-loop'));
    expect(degraded.status).toBe('degraded');
    expect(degraded.workloads.items).toEqual([expect.objectContaining({ name: 'crashy', status: 'failed', reason: expect.stringContaining('CrashLoopBackOff') })]);
    expect(degraded.alerts.find(a => a.type === 'crash-loop')).toMatchObject({ namespace: 'health-test', reason: 'CrashLoopBackOff' });

    sim.faults.stopApi();
    const down = await eventually(() => cache.health(), h => h.status === 'error');
    expect(down.status).toBe('error');
    expect(down.message).toMatch(/Kubernetes API of cluster "dev"/);
    expect(await eventually(() => changes, c => c.includes('error'))).toContain('error');
    sim.faults.startApi();
    const back = await eventually(() => cache.health(), h => h.status !== 'error');
    expect(back.status).toBe('degraded');
    expect(await eventually(() => changes, c => c[c.length - 1] === 'degraded')).toEqual(['degraded', 'error', 'degraded']);
    await cache.stop();
  });

  it('recovers when the cluster was down at start-up', async () => {
    sim.faults.stopApi();
    const cache = new ClusterHealthCache('dev', registry.kubeConfig('dev'), mockServices.logger.mock(), { restartDelayMs: 200 });
    await cache.start();
    expect(cache.health()).toMatchObject({ status: 'error', message: expect.stringMatching(/Kubernetes API of cluster "dev"/) });
    sim.faults.startApi();
    const back = await eventually(() => cache.health(), h => h.status !== 'error');
    expect(back.nodes.total).toBe(3);
    await cache.stop();
  });
});
