import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { KubernetesObjectApi } from '@kubernetes/client-node';
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
import { RunCaller } from '../engine/scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const ALICE = 'user:default/alice';
const PLATFORM = 'group:default/platform';
const alice: RunCaller = {
  ownershipRefs: [ALICE],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice holding kubechart.runs.cluster-scoped (ClusterRoles allowed on dev). */
const aliceWithRbac: RunCaller = { ...alice, mayApplyClusterScoped: true };

/**
 * A tenant's release may hold cluster-scoped objects (here a ClusterRole, allowed on the cluster).
 * Deleting the tenant, or pruning the release from it, removes them as the engine's identity, and a
 * removed ClusterRole (or CRD) changes every namespace, protected ones included: on a cluster an
 * approval rule covers, such a run waits for the cluster's approvers as a run applying them does.
 */
describe('approvals and runs that remove cluster-scoped objects', () => {
  let sim: KubeSim;
  let charts: string;
  beforeAll(async () => {
    sim = await startSim();
    charts = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-removal-'));
    await writeClusterReaderChart(charts);
  });
  afterAll(async () => {
    await sim?.stop();
    await fs.rm(charts, { recursive: true, force: true });
  });

  const config = (rules: Record<string, unknown>[]) => {
    const c = testConfig(sim, {
      ...(rules.length ? { approvals: { rules } } : {}),
      clusters: {
        dev: {
          allowedClusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
        },
      },
    });
    c.kubechart.helm.chartDirectories = [chartDirectory, charts];
    return c;
  };

  /**
   * Tenant `code` (not protected by any rule) with release `probe` holding ClusterRole `role`,
   * installed before the approval rules were configured; then an engine with `rules`.
   */
  const setup = async (
    code: string,
    role: string,
    rules: Record<string, unknown>[],
  ) => {
    const before = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: config([]),
    });
    const finish = async (request: any, caller: RunCaller) => {
      const run = await before.engine.submit(request, ALICE, caller);
      await before.engine.waitFor(run.id);
      return (await before.store.getRun(run.id))!.status;
    };
    expect(
      await finish(
        { kind: 'tenant', cluster: 'dev', tenant: code, releases: [] },
        alice,
      ),
    ).toBe('succeeded');
    expect(
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
    ).toBe('succeeded');
    const after = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: config(rules),
      knex: before.knex,
    });
    const objects = KubernetesObjectApi.makeApiClient(
      after.clusters.kubeConfig('dev'),
    );
    const roleExists = async () => {
      try {
        await objects.read({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: role },
        } as any);
        return true;
      } catch (e: any) {
        if (e?.code === 404) return false;
        throw e;
      }
    };
    return { ...after, roleExists };
  };

  it('a tenant delete on a protected cluster waits for the approvers of the cluster, and its ClusterRole stays', async () => {
    const { engine, store, roleExists } = await setup('rma', 'rma-reader', [
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: ['owner', PLATFORM],
      },
    ]);
    const run = await engine.submit(
      { kind: 'tenant-delete', cluster: 'dev', tenant: 'rma' },
      ALICE,
      alice,
    );
    const statusAtSubmit = run.status;
    if (run.status !== 'awaiting-approval') await engine.waitFor(run.id);
    const after = (await store.getRun(run.id))!;
    expect({
      statusAtSubmit,
      finalStatus: after.status,
      // The owner of the tenant is not whom the removal reaches: not an approver.
      approvers: after.approval?.approvers,
      roleExists: await roleExists(),
    }).toEqual({
      statusAtSubmit: 'awaiting-approval',
      finalStatus: 'awaiting-approval',
      approvers: [PLATFORM],
      roleExists: true,
    });
  });

  it('a tenant delete is refused when no rule of the cluster names an approver who can judge it', async () => {
    const { engine, store, roleExists } = await setup('rmb', 'rmb-reader', [
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: ['owner'],
      },
    ]);
    await expect(
      engine.submit(
        { kind: 'tenant-delete', cluster: 'dev', tenant: 'rmb' },
        ALICE,
        alice,
      ),
    ).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining('ClusterRole'),
    });
    expect(await roleExists()).toBe(true);
    expect((await store.getTenants('rmb')).map(t => t.status).sort()).toEqual([
      'active',
    ]);
  });

  it('a tenant run that prunes a release on a protected cluster waits for the approvers of the cluster', async () => {
    const { engine, store, roleExists } = await setup('rmc', 'rmc-reader', [
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: [PLATFORM],
      },
    ]);
    // A release of the tenant's spec that a chart run (with kubechart.runs.cluster-scoped) gave a
    // ClusterRole: the tenant record lists it, and the tenant run drops it.
    const {
      createdAt: _c,
      updatedAt: _u,
      ...tenant
    } = (await store.getTenants('rmc'))[0];
    await store.upsertTenant({ ...tenant, releases: ['probe'] });
    const run = await engine.submit(
      {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'rmc',
        releases: [],
        pruneReleases: true,
      },
      ALICE,
      alice,
    );
    const statusAtSubmit = run.status;
    if (run.status !== 'awaiting-approval') await engine.waitFor(run.id);
    expect({
      statusAtSubmit,
      approvers: (await store.getRun(run.id))!.approval?.approvers,
      roleExists: await roleExists(),
    }).toEqual({
      statusAtSubmit: 'awaiting-approval',
      approvers: [PLATFORM],
      roleExists: true,
    });
  });
});
