import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startSim, testConfig } from './__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from './__testUtils__/backend';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

type Published = {
  recipients: { type: string };
  channel: string;
  message: Record<string, unknown>;
};

/**
 * `kubechart:cluster-health` is heard by every signed-in user, also by one whose policy denies
 * `kubechart.clusters.read` (which `GET /clusters` and `GET /clusters/:name/health` require): it
 * says only that there is something to fetch again, not which cluster nor how it is.
 */
describe('the cluster health signal', () => {
  let sim: KubeSim;
  let stop: () => Promise<void>;
  const published: Published[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, { health: { startOnBoot: true } }),
      knex: await databases.init('SQLITE_3'),
      onSignal: s => published.push(s as Published),
    });
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('names no cluster and no status when a cluster becomes degraded', async () => {
    // The cache has listed the cluster: its status so far is what a change is told against.
    await new Promise(r => setTimeout(r, 3000));
    const kc = simKubeConfig(sim);
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'health-signal' } } });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'health-signal',
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
    const told = () =>
      published.filter(p => p.channel === 'kubechart:cluster-health');
    for (let i = 0; i < 300 && !told().length; i++)
      await new Promise(r => setTimeout(r, 100));
    expect(told().length).toBeGreaterThan(0);
    for (const p of told())
      expect(p).toEqual({
        recipients: { type: 'broadcast' },
        channel: 'kubechart:cluster-health',
        message: { type: 'refetch' },
      });
  });
});
