import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { writeClusterReaderChart } from '../__testUtils__/clusterReaderChart';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here ClusterRoles). */
const aliceWithRbac: RunCaller = { ...alice, mayApplyClusterScoped: true };

// A release installed before KubeChart labelled a release's objects with its tenant carries helm's
// ownership annotations and no `kubechart.io/tenant` label. Only a cluster-scoped object needs that
// label to be taken as the tenant's: one without it is refused, and the refusal says how to adopt it.
describe.each(databases.eachSupportedId())(
  'a release whose objects carry no tenant label (installed by an earlier KubeChart) on %p',
  databaseId => {
    let sim: KubeSim;
    let engine: RunEngine;
    let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
    let core: CoreV1Api;
    let objects: KubernetesObjectApi;
    let charts: string;

    const finish = async (request: any, caller = alice): Promise<Run> => {
      const run = await engine.submit(request, 'user:default/alice', caller);
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    const outcome = (run: Run) => ({
      status: run.status,
      reason: run.failureReason,
    });
    const succeeded = { status: 'succeeded', reason: undefined };
    const roleOf = (code: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${code}-reader` },
    });
    const configOf = (code: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'probe-cfg', namespace: `tenant-${code}` },
    });
    const chartRun = (code: string, values: Record<string, unknown>) =>
      finish(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: `tenant-${code}`,
          release: {
            name: 'probe',
            chart: 'clusterreader',
            values: { roleName: `${code}-reader`, ...values },
          },
        },
        aliceWithRbac,
      );
    const newTenant = async (code: string) =>
      expect(
        outcome(
          await finish({
            kind: 'tenant',
            cluster: 'dev',
            tenant: code,
            releases: [],
          }),
        ),
      ).toEqual(succeeded);
    const tenantLabel = async (obj: any) =>
      ((await objects.read(obj)) as any).metadata?.labels?.[
        'kubechart.io/tenant'
      ];
    /** Sets or (undefined) removes an object's tenant label, as a cluster admin can. */
    const label = async (obj: any, tenant: string | undefined) => {
      const live: any = await objects.read(obj);
      const labels = { ...(live.metadata.labels ?? {}) };
      if (tenant === undefined) delete labels['kubechart.io/tenant'];
      else labels['kubechart.io/tenant'] = tenant;
      live.metadata.labels = labels;
      await objects.replace(live);
    };
    const exists = async (obj: any) => {
      try {
        await objects.read(obj);
        return true;
      } catch (e: any) {
        if (e?.code === 404) return false;
        throw e;
      }
    };

    beforeAll(async () => {
      sim = await startSim();
      charts = await fs.mkdtemp(path.join(os.tmpdir(), 'adopted-charts-'));
      await writeClusterReaderChart(charts);
      const configData = testConfig(sim, {
        clusters: {
          dev: {
            allowedClusterScopedKinds: [
              'rbac.authorization.k8s.io/ClusterRole',
            ],
          },
        },
      });
      configData.kubechart.helm.chartDirectories = [chartDirectory, charts];
      const created = await createTestEngine({
        databases,
        databaseId,
        sim,
        config: configData,
      });
      ({ engine, store } = created);
      core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      objects = KubernetesObjectApi.makeApiClient(
        created.clusters.kubeConfig('dev'),
      );
    });
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(charts, { recursive: true, force: true });
    });

    it('refuses to upgrade or uninstall it while its cluster-scoped object lacks the label, saying how to adopt it, and proceeds once labelled', async () => {
      const role = roleOf('adopt');
      const config = configOf('adopt');
      await newTenant('adopt');
      expect(outcome(await chartRun('adopt', {}))).toEqual(succeeded);
      expect(await tenantLabel(role)).toBe('adopt');
      // As an earlier KubeChart left them: helm's annotations, no tenant label.
      await label(role, undefined);
      await label(config, undefined);

      const upgrade = await chartRun('adopt', { note: 'upgrade' });
      expect(outcome(upgrade)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          "ClusterRole/adopt-reader: it is not release probe's (tenant adopt); it carries this release's helm annotations but not the label kubechart.io/tenant=adopt, as objects an earlier KubeChart installed may: a cluster admin who confirms it is this tenant's labels it so, then the run is tried again",
        ),
      });
      // A namespaced object needs no tenant label to be the release's.
      expect(upgrade.failureReason).not.toContain('ConfigMap/probe-cfg');

      const deleted = await finish({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'adopt',
      });
      expect(outcome(deleted)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          "it carries this release's helm annotations but not the label kubechart.io/tenant=adopt",
        ),
      });
      expect(await exists(role)).toBe(true);

      // Labelled by a cluster admin: upgraded (and labelled again by the run), then deleted with the tenant.
      await label(role, 'adopt');
      expect(outcome(await chartRun('adopt', { note: 'upgrade' }))).toEqual(
        succeeded,
      );
      expect(await tenantLabel(config)).toBe('adopt');
      expect(
        outcome(
          await finish({
            kind: 'tenant-delete',
            cluster: 'dev',
            tenant: 'adopt',
          }),
        ),
      ).toEqual(succeeded);
      expect(await exists(role)).toBe(false);
      expect(
        (await core.listNamespace()).items.map(n => n.metadata?.name),
      ).not.toContain('tenant-adopt');
    });

    it("refuses an object labelled for another tenant without naming that tenant, and gives no adoption hint for an object that is not this release's", async () => {
      const role = roleOf('adopt2');
      await newTenant('adopt2');
      expect(outcome(await chartRun('adopt2', {}))).toEqual(succeeded);
      await label(role, 'someone-else');
      const refused = await chartRun('adopt2', { note: 'again' });
      expect(outcome(refused)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          "ClusterRole/adopt2-reader: it is not release probe's (tenant adopt2); it carries this release's helm annotations but not the label kubechart.io/tenant=adopt2",
        ),
      });
      expect(refused.failureReason).not.toContain('someone-else');

      // Annotated for another release: not this release's at all, no hint.
      const live: any = await objects.read(role);
      live.metadata.labels['kubechart.io/tenant'] = 'adopt2';
      live.metadata.annotations['meta.helm.sh/release-name'] = 'other';
      await objects.replace(live);
      const other = await chartRun('adopt2', { note: 'once more' });
      expect(outcome(other)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          "ClusterRole/adopt2-reader: it is not release probe's (tenant adopt2)",
        ),
      });
      expect(other.failureReason).not.toContain('helm annotations');
    });
  },
);
