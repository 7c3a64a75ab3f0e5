import { dirname, join } from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

// kube-sim's chart whose Deployment says `spec.replica` (a typo of `replicas`). A real API server
// refuses it under helm 4's server-side apply with a 500 (../shared/reference/kube-api/fields/06-…),
// and kube-sim now answers the same, so the run must fail with that reason instead of "succeeding".
const kubeSimFixtures = join(
  dirname(require.resolve('@internal/kube-sim/package.json')),
  'src/__fixtures__',
);

describe.each(databases.eachSupportedId())(
  'a chart with a misspelled field on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    it("fails the helm 4 run with the API server's reason and leaves no Deployment", async () => {
      const config = testConfig(sim);
      config.kubechart.helm.chartDirectories = [kubeSimFixtures];
      const { engine, store, clusters } = await createTestEngine({
        databases,
        databaseId,
        sim,
        config,
        helm: 'helm4',
      });
      const run = await engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'typo',
          releases: [{ name: 'shop', chart: 'typo-chart' }],
        },
        'user:default/alice',
      );
      await engine.waitFor(run.id);
      const done = (await store.getRun(run.id))!;
      expect(done.status).toBe('failed');
      expect(done.failureReason).toContain(
        'failed to create typed patch object (/shop-web; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema',
      );
      await expect(
        clusters
          .kubeConfig('dev')
          .makeApiClient(AppsV1Api)
          .readNamespacedDeployment({
            name: 'shop-web',
            namespace: 'tenant-typo',
          }),
      ).rejects.toMatchObject({ code: 404 });
    });
  },
);
