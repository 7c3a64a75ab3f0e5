import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from './DatabaseRunStore';
import { NewRun } from './RunStore';

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

describe.each(databases.eachSupportedId())('DatabaseRunStore on %p', databaseId => {
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
    await store.finishRun(run.id, 'succeeded', { helmRevision: 3, values: { a: 1 }, manifest: 'kind: X\n' });
    const done = (await store.getRun(run.id))!;
    expect(done).toMatchObject({ status: 'succeeded', helmRevision: 3, values: { a: 1 }, manifest: 'kind: X\n' });
    expect(done.transitions.map(t => t.status)).toEqual(['pending', 'running', 'succeeded']);
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('allows one active run per target and names it in the 409', async () => {
    const { store } = await createStore();
    const first = await store.createRun(newRun(), ['rel:dev/team-a/web']);
    const err = await store.createRun(newRun({ actor: 'user:default/bob' }), ['ns:dev/team-a', 'rel:dev/team-a/web']).catch(e => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toContain(first.id);
    // the conflicting run was not recorded, nor its other lock
    expect((await store.listRuns({ actor: 'user:default/bob' }, { limit: 10 })).items).toHaveLength(0);
    await store.finishRun(first.id, 'failed', { failureReason: 'x' });
    await expect(store.createRun(newRun(), ['ns:dev/team-a', 'rel:dev/team-a/web'])).resolves.toBeDefined();
  });

  it('serialises concurrent lock attempts: exactly one wins', async () => {
    const { store } = await createStore();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => store.createRun(newRun(), ['ns:dev/race'])),
    );
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter(r => r.status === 'rejected' && r.reason instanceof ConflictError)).toHaveLength(7);
  });

  it('pages runs with a cursor and filters', async () => {
    const { store } = await createStore();
    for (let i = 0; i < 7; i++) {
      const r = await store.createRun(newRun({ entityRef: i % 2 ? 'component:default/a' : 'component:default/b' }), []);
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
    expect((await store.listRuns({ entityRef: 'component:default/a' }, { limit: 10 })).items).toHaveLength(3);
    expect((await store.listRuns({ from: new Date(Date.now() + 60_000) }, { limit: 10 })).items).toHaveLength(0);
    await expect(store.listRuns({}, { cursor: 'garbage', limit: 1 })).rejects.toThrow('Invalid cursor');
  });

  it('appends events in order and reads them after a cursor', async () => {
    const { store } = await createStore();
    const run = await store.createRun(newRun(), []);
    await store.appendEvents(run.id, [
      { type: 'step', level: 'info', step: 'namespace', stepStatus: 'started', message: 'namespace' },
      { type: 'log', level: 'info', message: '[web] hello' },
    ]);
    await Promise.all([
      store.appendEvents(run.id, [{ type: 'log', level: 'info', message: 'a' }]),
      store.appendEvents(run.id, [{ type: 'log', level: 'info', message: 'b' }]),
    ]);
    const all = await store.getEvents(run.id);
    expect(all.map(e => e.seq)).toEqual([1, 2, 3, 4]);
    expect(all[0]).toMatchObject({ step: 'namespace', stepStatus: 'started' });
    expect((await store.getEvents(run.id, { after: 2 })).map(e => e.message).sort()).toEqual(['a', 'b']);
  });

  it('finds stale runs, counts per actor and keeps tenants', async () => {
    const { store, knex } = await createStore();
    const run = await store.createRun(newRun({ status: 'running' }), ['x']);
    await knex('kubechart_runs').where({ id: run.id }).update({ heartbeat_at: Date.now() - 600_000 });
    expect((await store.findStaleRuns(new Date(Date.now() - 60_000))).map(r => r.id)).toEqual([run.id]);
    expect(await store.countRunsByActorSince('user:default/alice', new Date(Date.now() - 60_000))).toBe(1);
    await store.upsertTenant({ cluster: 'dev', code: 'acme', namespace: 'tenant-acme', status: 'provisioning', releases: ['web'] });
    await store.upsertTenant({ cluster: 'dev', code: 'acme', namespace: 'tenant-acme', status: 'active', releases: ['web', 'db'] });
    expect(await store.getTenants('acme')).toEqual([expect.objectContaining({ status: 'active', releases: ['web', 'db'] })]);
    expect(await store.countActiveTenants()).toBe(1);
    const summary = await store.summary();
    expect(summary.runsByStatus.running).toBe(1);
    expect(summary.tenantsByStatus.active).toBe(1);
  });

  it('finishes a run once when two replicas reconcile it', async () => {
    const { store } = await createStore();
    const run = await store.createRun(newRun({ status: 'running' }), ['ns:dev/once']);
    const results = await Promise.all([
      store.finishRun(run.id, 'failed', { failureReason: 'a' }, { onlyIfActive: true }),
      store.finishRun(run.id, 'succeeded', {}, { onlyIfActive: true }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const done = (await store.getRun(run.id))!;
    expect(done.transitions.filter(t => t.status === 'failed' || t.status === 'succeeded')).toHaveLength(1);
  });

  it('migrates down cleanly', async () => {
    const { knex } = await createStore();
    await knex.migrate.rollback({ directory: `${__dirname}/../../migrations` }, true);
    expect(await knex.schema.hasTable('kubechart_runs')).toBe(false);
  });
});
