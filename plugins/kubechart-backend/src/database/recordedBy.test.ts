import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { DatabaseRunStore } from './DatabaseRunStore';
import { NewRun } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'who recorded a run, on %p',
  databaseId => {
    const run = (id: string, over: Partial<NewRun>): NewRun => ({
      id,
      kind: 'custom',
      status: 'pending',
      actor: 'user:default/alice',
      target: { cluster: 'dev', namespace: `ns-${id.slice(-1)}` },
      input: {},
      ...over,
    });

    it('is kept with a recorded run, and the migration fills it in where the actor tells it', async () => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      const directory = `${__dirname}/../../migrations`;
      const ids = {
        bot: 'c0000000-0000-4000-8000-000000000001',
        forAlice: 'c0000000-0000-4000-8000-000000000002',
        engine: 'c0000000-0000-4000-8000-000000000003',
      };
      await store.createRun(
        run(ids.bot, {
          actor: 'service:external:ci-bot',
          action: 'acme:thing:make',
          recordedBy: 'service:external:ci-bot',
        }),
        [],
      );
      await store.createRun(
        run(ids.forAlice, {
          action: 'acme:thing:make',
          recordedBy: 'service:plugin:scaffolder',
        }),
        [],
      );
      await store.createRun(
        run(ids.engine, { kind: 'chart', actor: 'service:external:ci-bot' }),
        [],
      );
      const recorders = async () =>
        Object.fromEntries(
          await Promise.all(
            Object.entries(ids).map(async ([k, id]) => [
              k,
              await store.getRecordedBy(id),
            ]),
          ),
        );
      expect(await recorders()).toEqual({
        bot: 'service:external:ci-bot',
        forAlice: 'service:plugin:scaffolder',
        engine: undefined,
      });

      await knex.migrate.down({
        directory,
        name: '20261207000000_recorded_by.js',
      });
      expect(await knex.schema.hasColumn('kubechart_runs', 'recorded_by')).toBe(
        false,
      );
      await knex.migrate.latest({ directory });
      // A service's own run names it; who recorded alice's run is no longer known.
      expect(await recorders()).toEqual({
        bot: 'service:external:ci-bot',
        forAlice: undefined,
        engine: undefined,
      });
    });
  },
);
