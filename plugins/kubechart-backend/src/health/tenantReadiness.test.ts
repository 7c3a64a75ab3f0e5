import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { TenantHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { HealthService } from './HealthService';

jest.setTimeout(90_000);

async function eventually<T>(
  fn: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

const deployment = (name: string, replicas: number, image: string) => ({
  metadata: { name, annotations: { 'meta.helm.sh/release-name': name } },
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

describe('tenant readiness of what the release workloads do not show', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let health: HealthService;
  const core = () => registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  const apps = () => registry.kubeConfig('dev').makeApiClient(AppsV1Api);
  const batch = () => registry.kubeConfig('dev').makeApiClient(BatchV1Api);

  beforeAll(async () => {
    sim = await startSim({ nodes: 2 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
  });
  afterEach(() => health?.stop());
  afterAll(() => sim.stop());

  it('does not call a tenant healthy once its namespace (and every workload of its release) is gone', async () => {
    const ns = 'gone-ns';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', 2, 'registry.example.com/x:1'),
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['web']);
    const before = await eventually(
      () => health.tenantHealth(tenant),
      h => h.status === 'healthy',
    );
    expect(release(before, 'web')).toMatchObject({
      status: 'healthy',
      readyPods: 2,
    });

    await core().deleteNamespace({ name: ns });
    await eventually(
      async () => {
        try {
          await core().readNamespace({ name: ns });
          return false;
        } catch {
          return true;
        }
      },
      gone => gone,
    );
    const after = await eventually(
      () => health.tenantHealth(tenant),
      h => release(h, 'web')?.status !== 'healthy',
    );
    // The tenant's namespace no longer exists: its release 'web' runs nothing at all.
    expect(after.status).toBe('unhealthy');
    expect(after.message).toMatch(/namespace gone-ns does not exist/);
  });

  it("does not call a tenant healthy while its release's Job crash-loops", async () => {
    const ns = 'job-crash';
    await core().createNamespace({ body: { metadata: { name: ns } } });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deployment('app', 1, 'registry.example.com/x:1'),
    });
    // The same release's migration Job: its pod crash-loops.
    await batch().createNamespacedJob({
      namespace: ns,
      body: {
        metadata: {
          name: 'app-migrate',
          annotations: { 'meta.helm.sh/release-name': 'app' },
        },
        spec: {
          backoffLimit: 100,
          template: {
            spec: {
              restartPolicy: 'OnFailure',
              containers: [
                { name: 'migrate', image: 'registry.example.com/m:crashloop' },
              ],
            },
          },
        },
      },
    });
    health = new HealthService(registry, mockServices.logger.mock());
    const tenant = tenantOf(ns, ['app']);
    // The cluster sees the crash loop in the tenant's namespace …
    const cluster = await eventually(
      () => health.clusterHealth('dev'),
      h => h.alerts.some(a => a.namespace === ns && a.type === 'crash-loop'),
    );
    expect(
      cluster.alerts.some(a => a.namespace === ns && a.type === 'crash-loop'),
    ).toBe(true);
    // … the tenant's own health card should too.
    const h = await eventually(
      () => health.tenantHealth(tenant),
      x => x.status !== 'healthy',
      8_000,
    );
    expect(h.status).toBe('degraded');
    expect(h.message).toMatch(/Pod app-migrate/);
    // The Deployment of the release still serves.
    expect(release(h, 'app')).toMatchObject({ status: 'healthy' });
  });
});
