/*
 * Every run that ends gets exactly one `run-finished` audit event, even when a step after its end was
 * recorded fails (the database refusing a write for a moment) or the instance that ended it stops:
 * the end of a run is an outbox, emptied by the scheduled outcome pass. The plugin is started as
 * production wires it; its scheduled tasks run when a test fires them.
 */
import {
  AuditorService,
  SchedulerService,
  ServiceFactory,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import request from 'supertest';
import { CapturedAuditEvent } from '../__testUtils__/capture';
import { startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { NewRun } from '../database/RunStore';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const RECOVERY_TASK = 'kubechart-recover-stale-runs';
const OUTCOMES_TASK = 'kubechart-run-outcomes';
const ALICE = 'user:default/alice';
const MIGRATIONS = `${__dirname}/../../migrations`;

/** The mock scheduler as it is at run time (`mockServices.scheduler()` is typed as the plain service). */
type ManualScheduler = SchedulerService & {
  factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
};

describe.each(databases.eachSupportedId())(
  'the run-finished audit event on %p',
  databaseId => {
    let sim: KubeSim;
    const stops: Array<() => Promise<void>> = [];
    let n = 0;

    beforeAll(async () => {
      sim = await startSim();
    });
    afterEach(async () => {
      jest.restoreAllMocks();
      for (const stop of stops.splice(0).reverse()) await stop();
    });
    afterAll(async () => {
      await sim?.stop();
    });

    /**
     * One backend (replica) on `knex`, its audit events kept in `audit`, its tasks fired by hand. Its
     * auditor refuses the first `refuse` run-finished events (the audit log unavailable a moment).
     */
    async function startBackend(
      knex: Knex,
      audit: CapturedAuditEvent[],
      options: { refuse?: number } = {},
    ) {
      const scheduler = mockServices.scheduler() as ManualScheduler;
      let refuse = options.refuse ?? 0;
      const backend = await startKubechartBackend({
        config: testConfig(sim, { health: { startOnBoot: false } }),
        knex,
        features: [
          createServiceFactory({
            service: coreServices.auditor,
            deps: {},
            factory: (): AuditorService => ({
              async createEvent(o) {
                if (o.eventId === 'run-finished' && refuse > 0) {
                  refuse--;
                  throw new Error('the audit log is not available');
                }
                const e: CapturedAuditEvent = {
                  eventId: o.eventId,
                  severityLevel: o.severityLevel ?? 'low',
                  meta: (o.meta ?? {}) as Record<string, any>,
                  status: 'initiated',
                };
                audit.push(e);
                return {
                  async success() {
                    e.status = 'succeeded';
                  },
                  async fail(f) {
                    e.status = 'failed';
                    e.error = String(f.error?.message ?? f.error);
                  },
                };
              },
            }),
          }),
          scheduler.factory({ skipTaskRunOnStartup: true }),
        ],
      });
      stops.push(() => backend.stop());
      return {
        server: backend.server,
        fire: (task: string) => scheduler.triggerTask(task),
      };
    }

    const storeOn = (knex: Knex) =>
      DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });

    const newId = () => {
      n++;
      return `d0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    };

    /** A run left `running` by a backend that died: its heartbeat is 10 minutes old. */
    async function leftRunning(
      knex: Knex,
      run: Partial<NewRun> = {},
      options: Parameters<DatabaseRunStore['createRun']>[2] = {},
    ) {
      const id = run.id ?? newId();
      await (
        await storeOn(knex)
      ).createRun(
        {
          id,
          kind: 'chart',
          status: 'running',
          actor: ALICE,
          target: { cluster: 'gone', namespace: 'team-a', release: 'web' },
          input: {},
          ...run,
        },
        [],
        options,
      );
      await knex('kubechart_runs')
        .where({ id })
        .update({ heartbeat_at: Date.now() - 10 * 60_000 });
      return id;
    }

    /** Moves a run's end 10 minutes back: past the grace the outcome pass gives whoever ended it. */
    const endedLongAgo = (knex: Knex, id: string) =>
      knex('kubechart_runs')
        .where({ id })
        .update({ finished_at: Date.now() - 10 * 60_000 });

    const finishedEvents = (audit: CapturedAuditEvent[], id: string) =>
      audit.filter(e => e.eventId === 'run-finished' && e.meta.runId === id);

    /** Waits (up to `ms`) until the run has a `run-finished` event; resolves all it has. */
    async function untilAudited(
      audit: CapturedAuditEvent[],
      id: string,
      ms = 5_000,
    ) {
      for (let waited = 0; waited < ms; waited += 50) {
        if (
          finishedEvents(audit, id).some(
            e => e.status === 'succeeded' || e.status === 'failed',
          )
        )
          break;
        await new Promise(r => setTimeout(r, 50));
      }
      return finishedEvents(audit, id);
    }

    /** Fails `method` of the run store once for run `id`, after `after` (if given) was called for it. */
    function failOnce(
      method: 'appendEvents' | 'getRun' | 'upsertTenant',
      matches: (args: any[]) => boolean,
      after?: 'finishRun',
    ) {
      let armed = !after;
      let failed = false;
      if (after) {
        const original = DatabaseRunStore.prototype[after];
        jest
          .spyOn(DatabaseRunStore.prototype, after)
          .mockImplementation(async function finish(
            this: DatabaseRunStore,
            ...args: any[]
          ) {
            const result = await (original as any).apply(this, args);
            if (matches(args)) armed = true;
            return result;
          });
      }
      const original = DatabaseRunStore.prototype[method];
      jest
        .spyOn(DatabaseRunStore.prototype, method)
        .mockImplementation(async function once(
          this: DatabaseRunStore,
          ...args: any[]
        ) {
          if (armed && !failed && matches(args)) {
            failed = true;
            throw new Error('Connection terminated unexpectedly');
          }
          return (original as any).apply(this, args);
        });
      return { failed: () => failed };
    }

    it('is emitted for a stale run whose log line could not be recorded after its end was', async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit);
      const id = await leftRunning(knex);
      const fault = failOnce('appendEvents', ([runId]) => runId === id);

      await backend.fire(RECOVERY_TASK);

      expect(fault.failed()).toBe(true);
      const run = await (await storeOn(knex)).getRun(id);
      expect(run?.status).toBe('failed');
      const events = await untilAudited(audit, id);
      expect(events).toEqual([
        expect.objectContaining({
          status: 'failed',
          meta: expect.objectContaining({ runId: id, outcome: 'failed' }),
          error: run?.failureReason,
        }),
      ]);
      // The outcome pass, later, does not emit it again.
      await endedLongAgo(knex, id);
      await backend.fire(OUTCOMES_TASK);
      expect(finishedEvents(audit, id)).toHaveLength(1);
    });

    it('is emitted by the outcome pass for a run whose instance stopped right after recording its end, once across passes and replicas', async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const a = await startBackend(knex, audit);
      const b = await startBackend(knex, audit);
      const id = await leftRunning(knex, {
        target: { cluster: 'dev', namespace: 'team-b', release: 'web' },
      });
      // Its end recorded by an instance that stopped before telling anyone (no listener, no event).
      await (
        await storeOn(knex)
      ).finishRun(id, 'succeeded', { applied: ['installed release web'] });
      expect(await untilAudited(audit, id, 200)).toEqual([]);
      await endedLongAgo(knex, id);

      // Both replicas' passes at once, then again.
      await Promise.all([a.fire(OUTCOMES_TASK), b.fire(OUTCOMES_TASK)]);
      await Promise.all([a.fire(OUTCOMES_TASK), b.fire(OUTCOMES_TASK)]);

      expect(finishedEvents(audit, id)).toEqual([
        expect.objectContaining({
          status: 'succeeded',
          meta: expect.objectContaining({
            runId: id,
            outcome: 'succeeded',
            applied: ['installed release web'],
          }),
        }),
      ]);
    });

    it('is emitted by the outcome pass when the auditor refused it as the run ended, not before the grace after the end', async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit, { refuse: 1 });
      const id = await leftRunning(knex);

      await backend.fire(RECOVERY_TASK);
      const run = await (await storeOn(knex)).getRun(id);
      expect(run?.status).toBe('failed');
      expect(await untilAudited(audit, id, 500)).toEqual([]);
      // Just ended: the pass leaves it to whoever ended it for a while.
      await backend.fire(OUTCOMES_TASK);
      expect(finishedEvents(audit, id)).toEqual([]);

      await endedLongAgo(knex, id);
      await backend.fire(OUTCOMES_TASK);
      await backend.fire(OUTCOMES_TASK);
      expect(finishedEvents(audit, id)).toEqual([
        expect.objectContaining({
          status: 'failed',
          error: run?.failureReason,
          meta: expect.objectContaining({ runId: id, outcome: 'failed' }),
        }),
      ]);
    });

    it("settles a stale tenant run's tenant when its update failed after the run's end was recorded, and audits the run once", async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit);
      const id = newId();
      await leftRunning(
        knex,
        {
          id,
          kind: 'tenant',
          target: { cluster: 'gone', namespace: 'tenant-lost' },
          tenant: 'lost',
          input: { tenant: 'lost', releases: [] },
        },
        {
          tenant: {
            cluster: 'gone',
            code: 'lost',
            record: () => ({
              cluster: 'gone',
              code: 'lost',
              namespace: 'tenant-lost',
              owner: ALICE,
              status: 'provisioning',
              lastRunId: id,
              releases: [],
            }),
          },
        },
      );
      const fault = failOnce('upsertTenant', ([t]) => t?.code === 'lost');

      await backend.fire(RECOVERY_TASK);

      expect(fault.failed()).toBe(true);
      const store = await storeOn(knex);
      expect((await store.getRun(id))?.status).toBe('failed');
      expect((await store.getTenants('lost'))[0]).toMatchObject({
        status: 'provisioning',
      });
      expect(await untilAudited(audit, id)).toHaveLength(1);

      await endedLongAgo(knex, id);
      await backend.fire(OUTCOMES_TASK);
      expect((await store.getTenants('lost'))[0]).toMatchObject({
        status: 'failed',
        lastRunId: id,
        owner: ALICE,
      });
      expect(finishedEvents(audit, id)).toHaveLength(1);
    });

    it('gives a tenant back the record it had when the run that claimed it never started and its end reached the run only', async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit);
      const id = newId();
      await leftRunning(
        knex,
        {
          id,
          kind: 'tenant',
          status: 'pending',
          target: { cluster: 'dev', namespace: 'tenant-never' },
          tenant: 'never',
          input: { tenant: 'never', releases: [] },
        },
        {
          tenant: {
            cluster: 'dev',
            code: 'never',
            record: () => ({
              cluster: 'dev',
              code: 'never',
              namespace: 'tenant-never',
              owner: ALICE,
              status: 'provisioning',
              lastRunId: id,
              releases: [],
            }),
          },
        },
      );
      const fault = failOnce('upsertTenant', ([t]) => t?.code === 'never');
      await backend.fire(RECOVERY_TASK);
      expect(fault.failed()).toBe(true);
      const store = await storeOn(knex);
      expect((await store.getTenants('never'))[0]?.status).toBe('provisioning');

      await endedLongAgo(knex, id);
      await backend.fire(OUTCOMES_TASK);
      // There was no tenant before: it is not live, and its requester has no scope through it.
      expect((await store.getTenants('never'))[0]?.status).toBe('deleted');
      const listed = await request(backend.server)
        .get('/api/kubechart/tenants')
        .set('Authorization', mockCredentials.user.header());
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((t: any) => t.code)).not.toContain('never');
      expect(finishedEvents(audit, id)).toHaveLength(1);
    });

    it('is emitted for a run the engine executed when reading it back after its end failed', async () => {
      const knex = await databases.init(databaseId);
      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit);
      const fault = failOnce(
        'getRun',
        ([runId]) => typeof runId === 'string',
        'finishRun',
      );

      const started = await request(backend.server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header())
        .send({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'readback',
          releases: [],
        });
      expect(started.status).toBe(202);
      const id = started.body.id;

      const events = await untilAudited(audit, id, 60_000);
      expect(fault.failed()).toBe(true);
      const run = await (await storeOn(knex)).getRun(id);
      expect(run?.status).toBe('succeeded');
      expect(events).toEqual([
        expect.objectContaining({
          status: 'succeeded',
          meta: expect.objectContaining({ runId: id, outcome: 'succeeded' }),
        }),
      ]);
      // What the run changed, as recorded on it, though it could not be read back.
      expect(run?.applied).toContain('created Namespace/tenant-readback');
      expect(events[0].meta.applied).toEqual(run?.applied);
      expect(
        (await (await storeOn(knex)).getTenants('readback'))[0],
      ).toMatchObject({ status: 'active', lastRunId: id });
      // Marked as emitted: the outcome pass does not emit it again.
      await endedLongAgo(knex, id);
      await backend.fire(OUTCOMES_TASK);
      expect(finishedEvents(audit, id)).toHaveLength(1);
    });

    it('is not emitted again for runs that had ended when the migration ran', async () => {
      const knex = await databases.init(databaseId);
      const store = await storeOn(knex);
      const done = await leftRunning(knex);
      const failed = await leftRunning(knex);
      const active = await leftRunning(knex);
      await store.finishRun(done, 'succeeded');
      await store.finishRun(failed, 'failed', { failureReason: 'no' });
      // The database as it was before the upgrade.
      await knex.migrate.down({
        directory: MIGRATIONS,
        name: '20261210000000_outcome_audited.js',
      });
      await knex.migrate.latest({ directory: MIGRATIONS });
      await endedLongAgo(knex, done);
      await endedLongAgo(knex, failed);

      const audit: CapturedAuditEvent[] = [];
      const backend = await startBackend(knex, audit);
      await backend.fire(OUTCOMES_TASK);
      expect(audit.filter(e => e.eventId === 'run-finished')).toEqual([]);

      // A run still active at the upgrade gets its event when it ends.
      await store.finishRun(active, 'failed', { failureReason: 'later' });
      await endedLongAgo(knex, active);
      await backend.fire(OUTCOMES_TASK);
      expect(audit.filter(e => e.eventId === 'run-finished')).toEqual([
        expect.objectContaining({
          meta: expect.objectContaining({ runId: active }),
        }),
      ]);
    });
  },
);
