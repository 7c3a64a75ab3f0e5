import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { clusterHealthFor } from '../service/clusterHealthScope';
import { HealthService } from './HealthService';

jest.setTimeout(120_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 40_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 200));
  }
}

const deployment = (name: string, image: string) => ({
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

describe('per-caller view of a cluster health answer', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let health: HealthService;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  const apps = () => registry.kubeConfig('dev').makeApiClient(AppsV1Api);

  beforeAll(async () => {
    sim = await startSim({ nodes: 2 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterEach(() => health?.stop());
  afterAll(() => sim.stop());

  it("still names a tenant's own failing workload and crash-looping pod to it when another tenant has 51 failing ones", async () => {
    const noisy = 'aaa-noisy';
    const victim = 'zzz-victim';
    await core().createNamespace({ body: { metadata: { name: noisy } } });
    await core().createNamespace({ body: { metadata: { name: victim } } });
    for (let i = 0; i < 51; i++)
      await apps().createNamespacedDeployment({
        namespace: noisy,
        body: deployment(
          `n${String(i).padStart(2, '0')}`,
          'example/x:crashloop',
        ),
      });
    await apps().createNamespacedDeployment({
      namespace: victim,
      body: deployment('api', 'example/x:crashloop'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const h = await eventually(
      () => health.clusterHealth('dev'),
      x => x.workloads.failed >= 52 && (x.alertsTotal ?? 0) >= 52,
    );
    expect(h.workloads.failed).toBeGreaterThanOrEqual(52);
    // What the owner of zzz-victim (who may read only that namespace) is shown.
    const mine = clusterHealthFor(h, new Set([victim]));
    expect(mine.workloads.items).toContainEqual(
      expect.objectContaining({ namespace: victim, name: 'api' }),
    );
    expect(mine.alerts).toContainEqual(
      expect.objectContaining({ namespace: victim, type: 'crash-loop' }),
    );
  });
});
