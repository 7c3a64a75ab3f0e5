import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseDriftStore } from './DatabaseDriftStore';
import { DatabaseRunStore } from './DatabaseRunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'entity refs of runs and drift records, on %p',
  databaseId => {
    async function createStores() {
      const knex = await databases.init(databaseId);
      const database = mockServices.database.mock({
        getClient: async () => knex,
      });
      const runs = await DatabaseRunStore.create({ database });
      const drift = await DatabaseDriftStore.create({ database });
      const createRun = (entityRef?: string, id = randomUUID()) =>
        runs.createRun(
          {
            id,
            kind: 'custom',
            status: 'pending',
            actor: 'user:default/alice',
            ...(entityRef !== undefined ? { entityRef } : {}),
            target: { cluster: 'dev', namespace: `ns-${randomUUID()}` },
            input: {},
          },
          [],
        );
      return { knex, runs, drift, createRun };
    }
    const ids = (page: { items: Array<{ id: string }> }) =>
      page.items.map(r => r.id);

    it('stores a run under its entity as the catalog writes refs, and finds it under any spelling', async () => {
      const { runs, createRun } = await createStores();
      // Runs are listed newest first, ties (the same millisecond) by id, higher first: b's id is
      // higher, so b comes first either way.
      const a = await createRun(
        'Component:Default/Web',
        'a0000000-0000-4000-8000-000000000001',
      );
      const b = await createRun(
        'component:WEB',
        'b0000000-0000-4000-8000-000000000002',
      );
      expect([a.entityRef, b.entityRef]).toEqual([
        'component:default/web',
        'component:default/web',
      ]);
      for (const spelling of [
        'component:default/web',
        'COMPONENT:default/Web',
        'component:web',
      ])
        expect(
          ids(await runs.listRuns({ entityRef: spelling }, { limit: 10 })),
        ).toEqual([b.id, a.id]);
      // An empty one is no entity, as the scope checks read it; a text that is no entity ref is refused.
      expect((await createRun('')).entityRef).toBeUndefined();
      await expect(createRun('web')).rejects.toThrow(
        `The run's entityRef "web" is not an entity ref; give <kind>:[<namespace>/]<name>, e.g. component:default/web`,
      );
    });

    it('rewrites the refs stored before in that form, keeping a text that is not one', async () => {
      const { knex, runs, drift, createRun } = await createStores();
      const directory = `${__dirname}/../../migrations`;
      const [a, b, c] = [
        await createRun('component:default/shop'),
        await createRun('component:default/shop'),
        await createRun('component:default/legacy'),
      ];
      await knex.migrate.down({
        directory,
        name: '20261211000000_entity_ref_key.js',
      });
      // As an earlier version stored them: the ref as the request spelled it.
      await knex('kubechart_runs')
        .where({ id: a.id })
        .update({ entity_ref: 'Component:Default/Shop' });
      await knex('kubechart_runs')
        .where({ id: b.id })
        .update({ entity_ref: 'component:SHOP' });
      await knex('kubechart_runs')
        .where({ id: c.id })
        .update({ entity_ref: 'legacy' });
      const now = new Date().toISOString();
      await drift.put({
        runId: a.id,
        target: { cluster: 'dev', namespace: 'shop' },
        actor: 'user:default/alice',
        status: 'in-sync',
        since: now,
        checkedAt: now,
        objects: [],
      });
      await knex('kubechart_drift')
        .where({ run_id: a.id })
        .update({ entity_ref: 'Component:Default/Shop' });
      expect(
        ids(
          await runs.listRuns(
            { entityRef: 'component:default/shop' },
            { limit: 10 },
          ),
        ),
      ).toEqual([]);

      await knex.migrate.latest({ directory });
      expect(
        ids(
          await runs.listRuns(
            { entityRef: 'component:default/shop' },
            { limit: 10 },
          ),
        ).sort(),
      ).toEqual([a.id, b.id].sort());
      expect((await runs.getRun(a.id))?.entityRef).toBe(
        'component:default/shop',
      );
      expect(
        (await drift.list({ entityRef: 'component:default/shop' })).map(r => [
          r.runId,
          r.entityRef,
        ]),
      ).toEqual([[a.id, 'component:default/shop']]);
      // Not an entity ref: kept, and found as it is.
      expect((await runs.getRun(c.id))?.entityRef).toBe('legacy');
      expect(
        ids(await runs.listRuns({ entityRef: 'legacy' }, { limit: 10 })),
      ).toEqual([c.id]);
    });
  },
);
