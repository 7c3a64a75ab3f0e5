import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import type { ClusterHealth } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { ClusterHealthCache } from './ClusterHealthCache';

jest.setTimeout(120_000);

async function eventually<T>(
  fn: () => T,
  check: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 100));
  }
}

/**
 * Whoever may create workloads (a tenant's owner) can leave any number of them behind: pods that
 * cannot be scheduled, images that crash. Every user's cluster health answer (the home page
 * widget) names only the worst of them, and still counts them all.
 */
describe('ClusterHealthCache with many workloads behind', () => {
  let sim: KubeSim;
  let cache: ClusterHealthCache;
  const kcOf = () =>
    ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim))).kubeConfig(
      'dev',
    );

  beforeAll(async () => {
    sim = await startSim({ nodes: 1 });
    const kc = kcOf();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const deployment = (name: string, image: string, cpu?: string) => ({
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'c',
                image,
                ...(cpu ? { resources: { requests: { cpu } } } : {}),
              },
            ],
          },
        },
      },
    });
    for (const ns of ['flood-a', 'flood-b'])
      await core.createNamespace({ body: { metadata: { name: ns } } });
    // 70 that no node can take (degraded), in two namespaces, and 3 crashing ones (failed), created last.
    for (let i = 0; i < 70; i++)
      await apps.createNamespacedDeployment({
        namespace: i % 2 ? 'flood-b' : 'flood-a',
        body: deployment(
          `pending-${String(i).padStart(2, '0')}`,
          'registry.example.com/x:1',
          '500',
        ),
      });
    for (const name of ['crash-c', 'crash-a', 'crash-b'])
      await apps.createNamespacedDeployment({
        namespace: 'flood-b',
        body: deployment(name, 'registry.example.com/x:crashloop'),
      });
    cache = new ClusterHealthCache('dev', kc, mockServices.logger.mock(), {
      restartDelayMs: 200,
      minRecomputeIntervalMs: 0,
    });
    await cache.start();
  });
  afterAll(async () => {
    await cache?.stop();
    await sim?.stop();
  });

  const settled = () =>
    eventually(
      () => cache.health(),
      h => h.workloads.failed === 3 && h.workloads.degraded === 70,
    );

  it('names the 50 worst workloads, failed first, in a stable order, and counts every one', async () => {
    const health: ClusterHealth = await settled();
    const listed = (
      await kcOf().makeApiClient(AppsV1Api).listDeploymentForAllNamespaces()
    ).items.length;
    expect(health.workloads).toMatchObject({
      healthy: listed - 73,
      degraded: 70,
      failed: 3,
    });
    expect(health.message).toBe(
      '3 workload(s) failed, 70 workload(s) degraded',
    );
    const named = health.workloads.items.map(
      w => `${w.status} ${w.namespace}/${w.name}`,
    );
    // Failed before degraded; then by namespace and name.
    const pending = Array.from(
      { length: 70 },
      (_, i) =>
        `degraded ${i % 2 ? 'flood-b' : 'flood-a'}/pending-${String(i).padStart(
          2,
          '0',
        )}`,
    ).sort();
    expect(named).toEqual([
      'failed flood-b/crash-a',
      'failed flood-b/crash-b',
      'failed flood-b/crash-c',
      ...pending.slice(0, 47),
    ]);
    // The answer stays small: 50 items whatever the number behind.
    expect(JSON.stringify(health.workloads.items).length).toBeLessThan(20_000);
  });

  it('says how many alerts there are in all beside the first ones it names', async () => {
    await settled();
    const core = kcOf().makeApiClient(CoreV1Api);
    // Every alert: the 3 crash-looping pods and each warning event (nodes are all Ready). Warnings
    // keep coming (back-offs), so the cache and the API are compared until they agree.
    let expected = -1;
    let warnings = 0;
    let health = cache.health();
    for (const start = Date.now(); Date.now() - start < 30_000; ) {
      warnings = (await core.listEventForAllNamespaces()).items.filter(
        e => e.type === 'Warning',
      ).length;
      expected = 3 + warnings;
      health = cache.health();
      if (health.alertsTotal === expected) break;
      await new Promise(r => setTimeout(r, 200));
    }
    expect(health.alertsTotal).toBe(expected);
    expect(health.alertsTotal).toBeGreaterThan(health.alerts.length);
    // It names the crash-looping pods and the 20 newest warnings.
    expect(health.alerts.length).toBe(3 + Math.min(20, warnings));
  });
});
