import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';
import { writeClusterReaderChart } from '../__testUtils__/clusterReaderChart';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here ClusterRoles). */
const aliceWithRbac: RunCaller = { ...alice, mayApplyClusterScoped: true };

const clusterRole = (name: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
});

describe('deleting a tenant whose release holds an allowed cluster-scoped object (real helm against kube-sim)', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
  let core: CoreV1Api;
  let objects: KubernetesObjectApi;
  let charts: string;

  const finish = async (request: any, caller = alice) => {
    const run = await engine.submit(request, 'user:default/alice', caller);
    await engine.waitFor(run.id);
    return (await store.getRun(run.id))!;
  };
  const outcome = (run: { status: string; failureReason?: string }) => ({
    status: run.status,
    reason: run.failureReason,
  });
  const exists = async (obj: any) => {
    try {
      await objects.read(obj);
      return true;
    } catch (e: any) {
      if (e?.code === 404) return false;
      throw e;
    }
  };
  /** A tenant with a release of a chart holding ClusterRole `role` and a ConfigMap. */
  const tenantWithClusterRole = async (code: string, role: string) => {
    expect(
      outcome(
        await finish({
          kind: 'tenant',
          cluster: 'dev',
          tenant: code,
          releases: [],
        }),
      ),
    ).toEqual({ status: 'succeeded', reason: undefined });
    expect(
      outcome(
        await finish(
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: `tenant-${code}`,
            release: {
              name: 'probe',
              chart: 'clusterreader',
              values: { roleName: role },
            },
          },
          aliceWithRbac,
        ),
      ),
    ).toEqual({ status: 'succeeded', reason: undefined });
    expect(await exists(clusterRole(role))).toBe(true);
  };

  beforeAll(async () => {
    sim = await startSim();
    charts = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-role-charts-'));
    await writeClusterReaderChart(charts);
    const config = testConfig(sim, {
      clusters: {
        dev: {
          allowedClusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
        },
      },
    });
    config.kubechart.helm.chartDirectories = [chartDirectory, charts];
    const created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config,
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

  it('uninstalls the release as the engine, so the ClusterRole goes with the tenant', async () => {
    await tenantWithClusterRole('beta', 'probeae-reader');
    const deleted = await finish({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'beta',
    });
    expect(outcome(deleted)).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(await exists(clusterRole('probeae-reader'))).toBe(false);
    expect(
      (await core.listNamespace()).items.map(n => n.metadata?.name),
    ).not.toContain('tenant-beta');
    expect(
      (await store.getTenants('beta')).map(t => ({
        cluster: t.cluster,
        status: t.status,
      })),
    ).toEqual([{ cluster: 'dev', status: 'deleted' }]);
  });

  it("refuses a release record naming another tenant's ClusterRole, which is kept", async () => {
    await tenantWithClusterRole('gamma', 'gamma-reader');
    expect(
      outcome(
        await finish({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'delta',
          releases: [],
        }),
      ),
    ).toEqual({ status: 'succeeded', reason: undefined });
    // A release record written in delta's namespace (its admins and workloads may write Secrets there).
    const record = {
      name: 'forged',
      namespace: 'tenant-delta',
      version: 1,
      info: { status: 'deployed' },
      chart: { metadata: { name: 'forged', version: '0.1.0' } },
      config: {},
      manifest:
        '---\n# Source: forged/templates/role.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: gamma-reader\n',
    };
    await core.createNamespacedSecret({
      namespace: 'tenant-delta',
      body: {
        metadata: {
          name: 'sh.helm.release.v1.forged.v1',
          labels: {
            owner: 'helm',
            name: 'forged',
            status: 'deployed',
            version: '1',
          },
        },
        type: 'helm.sh/release.v1',
        data: {
          release: Buffer.from(
            gzipSync(JSON.stringify(record)).toString('base64'),
          ).toString('base64'),
        },
      },
    });
    const refused = await finish({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'delta',
    });
    expect(outcome(refused)).toEqual({
      status: 'failed',
      reason: expect.stringContaining('ClusterRole/gamma-reader'),
    });
    expect(refused.failureReason).toContain('release forged');
    expect(await exists(clusterRole('gamma-reader'))).toBe(true);
    expect(
      (await core.listNamespace()).items.map(n => n.metadata?.name),
    ).toContain('tenant-delta');
  });

  it("refuses a release record whose hook runs on delete by the events helm reads, whatever its annotation says, as the engine's identity", async () => {
    await tenantWithClusterRole('zeta', 'zeta-reader');
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'zeta-escalate' },
    };
    // helm runs a record's hook on the events its record lists, not on its manifest's annotation.
    const name = 'sh.helm.release.v1.probe.v1';
    const secret = await core.readNamespacedSecret({
      name,
      namespace: 'tenant-zeta',
    });
    const record = JSON.parse(
      gunzipSync(
        Buffer.from(
          Buffer.from(secret.data!.release, 'base64').toString('utf8'),
          'base64',
        ),
      ).toString('utf8'),
    );
    record.hooks = [
      {
        name: 'zeta-escalate',
        kind: 'ClusterRoleBinding',
        path: 'clusterreader/templates/hook.yaml',
        manifest: [
          'apiVersion: rbac.authorization.k8s.io/v1',
          'kind: ClusterRoleBinding',
          'metadata:',
          '  name: zeta-escalate',
          '  annotations:',
          '    helm.sh/hook: post-install',
          'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }',
          'subjects: [{ kind: ServiceAccount, name: default, namespace: tenant-zeta }]',
          '',
        ].join('\n'),
        events: ['pre-delete'],
        last_run: { started_at: '', completed_at: '', phase: '' },
        weight: 0,
        delete_policies: ['before-hook-creation'],
      },
    ];
    secret.data!.release = Buffer.from(
      gzipSync(Buffer.from(JSON.stringify(record))).toString('base64'),
    ).toString('base64');
    await core.replaceNamespacedSecret({
      name,
      namespace: 'tenant-zeta',
      body: secret,
    });
    const refused = await finish({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'zeta',
    });
    expect(outcome(refused)).toEqual({
      status: 'failed',
      reason: expect.stringContaining(
        "ClusterRoleBinding/zeta-escalate: a delete hook, which would run as the engine's identity",
      ),
    });
    expect(await exists(binding)).toBe(false);
    expect(await exists(clusterRole('zeta-reader'))).toBe(true);
  });

  it('fails the delete naming a cluster-scoped object of the tenant that outlives its namespace', async () => {
    expect(
      outcome(
        await finish({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'eps',
          releases: [],
        }),
      ),
    ).toEqual({ status: 'succeeded', reason: undefined });
    // Labelled for the tenant, but in no release of it.
    await objects.create({
      ...clusterRole('eps-stray'),
      metadata: {
        name: 'eps-stray',
        labels: { 'kubechart.io/tenant': 'eps' },
      },
    } as any);
    const deleted = await finish({
      kind: 'tenant-delete',
      cluster: 'dev',
      tenant: 'eps',
    });
    expect(outcome(deleted)).toEqual({
      status: 'failed',
      reason: expect.stringContaining('ClusterRole/eps-stray'),
    });
    expect(await exists(clusterRole('eps-stray'))).toBe(true);
  });
});
