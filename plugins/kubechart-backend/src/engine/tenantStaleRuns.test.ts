import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import { NewRun, NewTenantRecord } from '../database/RunStore';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';

const release = (name: string) => ({
  name,
  chart: 'webapp',
  values: { replicas: 1 },
});

/**
 * A tenant or tenant-delete run whose backend died is reconciled against the cluster: a tenant run
 * that prunes releases succeeded only when those releases are gone too, and a tenant-delete leaves
 * its tenant `deleted` or `failed`, as the namespace shows, never `deleting`.
 */
describe.each(databases.eachSupportedId())(
  'reconciling a stale tenant run on %p',
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let n = 0;

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({ databases, databaseId, sim });
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    });
    afterAll(() => sim?.stop());

    const runToEnd = async (request: any) => {
      const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const goStale = (...ids: string[]) =>
      t
        .knex('kubechart_runs')
        .whereIn('id', ids)
        .update({ heartbeat_at: Date.now() - 10 * 60_000 });
    const outcome = async (id: string) => {
      const run = (await t.store.getRun(id)) as Run;
      const events = await t.store.getEvents(id, { limit: 5000 });
      return {
        status: run.status,
        reason: run.failureReason,
        last: events[events.length - 1]?.message,
      };
    };
    const tenantOf = async (code: string) =>
      (await t.store.getTenants(code)).find(x => x.cluster === 'dev')!;
    const helmReleases = async (namespace: string) =>
      [
        ...new Set(
          (
            await core.listNamespacedSecret({
              namespace,
              labelSelector: 'owner=helm',
            })
          ).items.map(s => s.metadata?.labels?.name),
        ),
      ].sort();

    /**
     * A run recorded (its tenant claimed, as the engine records one) and left `running` by a backend
     * that died: `claimed` is what the claim writes over the tenant's record.
     */
    const leftRunning = async (
      kind: 'tenant' | 'tenant-delete',
      code: string,
      input: Record<string, unknown>,
      claimed: (existing: NewTenantRecord) => Partial<NewTenantRecord>,
    ) => {
      const id = `c0000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
      await t.store.createRun(
        {
          kind,
          target: { cluster: 'dev', namespace: `tenant-${code}` },
          tenant: code,
          input: { kind, cluster: 'dev', tenant: code, ...input },
          id,
          status: 'running',
          actor: ALICE,
        } as NewRun,
        [],
        {
          tenant: {
            cluster: 'dev',
            code,
            record: existing => {
              const { createdAt: _c, updatedAt: _u, ...kept } = existing!;
              return { ...kept, ...claimed(kept), lastRunId: id };
            },
          },
        },
      );
      return id;
    };

    it('fails a tenant run that died before pruning a release it drops, naming the release', async () => {
      const first = await runToEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'stalep',
        releases: [release('web'), release('api')],
      });
      expect(first.status).toBe('succeeded');
      // The run kept web as it was (deployed with its chart and values), then its backend died
      // before it uninstalled api.
      const id = await leftRunning(
        'tenant',
        'stalep',
        { releases: [release('web')], pruneReleases: true },
        existing => ({ status: 'provisioning', releases: existing.releases }),
      );
      await t.store.appendEvents(id, [
        {
          type: 'step',
          level: 'info',
          step: 'release:web',
          stepStatus: 'skipped',
          message: 'release:web: skipped',
        },
      ]);
      await goStale(id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      const o = await outcome(id);
      expect(o.status).toBe('failed');
      expect(o.reason).toMatch(
        /; the cluster shows: release api, which this run prunes, is still installed; the run's outcome is not known$/,
      );
      expect(await helmReleases('tenant-stalep')).toEqual(['api', 'web']);
      expect(await tenantOf('stalep')).toMatchObject({
        status: 'failed',
        lastRunId: id,
        releases: ['web', 'api'],
      });
    });

    it('marks succeeded a tenant run that died after its prune, and no longer records the pruned release', async () => {
      expect(
        (
          await runToEnd({
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'staleq',
            releases: [release('web'), release('api')],
          })
        ).status,
      ).toBe('succeeded');
      const pruned = await runToEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'staleq',
        releases: [release('web')],
        pruneReleases: true,
      });
      expect(pruned.status).toBe('succeeded');
      expect(await helmReleases('tenant-staleq')).toEqual(['web']);
      // The backend died right after helm uninstalled api, before it recorded anything more.
      await t
        .knex('kubechart_runs')
        .where({ id: pruned.id })
        .update({ status: 'running', finished_at: null });
      await t
        .knex('kubechart_tenants')
        .where({ cluster: 'dev', code: 'staleq' })
        .update({ status: 'provisioning', releases: '["web","api"]' });
      await goStale(pruned.id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      const o = await outcome(pruned.id);
      expect(o.status).toBe('succeeded');
      expect(o.last).toMatch(
        /: the cluster shows this run's change: release web revision 1, which this run left unchanged .*; release api, which this run prunes, is not installed; every workload is Ready$/,
      );
      expect(await tenantOf('staleq')).toMatchObject({
        status: 'active',
        lastRunId: pruned.id,
        releases: ['web'],
      });
    });

    it('leaves a tenant whose delete was reconciled deleted when its namespace is gone, failed when it is not', async () => {
      for (const code of ['staled', 'stalef']) {
        expect(
          (
            await runToEnd({
              kind: 'tenant',
              cluster: 'dev',
              tenant: code,
              releases: [],
            })
          ).status,
        ).toBe('succeeded');
      }
      // The backend died after the namespace was deleted (staled), or before it was (stalef).
      const gone = await leftRunning('tenant-delete', 'staled', {}, () => ({
        status: 'deleting',
      }));
      const kept = await leftRunning('tenant-delete', 'stalef', {}, () => ({
        status: 'deleting',
      }));
      await core.deleteNamespace({ name: 'tenant-staled' });
      for (let i = 0; i < 100; i++) {
        const left = await core.readNamespace({ name: 'tenant-staled' }).then(
          () => true,
          () => false,
        );
        if (!left) break;
        await new Promise(r => setTimeout(r, 100));
      }
      await goStale(gone, kept);
      expect(await t.engine.recoverStaleRuns()).toBe(2);

      // Never `deleting` once its run has ended.
      expect(await tenantOf('staled')).toMatchObject({
        status: 'deleted',
        lastRunId: gone,
      });
      expect(await tenantOf('stalef')).toMatchObject({
        status: 'failed',
        lastRunId: kept,
      });
      const g = await outcome(gone);
      expect(g.status).toBe('failed');
      expect(g.reason).toMatch(
        /; namespace tenant-staled does not exist: tenant staled is recorded as deleted$/,
      );
      expect(g.last).toBe(`Run failed: ${g.reason}`);
      const k = await outcome(kept);
      expect(k.status).toBe('failed');
      expect(k.reason).toMatch(
        /; namespace tenant-stalef still exists \(Active\): tenant stalef is recorded as failed; delete it again$/,
      );
    });
  },
);
