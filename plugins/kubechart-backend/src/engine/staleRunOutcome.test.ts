import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { Run } from '@kubechart/plugin-kubechart-common';
import { NewRun, NewTenantRecord } from '../database/RunStore';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const NS = 'tenant-stale';

/**
 * A backend that died while it executed a run leaves it `running`; after a restart the run is
 * reconciled against the cluster. It may be marked succeeded only when the cluster shows the run's
 * own change, never because the namespace happens to be healthy.
 */
describe.each(databases.eachSupportedId())(
  'reconciling a stale run on %p',
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let n = 0;

    beforeAll(async () => {
      sim = await startSim();
      t = await createTestEngine({ databases, databaseId, sim });
      // A healthy tenant: release web, image 1.0.0, Ready.
      const tenant = await t.engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'stale',
          releases: [{ name: 'web', chart: 'webapp' }],
        },
        ALICE,
        plainCaller(ALICE),
      );
      await t.engine.waitFor(tenant.id);
      const ready = await t.store.getRun(tenant.id);
      if (ready?.status !== 'succeeded')
        throw new Error(`tenant run ${ready?.status}: ${ready?.failureReason}`);
    });
    afterAll(() => sim.stop());

    /** A run row left `running` by a backend that died: its heartbeat is 10 minutes old. */
    const leftRunning = async (
      run: Omit<NewRun, 'id' | 'status' | 'actor'>,
      options: { manifest?: string; helmRevision?: number } = {},
    ) => {
      n++;
      const id = `b0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      // No locks: the runs below that stand for "what the dead backend did" must be able to start.
      await t.store.createRun(
        { ...run, id, status: 'running', actor: ALICE },
        [],
      );
      if (options.manifest || options.helmRevision)
        await t.store.updateRun(id, options);
      return id;
    };
    const goStale = (...ids: string[]) =>
      t
        .knex('kubechart_runs')
        .whereIn('id', ids)
        .update({ heartbeat_at: Date.now() - 10 * 60_000 });
    const chartRun = (tag: string) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: NS,
      release: { name: 'web', chart: 'webapp', values: { image: { tag } } },
    });
    const chartRow = (tag: string) => ({
      kind: 'chart' as const,
      target: { cluster: 'dev', namespace: NS, release: 'web' },
      input: chartRun(tag),
    });
    const configMap = (name: string, color: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${NS}\ndata:\n  color: ${color}\n`;
    const manifestsRow = (manifests: string) => ({
      kind: 'manifests' as const,
      target: { cluster: 'dev', namespace: NS },
      input: { kind: 'manifests', cluster: 'dev', namespace: NS, manifests },
    });
    const liveImage = async () => {
      const apps = t.clusters.kubeConfig('dev').makeApiClient(AppsV1Api);
      const d = await apps.readNamespacedDeployment({
        name: 'web',
        namespace: NS,
      });
      return d.spec?.template.spec?.containers[0].image;
    };
    const liveConfigMap = (name: string) =>
      t.clusters
        .kubeConfig('dev')
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name, namespace: NS })
        .then(
          c => c.data,
          () => undefined,
        );
    const outcome = async (id: string) => {
      const run = (await t.store.getRun(id)) as Run;
      const events = await t.store.getEvents(id);
      return {
        status: run.status,
        reason: run.failureReason,
        last: events[events.length - 1]?.message,
      };
    };

    it('fails a chart run and a manifests run whose change never reached the cluster, saying so', async () => {
      const chart = await leftRunning(chartRow('9.9.9'));
      const manifests = await leftRunning(
        manifestsRow(configMap('never-applied', 'blue')),
        { manifest: configMap('never-applied', 'blue') },
      );
      await goStale(chart, manifests);

      expect(await t.engine.recoverStaleRuns()).toBe(2);

      const c = await outcome(chart);
      expect(c.status).toBe('failed');
      expect(c.reason).toMatch(
        /^heartbeat lost: .*; the cluster shows: release web is at revision 1, deployed at \S+, before this run started at \S+; the run's outcome is not known$/,
      );
      expect(c.last).toBe(`Run failed: ${c.reason}`);
      const m = await outcome(manifests);
      expect(m.status).toBe('failed');
      expect(m.reason).toMatch(
        /; the cluster shows: ConfigMap\/never-applied is not in the cluster; the run's outcome is not known$/,
      );
      // What the cluster holds is what it held before those runs.
      expect(await liveImage()).toBe('registry.example.com/team/web:1.0.0');
      expect(await liveConfigMap('never-applied')).toBeUndefined();
    });

    it('fails a manifests run whose objects differ from its manifest, and one that recorded no manifest', async () => {
      const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: {
          metadata: { name: 'painted', namespace: NS },
          data: { color: 'red' },
        },
      });
      const differs = await leftRunning(
        manifestsRow(configMap('painted', 'blue')),
        { manifest: configMap('painted', 'blue') },
      );
      const unrecorded = await leftRunning(
        manifestsRow(configMap('painted', 'red')),
      );
      await goStale(differs, unrecorded);

      expect(await t.engine.recoverStaleRuns()).toBe(2);

      expect(await outcome(differs)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: ConfigMap\/painted differs from the run's manifest at data\.color; the run's outcome is not known$/,
        ),
      });
      expect(await outcome(unrecorded)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: nothing to compare: the run recorded no manifest; the run's outcome is not known$/,
        ),
      });
    });

    it('fails a manifests run whose Secret lacks a field its manifest set, though the manifest stores the value redacted', async () => {
      const core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      // The run applied a password and a user; its record holds both as ***.
      const stored = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: ${NS}\ndata:\n  password: '***'\n  user: '***'\n`;
      // The cluster holds the Secret without the password.
      await core.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: 'creds', namespace: NS },
          data: { user: 'YWxpY2U=' },
        },
      });
      const id = await leftRunning(manifestsRow(stored), { manifest: stored });
      await goStale(id);

      expect(await t.engine.recoverStaleRuns()).toBe(1);

      const o = await outcome(id);
      expect(o).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: Secret\/creds differs from the run's manifest at data\.password; the run's outcome is not known$/,
        ),
      });
      expect(JSON.stringify(o)).not.toContain('YWxpY2U');
    });

    it('marks succeeded a chart run whose release revision was deployed after it started, and a manifests run whose objects are all there', async () => {
      // The backend died after helm installed this run's revision, before it recorded the end.
      const chart = await leftRunning(chartRow('2.0.0'));
      const done = await t.engine.submit(chartRun('2.0.0'), ALICE);
      await t.engine.waitFor(done.id);
      expect((await t.store.getRun(done.id))!.status).toBe('succeeded');
      // ... and after it applied its manifest.
      const manifest = configMap('applied', 'green');
      const manifests = await leftRunning(manifestsRow(manifest), {
        manifest,
      });
      const applied = await t.engine.submit(
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: NS,
          manifests: manifest,
        },
        ALICE,
      );
      await t.engine.waitFor(applied.id);
      await goStale(chart, manifests);

      expect(await t.engine.recoverStaleRuns()).toBe(2);

      const c = await outcome(chart);
      expect(c).toMatchObject({ status: 'succeeded', reason: undefined });
      expect(c.last).toMatch(
        /^Reconciled \(heartbeat lost: .*\): the cluster shows this run's change: release web revision 2 deployed at \S+, after this run started; every workload is Ready$/,
      );
      const m = await outcome(manifests);
      expect(m).toMatchObject({ status: 'succeeded', reason: undefined });
      expect(m.last).toMatch(
        /: the cluster shows this run's change: ConfigMap\/applied as in its manifest$/,
      );
    });

    it('fails a run that never started executing without looking further', async () => {
      const id = `b0000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
      await t.store.createRun(
        {
          ...chartRow('3.0.0'),
          id,
          status: 'pending',
          actor: ALICE,
        },
        [],
      );
      await goStale(id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      expect(await outcome(id)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; it never started executing: nothing was applied$/,
        ),
      });
    });

    it('gives a tenant back the record it had when a run on it never started executing', async () => {
      const tenantOf = async (code: string) =>
        (await t.store.getTenants(code)).find(x => x.cluster === 'dev');
      const before = (await tenantOf('stale'))!;
      expect(before).toMatchObject({ status: expect.any(String) });
      /** A tenant run recorded (its tenant claimed, as the engine records one) that no backend started. */
      const neverStarted = async (
        kind: 'tenant' | 'tenant-delete',
        code: string,
        claimed: Pick<NewTenantRecord, 'status' | 'owner'>,
      ) => {
        const id = `b0000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
        await t.store.createRun(
          {
            kind,
            target: { cluster: 'dev', namespace: `tenant-${code}` },
            tenant: code,
            input: { tenant: code, releases: [] },
            id,
            status: 'pending',
            actor: ALICE,
          } as NewRun,
          [],
          {
            tenant: {
              cluster: 'dev',
              code,
              record: existing => ({
                cluster: 'dev',
                code,
                namespace: `tenant-${code}`,
                releases: existing?.releases ?? [],
                ...(existing?.entityRef
                  ? { entityRef: existing.entityRef }
                  : {}),
                ...claimed,
                lastRunId: id,
              }),
            },
          },
        );
        await goStale(id);
        expect(await t.engine.recoverStaleRuns()).toBe(1);
        expect(await outcome(id)).toMatchObject({
          status: 'failed',
          reason: expect.stringMatching(/nothing was applied$/),
        });
        return id;
      };
      // A move to another owner, then a delete, neither executed: the tenant is as it was.
      await neverStarted('tenant', 'stale', {
        owner: 'group:default/rival-team',
        status: 'provisioning',
      });
      expect(await tenantOf('stale')).toMatchObject({
        status: before.status,
        owner: before.owner,
        lastRunId: before.lastRunId,
      });
      await neverStarted('tenant-delete', 'stale', {
        owner: before.owner,
        status: 'deleting',
      });
      expect(await tenantOf('stale')).toMatchObject({
        status: before.status,
        lastRunId: before.lastRunId,
      });
      // A tenant whose first run never executed was never created: it is not live.
      const first = await neverStarted('tenant', 'never', {
        owner: ALICE,
        status: 'provisioning',
      });
      expect(await tenantOf('never')).toMatchObject({
        status: 'deleted',
        lastRunId: first,
      });
    });

    it('marks succeeded a tenant update whose releases it left unchanged, and says so', async () => {
      const runToEnd = async (request: any) => {
        const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
        await t.engine.waitFor(r.id);
        return (await t.store.getRun(r.id))!;
      };
      const tenant = {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'keep',
        releases: [{ name: 'web', chart: 'webapp' }],
      };
      expect((await runToEnd(tenant)).status).toBe('succeeded');
      // Only the quota changes: the release is deployed with the same chart and values, and kept.
      const update = await runToEnd({
        ...tenant,
        quota: { hard: { pods: '20' } },
      });
      expect(update.status).toBe('succeeded');
      // The backend died after the run's last step, before it recorded the end.
      await t
        .knex('kubechart_runs')
        .where({ id: update.id })
        .update({ status: 'running', finished_at: null });
      await goStale(update.id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      expect(await outcome(update.id)).toMatchObject({ status: 'succeeded' });
      const events = await t.store.getEvents(update.id);
      expect(events[events.length - 1].message).toMatch(
        /release web revision 1, which this run left unchanged/,
      );
      expect(
        (await t.store.getTenants('keep')).find(x => x.cluster === 'dev'),
      ).toMatchObject({ status: 'active', lastRunId: update.id });
    });

    it('fails a tenant run whose releases were deployed before it started, though every workload is Ready', async () => {
      const id = await leftRunning({
        kind: 'tenant',
        target: { cluster: 'dev', namespace: NS },
        tenant: 'stale',
        input: { tenant: 'stale', releases: [{ name: 'web' }] },
      });
      await goStale(id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      expect(await outcome(id)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: release web is at revision 2, deployed at \S+, before this run started at \S+; the run's outcome is not known$/,
        ),
      });
      expect((await t.store.getTenants('stale'))[0]).toMatchObject({
        status: 'failed',
        lastRunId: id,
      });
    });
  },
);
