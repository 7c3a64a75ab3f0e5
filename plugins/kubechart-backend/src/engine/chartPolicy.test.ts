import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { parseManifests } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

describe.each(['helm3', 'helm4'] as const)(
  'chart policy on what is applied, with real %s against kube-sim',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let store: typeof created.store;
    let core: CoreV1Api;
    let batch: BatchV1Api;
    let objects: KubernetesObjectApi;
    const code = `pol${helmBin.slice(-1)}`;
    const ns = `tenant-${code}`;

    const finish = async (request: any) => {
      const run = await engine.submit(request, 'user:default/alice', alice);
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    const chart = (
      name: string,
      chartName: string,
      values: Record<string, unknown> = {},
    ) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ns,
      release: { name, chart: chartName, values },
    });
    /** What helm left in the namespace for a release: its objects and its release records. */
    const applied = async (release: string) => ({
      configMaps: (await core.listNamespacedConfigMap({ namespace: ns })).items
        .map(c => c.metadata?.name)
        .filter(n => n?.startsWith(release)),
      jobs: (await batch.listNamespacedJob({ namespace: ns })).items
        .map(j => j.metadata?.name)
        .filter(n => n?.startsWith(release)),
      releases: (
        await core.listNamespacedSecret({
          namespace: ns,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items.length,
    });
    const nothing = { configMaps: [], jobs: [], releases: 0 };

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
      });
      ({ engine, store } = created);
      const config = created.clusters.kubeConfig('dev');
      core = config.makeApiClient(CoreV1Api);
      batch = config.makeApiClient(BatchV1Api);
      objects = KubernetesObjectApi.makeApiClient(config);
      const tenant = await finish({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
    });
    afterAll(() => sim?.stop());

    it('refuses a hook Job that only a render against the cluster makes privileged, before helm applies anything', async () => {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'hook-mode' }, data: { privileged: 'true' } },
      });
      try {
        const run = await finish(chart('hk', 'hookcheck'));
        expect(run.status).toBe('failed');
        // helm 3 does not post-render hooks: the engine checks them as helm renders them, first;
        // helm 4 post-renders them, so its post-render gate refuses them.
        expect(run.failureReason).toContain(
          helmBin === 'helm3'
            ? 'Chart policy (enforce) blocked the hooks of release hk; nothing was applied'
            : 'Chart policy (enforce) refused what helm was about to apply',
        );
        expect(run.failureReason).toContain('[no-privileged] Job/hk-migrate');
        expect(run.policyReport?.results).toContainEqual(
          expect.objectContaining({
            ruleId: 'no-privileged',
            passed: false,
            release: 'hk',
            object: expect.objectContaining({
              kind: 'Job',
              name: 'hk-migrate',
            }),
          }),
        );
        expect(await applied('hk')).toEqual(nothing);
      } finally {
        await core.deleteNamespacedConfigMap({
          namespace: ns,
          name: 'hook-mode',
        });
      }
      // Without the cluster's switch the same chart, hook included, installs.
      const ok = await finish(chart('hk', 'hookcheck'));
      expect({ status: ok.status, reason: ok.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect((await applied('hk')).configMaps).toEqual(['hk-cfg']);
    });

    it("checks the CRDs of the chart's crds/ (which helm neither templates nor post-renders) and refuses the run before any apply", async () => {
      const run = await finish(chart('crd', 'withcrd'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'Chart policy (enforce) blocked release crd; nothing was installed',
      );
      expect(run.failureReason).toContain(
        '[run-scope] CustomResourceDefinition/widgets.example.com',
      );
      expect(await applied('crd')).toEqual(nothing);
      const crds = await objects
        .list('apiextensions.k8s.io/v1', 'CustomResourceDefinition')
        .then(
          l => l.items.map(i => i.metadata?.name),
          () => [],
        );
      expect(crds).not.toContain('widgets.example.com');
    });

    it('stores as the manifest of a run exactly what the cluster received', async () => {
      const run = await finish(chart('shop', 'webapp', { replicas: 1 }));
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const stored = parseManifests(run.manifest!);
      expect(stored.map(o => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
        'Deployment/shop',
        'PodDisruptionBudget/shop',
        'Service/shop',
      ]);
      for (const sent of stored) {
        const live = await objects.read({
          apiVersion: sent.apiVersion!,
          kind: sent.kind!,
          metadata: { name: sent.metadata!.name!, namespace: ns },
        });
        // Every field of the stored object is what the API server holds (it adds defaults and status).
        const { metadata, ...body } = sent;
        expect(live).toMatchObject(JSON.parse(JSON.stringify(body)));
        expect(live.metadata?.labels ?? {}).toMatchObject(
          metadata?.labels ?? {},
        );
      }
      // Nothing else carries this release.
      const deployments = await objects.list('apps/v1', 'Deployment', ns);
      expect(
        deployments.items
          .filter(
            d =>
              d.metadata?.annotations?.['meta.helm.sh/release-name'] === 'shop',
          )
          .map(d => d.metadata?.name),
      ).toEqual(['shop']);
    });

    it("lists every release's objects in a tenant run's report, with each chart's digest and unknown values as warnings", async () => {
      const request = {
        kind: 'tenant' as const,
        cluster: 'dev',
        tenant: `multi${helmBin.slice(-1)}`,
        releases: [
          {
            name: 'web',
            chart: 'webapp',
            values: { replicas: 1, privileged: true },
          },
          { name: 'api', chart: 'webapp', values: { replicas: 1 } },
        ],
      };
      const run = await finish(request);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      for (const report of [run.policyReport!]) {
        const byRelease = (r: string) =>
          report.results
            .filter(x => x.release === r && x.object.kind === 'Deployment')
            .map(x => x.object.name);
        expect(new Set(byRelease('web'))).toEqual(new Set(['web']));
        expect(new Set(byRelease('api'))).toEqual(new Set(['api']));
        expect(report.summary.objects).toBe(6);
        expect(
          report.charts?.map(c => [c.release, c.chart, c.version]),
        ).toEqual([
          ['web', 'webapp', '0.1.0'],
          ['api', 'webapp', '0.1.0'],
        ]);
        expect(report.charts?.[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(
          report.results.filter(x => x.ruleId === 'unknown-value'),
        ).toEqual([
          expect.objectContaining({
            severity: 'warning',
            passed: false,
            release: 'web',
            message: 'value `privileged` is not used by chart webapp',
          }),
        ]);
        expect(report.summary.warnings).toBeGreaterThanOrEqual(1);
      }
      const events = await store.getEvents(run.id, { limit: 1000 });
      expect(events.map(e => e.message).join('\n')).toContain(
        `pulled once for this run: ${run.policyReport!.charts![0].digest}`,
      );
    });
  },
);
