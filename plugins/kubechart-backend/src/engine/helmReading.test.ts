import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import path from 'node:path';
import {
  chartDirectory,
  createTestEngine,
  helmBinary,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** A namespace the platform assigned to alice: no tenant, so the post-render gate adds no labels. */
const ASSIGNED = 'shop';

// The policy must judge what helm applies as helm reads it: YAML 1.1 (`yes`/`on` are true) and any
// document with an `items` array read as a list whose items are created. Each case below ran a
// privileged or host-sharing pod in the cluster while the run reported success.
describe.each(['helm3', 'helm4'] as const)(
  'the policy reads manifests as real %s does, against kube-sim',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    let batch: BatchV1Api;
    const tenantNs = `tenant-read${helmBin.slice(-1)}`;

    const finish = async (request: any) => {
      const run = await engine.submit(request, 'user:default/alice', alice);
      await engine.waitFor(run.id);
      return (await created.store.getRun(run.id))!;
    };
    const chart = (
      namespace: string,
      name: string,
      chartName: string,
      values: Record<string, unknown> = {},
    ) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace,
      release: { name, chart: chartName, values },
    });
    const outcome = (run: { status: string; failureReason?: string }) => ({
      status: run.status,
      reason: run.failureReason,
    });
    const failedRules = (run: { policyReport?: any }) =>
      [
        ...new Set(
          (run.policyReport?.results ?? [])
            .filter((r: any) => !r.passed && r.severity === 'error')
            .map((r: any) => `${r.ruleId} ${r.object.kind}/${r.object.name}`),
        ),
      ].sort();
    const pods = async (namespace: string) =>
      (await core.listNamespacedPod({ namespace })).items.map(p => ({
        name: p.metadata?.name,
        hostNetwork: p.spec?.hostNetwork,
        hostPID: p.spec?.hostPID,
        privileged: p.spec?.containers?.some(
          c => c.securityContext?.privileged,
        ),
      }));
    const deployments = async (namespace: string) =>
      (await apps.listNamespacedDeployment({ namespace })).items.map(d => ({
        name: d.metadata?.name,
        hostNetwork: d.spec?.template.spec?.hostNetwork ?? false,
        privileged:
          d.spec?.template.spec?.containers.some(
            c => c.securityContext?.privileged,
          ) ?? false,
      }));

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        config: testConfig(sim, {
          clusters: {
            dev: {
              namespaces: { [ASSIGNED]: { owner: 'user:default/alice' } },
            },
          },
        }),
      });
      ({ engine } = created);
      const config = created.clusters.kubeConfig('dev');
      core = config.makeApiClient(CoreV1Api);
      apps = config.makeApiClient(AppsV1Api);
      batch = config.makeApiClient(BatchV1Api);
      // The platform creates assigned namespaces; a tenant run creates its own.
      await core.createNamespace({ body: { metadata: { name: ASSIGNED } } });
      const tenant = await finish({
        kind: 'tenant',
        cluster: 'dev',
        tenant: tenantNs.slice('tenant-'.length),
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
    });
    afterAll(() => sim?.stop());

    it('refuses hostNetwork: yes and privileged: on (true to helm) in an assigned namespace, and nothing runs', async () => {
      const plain = await finish(chart(ASSIGNED, 'flags-ok', 'hostflags'));
      expect(outcome(plain)).toEqual({
        status: 'succeeded',
        reason: undefined,
      });

      const run = await finish(
        chart(ASSIGNED, 'flags', 'hostflags', {
          hostNetwork: 'yes',
          privileged: 'on',
        }),
      );
      expect(run.status).toBe('failed');
      expect(failedRules(run)).toEqual([
        'no-host-namespaces Deployment/flags',
        'no-privileged Deployment/flags',
      ]);
      expect(await deployments(ASSIGNED)).toEqual([
        { name: 'flags-ok', hostNetwork: false, privileged: false },
      ]);
      expect((await pods(ASSIGNED)).some(p => p.hostNetwork)).toBe(false);
    });

    it('refuses hostNetwork: yes that only the render against the cluster shows (post-render gate, no tenant labels)', async () => {
      await core.createNamespacedConfigMap({
        namespace: ASSIGNED,
        body: { metadata: { name: 'flip' }, data: { on: 'true' } },
      });
      try {
        const run = await finish(chart(ASSIGNED, 'looked', 'lookupflags'));
        expect(run.status).toBe('failed');
        expect(run.failureReason).toMatch(/no-host-namespaces/);
        expect(await deployments(ASSIGNED)).not.toContainEqual(
          expect.objectContaining({ name: 'looked' }),
        );
      } finally {
        await core.deleteNamespacedConfigMap({
          name: 'flip',
          namespace: ASSIGNED,
        });
      }
    });

    it('refuses a hook with privileged: on, and runs no hook', async () => {
      const run = await finish(
        chart(ASSIGNED, 'hook', 'statichook', { privilegedHook: 'on' }),
      );
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(/no-privileged/);
      expect(
        (await batch.listNamespacedJob({ namespace: ASSIGNED })).items.map(
          j => j.metadata?.name,
        ),
      ).toEqual([]);
      expect((await pods(ASSIGNED)).some(p => p.privileged)).toBe(false);
    });

    it('refuses a YAML merge key that turns hostNetwork on after it was written false, and nothing runs', async () => {
      const run = await finish(chart(ASSIGNED, 'merged', 'mergeflags'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(/merge key/);
      expect(await deployments(ASSIGNED)).not.toContainEqual(
        expect.objectContaining({ name: 'merged' }),
      );
    });

    it.each([tenantNs, ASSIGNED])(
      'refuses a ConfigMap carrying an items array with a privileged Pod in %s, and creates neither',
      async namespace => {
        const run = await finish(chart(namespace, 'wrap', 'listwrapper'));
        expect(run.status).toBe('failed');
        expect(failedRules(run)).toContain(
          'valid-object ConfigMap/wrap-wrapper',
        );
        expect(run.failureReason).toMatch(/items/);
        expect(await pods(namespace)).not.toContainEqual(
          expect.objectContaining({ name: 'wrap-evil' }),
        );
        expect(
          (await core.listNamespacedConfigMap({ namespace })).items.map(
            c => c.metadata?.name,
          ),
        ).not.toContain('wrap-wrapper');
      },
    );

    it('refuses a helm release record in a chart or in manifests, and stores none', async () => {
      const fromChart = await finish(chart(ASSIGNED, 'forge', 'releaseforge'));
      expect(fromChart.status).toBe('failed');
      expect(failedRules(fromChart)).toEqual([
        'valid-object Secret/sh.helm.release.v1.forge.v7',
      ]);
      const fromManifests = await finish({
        kind: 'manifests',
        cluster: 'dev',
        namespace: ASSIGNED,
        manifests: [
          'apiVersion: v1',
          'kind: Secret',
          'metadata:',
          '  name: sh.helm.release.v1.flags-ok.v9',
          '  labels: { owner: helm, name: flags-ok, status: deployed, version: "9" }',
          'type: helm.sh/release.v1',
          'data: { release: ZTMwPQ== }',
        ].join('\n'),
      });
      expect(fromManifests.status).toBe('failed');
      expect(failedRules(fromManifests)).toEqual([
        'valid-object Secret/sh.helm.release.v1.flags-ok.v9',
      ]);
      expect(
        (
          await core.listNamespacedSecret({
            namespace: ASSIGNED,
            labelSelector: 'owner=helm',
          })
        ).items
          .map(s => s.metadata?.name)
          .filter(n => /\.v[79]$/.test(n ?? '')),
      ).toEqual([]);
    });

    it('refuses a rollback to a revision whose stored manifest says hostNetwork: yes', async () => {
      // Revision 1 installed with helm itself (outside kubechart, e.g. before it was adopted): helm
      // stores the text it rendered, `hostNetwork: yes`. Revision 2 is harmless.
      const helm = new HelmCli({ binary: helmBinary(helmBin) });
      const kubeconfig = created.clusters.kubeconfigYaml('dev');
      const direct = (values: Record<string, unknown>) =>
        helm.upgradeInstall({
          release: 'legacy',
          namespace: ASSIGNED,
          kubeconfig,
          chart: path.join(chartDirectory, 'hostflags'),
          values,
        });
      await direct({ hostNetwork: 'yes' });
      await direct({});
      const revisions = async () =>
        (
          await core.listNamespacedSecret({
            namespace: ASSIGNED,
            labelSelector: 'owner=helm,name=legacy',
          })
        ).items.length;
      expect(await revisions()).toBe(2);

      const run = await finish({
        kind: 'rollback',
        cluster: 'dev',
        namespace: ASSIGNED,
        release: 'legacy',
        revision: 1,
      });
      expect(run.status).toBe('failed');
      expect(failedRules(run)).toEqual([
        'no-host-namespaces Deployment/legacy',
      ]);
      // Nothing was rolled back: helm wrote no third revision.
      expect(await revisions()).toBe(2);
    });
  },
);
