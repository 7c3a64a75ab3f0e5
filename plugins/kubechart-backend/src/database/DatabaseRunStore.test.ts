import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import knexFactory, { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import type {
  PolicyReport,
  PolicySeverity,
} from '@kubechart/plugin-kubechart-common';
import { DatabaseRunStore } from './DatabaseRunStore';
import { LeaseLostError, NewRun } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const newRun = (over: Partial<NewRun> = {}): NewRun => ({
  id: randomUUID(),
  kind: 'chart',
  status: 'pending',
  actor: 'user:default/alice',
  entityRef: 'component:default/shop',
  target: { cluster: 'dev', namespace: 'team-a', release: 'web' },
  input: { release: { name: 'web' } },
  ...over,
});

describe.each(databases.eachSupportedId())(
  'DatabaseRunStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      return { knex, store };
    }

    it('records a run through its lifecycle with transitions and duration', async () => {
      const { store } = await createStore();
      const run = await store.createRun(newRun(), ['rel:dev/team-a/web']);
      expect(run.status).toBe('pending');
      await store.updateRun(run.id, { status: 'running' });
      await store.finishRun(run.id, 'succeeded', {
        helmRevision: 3,
        values: { a: 1 },
        manifest: 'kind: X\n',
      });
      const done = (await store.getRun(run.id))!;
      expect(done).toMatchObject({
        status: 'succeeded',
        helmRevision: 3,
        values: { a: 1 },
        manifest: 'kind: X\n',
      });
      expect(done.transitions.map(t => t.status)).toEqual([
        'pending',
        'running',
        'succeeded',
      ]);
      expect(done.durationMs).toBeGreaterThanOrEqual(0);
    });

    if (databaseId === 'POSTGRES_15') {
      it('a backend instance frozen in the middle of a transaction holds a run row for seconds, not for as long as its connection lives', async () => {
        const { knex, store } = await createStore();
        const run = await store.createRun(newRun(), ['rel:dev/team-a/web']);
        // Instance A: its own pool on the same database; it locks the run row inside one of the
        // store's transactions and then stops talking to the database (a frozen process).
        const knexA = knexFactory(knex.client.config);
        try {
          const storeA = new DatabaseRunStore(knexA, {
            idleInTransactionTimeoutMs: 1000,
          });
          let locked!: () => void;
          const hasLock = new Promise<void>(r => (locked = r));
          const frozen = (storeA as any).transaction(
            async (tx: Knex.Transaction) => {
              await tx('kubechart_runs')
                .where({ id: run.id })
                .forUpdate()
                .first();
              locked();
              await new Promise(r => setTimeout(r, 6000));
              await tx('kubechart_runs')
                .where({ id: run.id })
                .update({ status: 'failed' });
            },
          );
          const frozenOutcome = frozen.then(
            () => 'committed',
            () => 'ended by PostgreSQL',
          );
          await hasLock;
          // Instance B takes the run over: it waits for the lock only until PostgreSQL ends A's
          // idle transaction, not for A's 6 s.
          const started = Date.now();
          await store.updateRun(run.id, { status: 'running' });
          expect(Date.now() - started).toBeLessThan(4000);
          expect(await frozenOutcome).toBe('ended by PostgreSQL');
          expect((await store.getRun(run.id))!.status).toBe('running');
        } finally {
          await knexA.destroy();
        }
      });
    }

    it('allows one active run per target and names it in the 409', async () => {
      const { store } = await createStore();
      const first = await store.createRun(newRun(), ['rel:dev/team-a/web']);
      const err = await store
        .createRun(newRun({ actor: 'user:default/bob' }), [
          'ns:dev/team-a',
          'rel:dev/team-a/web',
        ])
        .catch(e => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toContain(first.id);
      // the conflicting run was not recorded, nor its other lock
      expect(
        (await store.listRuns({ actor: 'user:default/bob' }, { limit: 10 }))
          .items,
      ).toHaveLength(0);
      await store.finishRun(first.id, 'failed', { failureReason: 'x' });
      await expect(
        store.createRun(newRun(), ['ns:dev/team-a', 'rel:dev/team-a/web']),
      ).resolves.toBeDefined();
    });

    it('serialises concurrent lock attempts: exactly one wins', async () => {
      const { store } = await createStore();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          store.createRun(newRun(), ['ns:dev/race']),
        ),
      );
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.filter(
          r => r.status === 'rejected' && r.reason instanceof ConflictError,
        ),
      ).toHaveLength(7);
    });

    it('pages runs with a cursor and filters', async () => {
      const { store } = await createStore();
      for (let i = 0; i < 7; i++) {
        const r = await store.createRun(
          newRun({
            entityRef: i % 2 ? 'component:default/a' : 'component:default/b',
          }),
          [],
        );
        await store.finishRun(r.id, 'succeeded');
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listRuns({}, { cursor, limit: 3 });
        seen.push(...page.items.map(r => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen).size).toBe(7);
      expect(
        (
          await store.listRuns(
            { entityRef: 'component:default/a' },
            { limit: 10 },
          )
        ).items,
      ).toHaveLength(3);
      expect(
        (
          await store.listRuns(
            { from: new Date(Date.now() + 60_000) },
            { limit: 10 },
          )
        ).items,
      ).toHaveLength(0);
      await expect(
        store.listRuns({}, { cursor: 'garbage', limit: 1 }),
      ).rejects.toThrow('Invalid cursor');
    });

    it('pages filtered runs newest first, each run once, also across runs created in the same millisecond', async () => {
      const { knex, store } = await createStore();
      const statuses = [
        'succeeded',
        'failed',
        'running',
        'awaiting-approval',
      ] as const;
      const runs: Array<{
        id: string;
        entityRef: string;
        actor: string;
        status: string;
        createdAt: number;
      }> = [];
      for (let i = 0; i < 36; i++) {
        const run = newRun({
          entityRef: `component:default/e${i % 3}`,
          actor: `user:default/u${i % 4}`,
        });
        await store.createRun(run, []);
        // Six runs share each millisecond, so pages break between runs with equal times.
        const createdAt = 1_700_000_000_000 + Math.floor(i / 6) * 1000;
        const status = statuses[(i * 7) % 4];
        await knex('kubechart_runs')
          .where({ id: run.id })
          .update({ created_at: createdAt, status });
        runs.push({
          id: run.id,
          entityRef: run.entityRef!,
          actor: run.actor,
          status,
          createdAt,
        });
      }
      const newestFirst = (a: (typeof runs)[0], b: (typeof runs)[0]) =>
        b.createdAt - a.createdAt || (b.id < a.id ? -1 : 1);
      const filters = [
        {},
        { entityRef: 'component:default/e1' },
        { actor: 'user:default/u2' },
        { status: 'failed' as const },
        { entityRef: 'component:default/e2', status: 'running' as const },
        { entityRef: 'component:default/e0', actor: 'user:default/u0' },
        { from: new Date(1_700_000_001_000), to: new Date(1_700_000_004_000) },
        {
          entityRef: 'component:default/e1',
          from: new Date(1_700_000_002_000),
        },
      ];
      for (const filter of filters) {
        const expected = runs
          .filter(r => !filter.entityRef || r.entityRef === filter.entityRef)
          .filter(r => !filter.actor || r.actor === filter.actor)
          .filter(r => !filter.status || r.status === filter.status)
          .filter(r => !filter.from || r.createdAt >= filter.from.getTime())
          .filter(r => !filter.to || r.createdAt < filter.to.getTime())
          .sort(newestFirst)
          .map(r => r.id);
        expect(expected.length).toBeGreaterThan(0);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns(filter, { cursor, limit: 4 });
          seen.push(...page.items.map(r => r.id));
          cursor = page.nextCursor;
        } while (cursor);
        expect({ filter, ids: seen }).toEqual({ filter, ids: expected });
      }
    });

    it('appends events in order and reads them after a cursor', async () => {
      const { store } = await createStore();
      const run = await store.createRun(newRun(), []);
      await store.appendEvents(run.id, [
        {
          type: 'step',
          level: 'info',
          step: 'namespace',
          stepStatus: 'started',
          message: 'namespace',
        },
        { type: 'log', level: 'info', message: '[web] hello' },
      ]);
      await Promise.all([
        store.appendEvents(run.id, [
          { type: 'log', level: 'info', message: 'a' },
        ]),
        store.appendEvents(run.id, [
          { type: 'log', level: 'info', message: 'b' },
        ]),
      ]);
      const all = await store.getEvents(run.id);
      expect(all.map(e => e.seq)).toEqual([1, 2, 3, 4]);
      expect(all[0]).toMatchObject({
        step: 'namespace',
        stepStatus: 'started',
      });
      expect(
        (await store.getEvents(run.id, { after: 2 }))
          .map(e => e.message)
          .sort(),
      ).toEqual(['a', 'b']);
    });

    it('finds stale runs, counts per actor and keeps tenants', async () => {
      const { store, knex } = await createStore();
      const run = await store.createRun(newRun({ status: 'running' }), ['x']);
      await knex('kubechart_runs')
        .where({ id: run.id })
        .update({ heartbeat_at: Date.now() - 600_000 });
      expect(
        (await store.findStaleRuns(new Date(Date.now() - 60_000))).map(
          r => r.id,
        ),
      ).toEqual([run.id]);
      expect(
        await store.countRunsByActorSince(
          'user:default/alice',
          new Date(Date.now() - 60_000),
        ),
      ).toBe(1);
      await store.upsertTenant({
        cluster: 'dev',
        code: 'acme',
        namespace: 'tenant-acme',
        status: 'provisioning',
        releases: ['web'],
      });
      await store.upsertTenant({
        cluster: 'dev',
        code: 'acme',
        namespace: 'tenant-acme',
        status: 'active',
        releases: ['web', 'db'],
      });
      expect(await store.getTenants('acme')).toEqual([
        expect.objectContaining({ status: 'active', releases: ['web', 'db'] }),
      ]);
      expect(await store.countActiveTenants()).toBe(1);
      const summary = await store.summary();
      expect(summary.runsByStatus.running).toBe(1);
      expect(summary.tenantsByStatus.active).toBe(1);
    });

    it('reads one metrics summary for callers asking at once, and a new one for a caller asking after', async () => {
      const { knex, store } = await createStore();
      await store.createRun(newRun({ status: 'running' }), []);
      const queries: string[] = [];
      const onQuery = (q: { sql: string }) => queries.push(q.sql);
      knex.on('query', onQuery);
      const one = await store.summary();
      const perSummary = queries.length;
      queries.length = 0;
      const many = await Promise.all(
        Array.from({ length: 20 }, () => store.summary()),
      );
      knex.off('query', onQuery);
      expect(perSummary).toBeGreaterThan(0);
      // Twenty callers at once: the queries of one summary, not twenty times as many.
      expect(queries).toHaveLength(perSummary);
      for (const s of many) expect(s.runsByStatus).toEqual(one.runsByStatus);
      // Nothing is kept once read: a run recorded afterwards is counted by the next caller.
      await store.createRun(newRun({ status: 'running' }), []);
      expect((await store.summary()).runsByStatus.running).toBe(
        one.runsByStatus.running + 1,
      );
    });

    it('counts runs by entity and the owner it had for the metrics summary, and a run without an entity by its actor alone', async () => {
      const { store } = await createStore();
      const alice = 'user:default/alice';
      const bob = 'user:default/bob';
      const acme = 'group:default/acme';
      await store.createRun(
        newRun({ status: 'running', entityOwner: acme }),
        [],
      );
      await store.createRun(
        newRun({ status: 'running', actor: bob, entityOwner: 'Group:ACME' }),
        [],
      );
      // The same entity while it had another owner (registered again by someone else): apart.
      await store.createRun(
        newRun({ status: 'running', entityOwner: 'group:default/others' }),
        [],
      );
      await store.createRun(
        newRun({
          kind: 'tenant',
          status: 'running',
          entityRef: 'component:default/other',
        }),
        [],
      );
      await store.createRun(
        newRun({ status: 'running', entityRef: undefined }),
        [],
      );
      await store.createRun(
        newRun({ status: 'running', entityRef: undefined, actor: bob }),
        [],
      );
      const { runs } = await store.summaryByEntity();
      const byKey = (r: (typeof runs)[number]) =>
        `${r.entityRef ?? r.actor}/${r.entityOwner}/${r.kind}`;
      expect(
        [...runs].sort((a, b) => byKey(a).localeCompare(byKey(b))),
      ).toEqual([
        // two actors, one entity: one group, which names no actor
        {
          entityRef: 'component:default/other',
          // created without the owner its entity had: recorded as none
          entityOwner: '',
          actor: undefined,
          status: 'running',
          kind: 'tenant',
          count: 1,
        },
        {
          entityRef: 'component:default/shop',
          entityOwner: acme,
          actor: undefined,
          status: 'running',
          kind: 'chart',
          count: 2,
        },
        {
          entityRef: 'component:default/shop',
          entityOwner: 'group:default/others',
          actor: undefined,
          status: 'running',
          kind: 'chart',
          count: 1,
        },
        {
          entityRef: undefined,
          actor: alice,
          status: 'running',
          kind: 'chart',
          count: 1,
        },
        {
          entityRef: undefined,
          actor: bob,
          status: 'running',
          kind: 'chart',
          count: 1,
        },
      ]);
    });

    it('finishes a run once when two replicas reconcile it', async () => {
      const { store } = await createStore();
      const run = await store.createRun(newRun({ status: 'running' }), [
        'ns:dev/once',
      ]);
      const results = await Promise.all([
        store.finishRun(
          run.id,
          'failed',
          { failureReason: 'a' },
          { onlyIfActive: true },
        ),
        store.finishRun(run.id, 'succeeded', {}, { onlyIfActive: true }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const done = (await store.getRun(run.id))!;
      expect(
        done.transitions.filter(
          t => t.status === 'failed' || t.status === 'succeeded',
        ),
      ).toHaveLength(1);
    });

    it('fences a late executor: once reconciled, its writes are refused and the reconciled status stands', async () => {
      const { store } = await createStore();
      const run = await store.createRun(newRun(), [
        'ns:dev/team-a',
        'rel:dev/team-a/web',
      ]);
      const lease = await store.claimRun(run.id, 'backend-a');
      expect(lease).toEqual({ runId: run.id, epoch: 1 });
      await expect(store.claimRun(run.id, 'backend-b')).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await store.updateRun(run.id, { helmRevision: 1 }, { lease });
      expect(await store.renewLeases([lease])).toEqual([]);

      // Another replica reconciles the run: the lease epoch moves on.
      expect(
        await store.finishRun(
          run.id,
          'failed',
          { failureReason: 'backend stopped reporting' },
          { fence: true },
        ),
      ).toBe(true);
      expect(
        await store.finishRun(
          run.id,
          'failed',
          { failureReason: 'twice' },
          { fence: true },
        ),
      ).toBe(false);

      await expect(
        store.updateRun(run.id, { helmRevision: 2 }, { lease }),
      ).rejects.toThrow(
        /no longer executed by this backend instance: it was reconciled as failed/,
      );
      await expect(
        store.finishRun(run.id, 'succeeded', {}, { lease }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        store.appendEvents(
          run.id,
          [{ type: 'status', level: 'info', message: 'Run succeeded' }],
          { lease },
        ),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.verifyLease(lease)).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect(await store.renewLeases([lease])).toEqual([run.id]);
      const after = (await store.getRun(run.id))!;
      expect({
        status: after.status,
        reason: after.failureReason,
        revision: after.helmRevision,
      }).toEqual({
        status: 'failed',
        reason: 'backend stopped reporting',
        revision: 1,
      });
      expect(after.transitions.map(t => t.status)).toEqual([
        'pending',
        'running',
        'failed',
      ]);
      expect(await store.getEvents(run.id)).toEqual([]);

      // Its locks stay until the late executor says it stopped (or they are abandoned).
      const abandonedBefore = new Date(Date.now() - 60_000);
      const err = await store
        .createRun(newRun(), ['ns:dev/team-a'], { abandonedBefore })
        .catch(e => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toMatch(
        new RegExp(
          `^Run ${run.id} \\(chart, failed, started by user:default/alice\\) was reconciled after its backend stopped reporting, but that backend may still be executing it; ns:dev/team-a stays locked until it stops or until `,
        ),
      );
      expect(await store.releaseLocks(run.id)).toBe(true);
      await expect(
        store.createRun(newRun(), ['ns:dev/team-a'], { abandonedBefore }),
      ).resolves.toBeDefined();
    });

    it('takes over the locks of a reconciled run whose backend never came back, never those of an active run', async () => {
      const { store, knex } = await createStore();
      const active = await store.createRun(newRun(), ['ns:dev/busy']);
      await store.claimRun(active.id, 'backend-a');
      expect(await store.releaseLocks(active.id)).toBe(false);
      await knex('kubechart_runs')
        .where({ id: active.id })
        .update({ heartbeat_at: Date.now() - 3_600_000 });
      const recent = new Date(Date.now() - 1000);
      await expect(
        store.createRun(newRun(), ['ns:dev/busy'], { abandonedBefore: recent }),
      ).rejects.toThrow(/is already active on ns:dev\/busy/);

      await store.finishRun(
        active.id,
        'failed',
        { failureReason: 'reconciled' },
        { fence: true },
      );
      const next = await store.createRun(newRun(), ['ns:dev/busy'], {
        abandonedBefore: recent,
      });
      expect(
        await knex('kubechart_locks')
          .where({ target: 'ns:dev/busy' })
          .select('run_id'),
      ).toEqual([{ run_id: next.id }]);
    });

    it('migrates the lease epoch up and down, keeping existing runs', async () => {
      const { knex, store } = await createStore();
      const directory = `${__dirname}/../../migrations`;
      const run = await store.createRun(newRun(), ['ns:dev/m']);
      await store.claimRun(run.id, 'backend-a');
      await knex.migrate.down({
        directory,
        name: '20261202000000_run_lease.js',
      });
      expect(await knex.schema.hasColumn('kubechart_runs', 'lease_epoch')).toBe(
        false,
      );
      expect(
        await knex('kubechart_runs').where({ id: run.id }).first(),
      ).toMatchObject({ status: 'running' });
      await knex.migrate.latest({ directory });
      expect(
        await knex('kubechart_runs').where({ id: run.id }).first(),
      ).toMatchObject({ status: 'running', lease_epoch: 0 });
    });

    it('lists runs with their approval gate, and runs without one without it', async () => {
      const { store } = await createStore();
      const plain = await store.createRun(newRun(), []);
      const gated = await store.createAwaitingRun(
        newRun(),
        {
          rule: 'prod',
          required: 2,
          approvers: ['group:default/sre'],
          planHash: 'h',
          planSalt: 'secret-salt',
          expiresAt: new Date(Date.now() + 3_600_000),
          exec: {},
        },
        {},
      );
      const { items } = await store.listRuns(
        { entityRef: 'component:default/shop' },
        { limit: 10 },
      );
      expect(items.map(r => r.id).sort()).toEqual([gated.id, plain.id].sort());
      const listedGate = items.find(r => r.id === gated.id)!.approval;
      expect(listedGate).toMatchObject({
        rule: 'prod',
        state: 'awaiting',
        required: 2,
        approvers: ['group:default/sre'],
        decisions: [],
      });
      expect(JSON.stringify(listedGate)).not.toContain('secret-salt');
      expect(listedGate).toEqual((await store.getRun(gated.id))!.approval);
      expect(items.find(r => r.id === plain.id)!.approval).toBeUndefined();
    });

    it('lists approved gates apart from newer ones awaiting decisions', async () => {
      const { store } = await createStore();
      const gate = {
        rule: 'prod',
        required: 1,
        approvers: ['group:default/sre'],
        planHash: 'h',
        planSalt: 's',
        expiresAt: new Date(Date.now() + 3_600_000),
        exec: {},
      };
      const approved = await store.createAwaitingRun(newRun(), gate, {});
      await store.decideApproval(approved.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      const awaiting: string[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise(r => setTimeout(r, 2)); // newer, by created_at
        awaiting.push((await store.createAwaitingRun(newRun(), gate, {})).id);
      }
      // The newest two are both awaiting: the approved run is not among them.
      expect((await store.listOpenApprovals(2)).map(r => r.id)).not.toContain(
        approved.id,
      );
      expect(
        (await store.listOpenApprovals(2, { state: 'approved' })).map(
          r => r.id,
        ),
      ).toEqual([approved.id]);
      expect(
        (await store.listOpenApprovals(10, { state: 'awaiting' }))
          .map(r => r.id)
          .sort(),
      ).toEqual([...awaiting].sort());
    });

    it('migrates the history indexes up and down, the filters finding the same runs', async () => {
      const { knex, store } = await createStore();
      const directory = `${__dirname}/../../migrations`;
      for (let i = 0; i < 6; i++) {
        const r = await store.createRun(
          newRun({ actor: `user:default/u${i % 2}` }),
          [],
        );
        await store.finishRun(r.id, i % 3 ? 'succeeded' : 'failed');
      }
      const filtered = async () =>
        Promise.all(
          [
            { status: 'failed' as const },
            { actor: 'user:default/u1' },
            {
              entityRef: 'component:default/shop',
              status: 'succeeded' as const,
            },
          ].map(async f =>
            (await store.listRuns(f, { limit: 10 })).items.map(r => r.id),
          ),
        );
      const before = await filtered();
      expect(before.map(ids => ids.length)).toEqual([2, 3, 4]);
      await knex.migrate.down({
        directory,
        name: '20261205000000_history_indexes.js',
      });
      expect(await filtered()).toEqual(before);
      await knex.migrate.latest({ directory });
      expect(await filtered()).toEqual(before);
    });

    // A rendered chart: many similar objects, as helm writes them.
    const bigManifest = Array.from(
      { length: 200 },
      (_, i) =>
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${i}\n  namespace: team-a\n  labels:\n    app.kubernetes.io/name: web-${i}\n    app.kubernetes.io/managed-by: Helm\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: web\n          image: registry.example.com/web:1.${i}.0\n`,
    ).join('---\n');

    it('stores manifests gzip-compressed and gives them back unchanged', async () => {
      const { knex, store } = await createStore();
      const run = await store.createRun(newRun(), ['ns:dev/gz']);
      await store.finishRun(run.id, 'succeeded', { manifest: bigManifest });
      const row = await knex('kubechart_runs').where({ id: run.id }).first();
      expect(row.manifest).toBeNull();
      expect(Buffer.byteLength(bigManifest)).toBeGreaterThan(60_000);
      expect(row.manifest_gz.length).toBeLessThan(
        Buffer.byteLength(bigManifest) / 10,
      );
      expect((await store.getRun(run.id))!.manifest).toBe(bigManifest);
    });

    /** A policy report on `objects` objects whose failed results are `failed` (severities). */
    const reportOf = (
      mode: PolicyReport['mode'],
      failed: PolicySeverity[],
      objects = 200,
    ): PolicyReport => {
      const count = (severity: PolicySeverity) =>
        failed.filter(f => f === severity).length;
      return {
        mode,
        passed: count('error') === 0,
        blocking: mode === 'enforce' && count('error') > 0,
        summary: {
          objects,
          errors: count('error'),
          warnings: count('warning'),
          infos: count('info'),
        },
        results: Array.from({ length: objects }, (_, i) => ({
          ruleId: i < failed.length ? `rule-${failed[i]}` : 'image-tag',
          severity: i < failed.length ? failed[i] : 'error',
          passed: i >= failed.length,
          object: { kind: 'Deployment', name: `web-${i}`, namespace: 'team-a' },
          message:
            i < failed.length
              ? `web-${i} breaks rule-${failed[i]}`
              : 'image tag pinned',
          fix: 'pin the image tag',
        })),
        charts: [
          {
            release: 'web',
            chart: 'web',
            version: '1.0.0',
            digest: 'sha256:00',
            source: 'web',
          },
        ],
      };
    };

    it('lists runs without their values, manifest and policy report, with the outcome and counts of the report, reading none of them', async () => {
      const { knex, store } = await createStore();
      const finished = async (
        status: 'succeeded' | 'failed',
        policyReport?: PolicyReport,
        failureReason?: string,
      ) => {
        const run = await store.createRun(newRun(), []);
        await store.finishRun(run.id, status, {
          values: { replicas: 2, image: { tag: 'latest' } },
          manifest: bigManifest,
          helmRevision: status === 'succeeded' ? 4 : undefined,
          ...(policyReport ? { policyReport } : {}),
          ...(failureReason ? { failureReason } : {}),
        });
        return run.id;
      };
      const reports = {
        passed: reportOf('enforce', ['info']),
        refused: reportOf('enforce', ['error', 'warning', 'warning']),
        warnOnly: reportOf('warn', ['error', 'warning']),
      };
      const ids = {
        passed: await finished('succeeded', reports.passed),
        refused: await finished(
          'failed',
          reports.refused,
          'Refused by the chart policy: 1 error',
        ),
        warnOnly: await finished('succeeded', reports.warnOnly),
        noReport: await finished('succeeded'),
      };

      const queries: string[] = [];
      const onQuery = (q: { sql: string }) => queries.push(q.sql);
      knex.on('query', onQuery);
      const { items } = await store.listRuns(
        { entityRef: 'component:default/shop' },
        { limit: 10 },
      );
      knex.off('query', onQuery);
      const listed = (id: string) => items.find(r => r.id === id)!;
      expect(items).toHaveLength(4);

      expect(listed(ids.passed).policySummary).toEqual({
        mode: 'enforce',
        passed: true,
        blocking: false,
        summary: { objects: 200, errors: 0, warnings: 0, infos: 1 },
      });
      expect(listed(ids.refused).policySummary).toEqual({
        mode: 'enforce',
        passed: false,
        blocking: true,
        summary: { objects: 200, errors: 1, warnings: 2, infos: 0 },
      });
      expect(listed(ids.warnOnly).policySummary).toEqual({
        mode: 'warn',
        passed: false,
        blocking: false,
        summary: { objects: 200, errors: 1, warnings: 1, infos: 0 },
      });
      expect(listed(ids.noReport)).not.toHaveProperty('policySummary');
      for (const item of items) {
        for (const heavy of ['values', 'manifest', 'policyReport'])
          expect(item).not.toHaveProperty(heavy);
      }
      expect(JSON.stringify(items)).not.toContain('web-199');

      // The page's query names the columns it reads: never the values, the manifest or the report.
      const runQueries = queries.filter(q => q.includes('kubechart_runs'));
      expect(runQueries).toHaveLength(1);
      expect(runQueries[0]).not.toMatch(/\*|values|manifest|policy_report/);

      // The run itself has everything; the list item is the same run without it.
      for (const [key, id] of Object.entries(ids)) {
        const run = (await store.getRun(id))!;
        expect(run).toMatchObject({
          values: { replicas: 2, image: { tag: 'latest' } },
          manifest: bigManifest,
        });
        expect(run.policyReport).toEqual(reports[key as keyof typeof reports]);
        const {
          values: _v,
          manifest: _m,
          policyReport: _p,
          rollbackBound: _b,
          ...rest
        } = run;
        expect(listed(id)).toEqual({
          ...rest,
          ...(listed(id).policySummary
            ? { policySummary: listed(id).policySummary }
            : {}),
        });
      }
      expect(listed(ids.refused)).toMatchObject({
        status: 'failed',
        failureReason: 'Refused by the chart policy: 1 error',
      });

      // The metrics summary names recent failures the same way, without reading their heavy columns.
      queries.length = 0;
      knex.on('query', onQuery);
      const { recentFailures } = await store.summary();
      knex.off('query', onQuery);
      expect(recentFailures).toEqual([listed(ids.refused)]);
      const rowQueries = queries.filter(
        sql => sql.includes('kubechart_runs') && !/count\(/i.test(sql),
      );
      expect(rowQueries).toHaveLength(2); // durations, failures
      for (const q of rowQueries)
        expect(q).not.toMatch(/\*|values|manifest|policy_report/);
    });

    it('fills in the policy summary of existing runs when migrating up', async () => {
      const { knex, store } = await createStore();
      const directory = `${__dirname}/../../migrations`;
      const run = await store.createRun(newRun(), []);
      await store.finishRun(run.id, 'failed', {
        policyReport: reportOf('enforce', ['error']),
      });
      const plain = await store.createRun(newRun(), []);
      await store.finishRun(plain.id, 'succeeded');
      await knex.migrate.down({
        directory,
        name: '20261206000000_policy_summary.js',
      });
      expect(
        await knex.schema.hasColumn('kubechart_runs', 'policy_summary'),
      ).toBe(false);
      await knex.migrate.latest({ directory });
      const { items } = await store.listRuns({}, { limit: 10 });
      expect(items.find(r => r.id === run.id)!.policySummary).toEqual({
        mode: 'enforce',
        passed: false,
        blocking: true,
        summary: { objects: 200, errors: 1, warnings: 0, infos: 0 },
      });
      expect(items.find(r => r.id === plain.id)).not.toHaveProperty(
        'policySummary',
      );
    });

    it('compresses the manifests of existing runs when migrating up, and restores them when migrating down', async () => {
      const { knex, store } = await createStore();
      const directory = `${__dirname}/../../migrations`;
      const run = await store.createRun(newRun(), ['ns:dev/old']);
      await knex.migrate.down({
        directory,
        name: '20261203000000_manifest_gz.js',
      });
      await knex('kubechart_runs')
        .where({ id: run.id })
        .update({ manifest: bigManifest });
      await knex.migrate.latest({ directory });
      const row = await knex('kubechart_runs').where({ id: run.id }).first();
      expect(row.manifest).toBeNull();
      expect(row.manifest_gz).not.toBeNull();
      expect((await store.getRun(run.id))!.manifest).toBe(bigManifest);
      await knex.migrate.down({
        directory,
        name: '20261203000000_manifest_gz.js',
      });
      expect(await knex.schema.hasColumn('kubechart_runs', 'manifest_gz')).toBe(
        false,
      );
      expect(
        (await knex('kubechart_runs').where({ id: run.id }).first()).manifest,
      ).toBe(bigManifest);
    });

    it('migrates down cleanly', async () => {
      const { knex } = await createStore();
      await knex.migrate.rollback(
        { directory: `${__dirname}/../../migrations` },
        true,
      );
      expect(await knex.schema.hasTable('kubechart_runs')).toBe(false);
    });
  },
);
