import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { ConflictError } from '@backstage/errors';
import { CoreV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const tenant = (code: string) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  releases: [],
});

describe.each(databases.eachSupportedId())(
  'terminating namespaces on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      // kube-sim keeps a deleted namespace Terminating for this long, then removes it.
      sim = await startSim({ namespaceDeletionDelayMs: 8000 });
    });
    afterAll(() => sim.stop());

    const setup = async (extra: Record<string, any> = {}) => {
      const config = testConfig(sim);
      Object.assign(config.kubechart.wait, extra);
      const t = await createTestEngine({ databases, databaseId, sim, config });
      const run = async (req: any) => {
        const r = await t.engine.submit(req, 'user:default/alice');
        await t.engine.waitFor(r.id);
        return {
          run: (await t.store.getRun(r.id))!,
          events: await t.store.getEvents(r.id),
        };
      };
      return {
        ...t,
        run,
        core: t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api),
      };
    };

    it('tenant delete finishes only when the namespace is gone, reporting progress', async () => {
      const { run, core, store } = await setup();
      expect((await run(tenant('vanish'))).run.status).toBe('succeeded');
      const started = Date.now();
      const { run: del, events } = await run({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'vanish',
      });
      expect({ status: del.status, reason: del.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
      await expect(
        core.readNamespace({ name: 'tenant-vanish' }),
      ).rejects.toMatchObject({ code: 404 });
      expect(
        events.filter(e => e.stepStatus === 'succeeded').map(e => e.step),
      ).toEqual([
        'deployer',
        'namespace',
        'namespace-gone',
        'deployer-deleted',
      ]);
      expect(
        events.some(
          e =>
            e.step === 'namespace-gone' &&
            /^namespace tenant-vanish is still terminating after \ds/.test(
              e.message,
            ),
        ),
      ).toBe(true);
      expect((await store.getTenants('vanish'))[0].status).toBe('deleted');
    });

    it('refuses to provision into a Terminating namespace, and creates nothing in it', async () => {
      const { run, core } = await setup();
      expect((await run(tenant('zombie'))).run.status).toBe('succeeded');
      await core.deleteNamespacedResourceQuota({
        name: 'kubechart-quota',
        namespace: 'tenant-zombie',
      });
      await core.deleteNamespace({ name: 'tenant-zombie' });
      const again = await run(tenant('zombie'));
      expect({
        status: again.run.status,
        reason: again.run.failureReason,
      }).toEqual({
        status: 'failed',
        reason:
          'namespace tenant-zombie is terminating; wait until it is gone and retry',
      });
      expect(
        again.events.filter(e => e.stepStatus === 'skipped').map(e => e.step),
      ).not.toContain('namespace');
      const quotas = await core.listNamespacedResourceQuota({
        namespace: 'tenant-zombie',
      });
      expect(quotas.items).toEqual([]);

      const chart = await run({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-zombie',
        release: { name: 'web', chart: 'webapp' },
      });
      expect(chart.run.failureReason).toBe(
        'namespace tenant-zombie is terminating; wait until it is gone and retry',
      );
      const manifests = await run({
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'tenant-zombie',
        manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n',
      });
      expect(manifests.run.failureReason).toBe(
        'namespace tenant-zombie is terminating; wait until it is gone and retry',
      );
      await expect(
        core.readNamespacedConfigMap({ name: 'c', namespace: 'tenant-zombie' }),
      ).rejects.toMatchObject({ code: 404 });
    });

    it('a tenant delete and any other run in the same namespace exclude each other (409 naming the active run)', async () => {
      const { engine, run } = await setup();
      expect((await run(tenant('locked'))).run.status).toBe('succeeded');
      const chart = {
        kind: 'chart' as const,
        cluster: 'dev',
        namespace: 'tenant-locked',
        release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
      };
      const installing = await engine.submit(chart, 'user:default/alice');
      const refused = await engine
        .submit(
          { kind: 'tenant-delete', cluster: 'dev', tenant: 'locked' },
          'user:default/alice',
        )
        .catch(e => e);
      expect(refused).toBeInstanceOf(ConflictError);
      expect(refused.message).toMatch(
        new RegExp(
          `^Run ${installing.id} \\(chart, (pending|running), started by user:default/alice\\) is already active on ns:dev/tenant-locked`,
        ),
      );
      await engine.waitFor(installing.id);

      const deleting = await engine.submit(
        { kind: 'tenant-delete', cluster: 'dev', tenant: 'locked' },
        'user:default/alice',
      );
      for (const other of [
        chart,
        {
          kind: 'manifests' as const,
          cluster: 'dev',
          namespace: 'tenant-locked',
          manifests:
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: late }\n',
        },
      ]) {
        const err = await engine
          .submit(other, 'user:default/alice')
          .catch(e => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect(err.message).toContain(`Run ${deleting.id} (tenant-delete`);
      }
      await engine.waitFor(deleting.id);
    });

    it('fails a tenant delete whose namespace outlasts the configured wait, and says so', async () => {
      const { run, store } = await setup({
        namespaceDeletionTimeoutSeconds: 1,
      });
      expect((await run(tenant('sticky'))).run.status).toBe('succeeded');
      const { run: del } = await run({
        kind: 'tenant-delete',
        cluster: 'dev',
        tenant: 'sticky',
      });
      expect(del.status).toBe('failed');
      expect(del.failureReason).toMatch(
        /^namespace tenant-sticky is still terminating after 1s \(kubechart\.wait\.namespaceDeletionTimeoutSeconds\)/,
      );
      expect((await store.getTenants('sticky'))[0].status).toBe('failed');
    });
  },
);
