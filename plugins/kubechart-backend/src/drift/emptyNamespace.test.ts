import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { DriftService } from './DriftService';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * A chart object written with `metadata.namespace: ""`: helm and the run-scope rule put it in the
 * release's namespace, and the stored manifest keeps `namespace: ""`. Every later reader of the
 * manifest (drift, the release record's ownership checks) must place it there too: drift reads with
 * the engine's identity, and an object read in another namespace (client-node's `default`) would
 * show that namespace's live values in the tenant's drift record.
 */
describe('an object with namespace "" in a chart', () => {
  let sim: KubeSim;
  let charts: string;

  beforeAll(async () => {
    sim = await startSim();
    charts = mkdtempSync(join(tmpdir(), 'emptyns-charts-'));
    const chart = join(charts, 'emptyns');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(
      join(chart, 'Chart.yaml'),
      'apiVersion: v2\nname: emptyns\nversion: 0.1.0\n',
    );
    writeFileSync(join(chart, 'values.yaml'), 'color: blue\n');
    writeFileSync(
      join(chart, 'templates', 'cm.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: platform-settings',
        '  namespace: ""',
        'data:',
        '  color: {{ .Values.color | quote }}',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(charts, { recursive: true, force: true });
  });

  it('drift never reads (with the engine identity) an object of another namespace', async () => {
    const config = testConfig(sim);
    config.kubechart.helm.chartDirectories = [chartDirectory, charts];
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config,
    });
    // The platform's ConfigMap in `default`, which the tenant's deployer may not read.
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: { name: 'platform-settings' },
        data: { color: 'PLATFORM-ONLY-VALUE' },
      },
    });

    const run = async (request: any) => {
      const r = await t.engine.submit(request, 'user:default/alice');
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'pl',
      releases: [],
    });
    expect(tenant.status).toBe('succeeded');
    const chart = await run({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-pl',
      release: { name: 'emptyns', chart: 'emptyns', values: { color: 'blue' } },
    });
    expect({ status: chart.status, reason: chart.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    // helm put it into the tenant's namespace, as the policy judged.
    const inTenant = await core.readNamespacedConfigMap({
      namespace: 'tenant-pl',
      name: 'platform-settings',
    });
    expect(inTenant.data).toEqual({ color: 'blue' });

    const drift = await DatabaseDriftStore.create({
      database: mockServices.database.mock({ getClient: async () => t.knex }),
    });
    const service = new DriftService({
      runs: t.store,
      drift,
      clusters: t.clusters,
      client: c => t.engine.client(c),
      logger: mockServices.logger.mock(),
    });
    const records = await service.checkAll();
    const mine = records.find(r => r.runId === chart.id);
    // The object the run applied is in sync (it is in tenant-pl, unchanged) ...
    expect(mine?.status).toBe('in-sync');
    // ... and nothing of the `default` namespace reaches the tenant's drift record.
    expect(JSON.stringify(records)).not.toContain('PLATFORM-ONLY-VALUE');
  });

  it('a release whose chart used namespace "" can be upgraded, and its tenant deleted (its record names only its own objects)', async () => {
    const config = testConfig(sim);
    config.kubechart.helm.chartDirectories = [chartDirectory, charts];
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config,
    });
    const run = async (request: any) => {
      const r = await t.engine.submit(request, 'user:default/alice');
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    expect(
      (
        await run({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'pl2',
          releases: [],
        })
      ).status,
    ).toBe('succeeded');
    const chart = (color: string) => ({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-pl2',
      release: { name: 'emptyns', chart: 'emptyns', values: { color } },
    });
    const first = await run(chart('blue'));
    expect(first.status).toBe('succeeded');
    const second = await run(chart('green'));
    expect({ status: second.status, reason: second.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    expect(
      (
        await core.readNamespacedConfigMap({
          namespace: 'tenant-pl2',
          name: 'platform-settings',
        })
      ).data,
    ).toEqual({ color: 'green' });
    // The tenant (and its release) can be deleted through KubeChart.
    const deleted = await run({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'pl2',
    });
    expect({ status: deleted.status, reason: deleted.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(
      (await core.listNamespace()).items.map(n => n.metadata?.name),
    ).not.toContain('tenant-pl2');
  });
});
