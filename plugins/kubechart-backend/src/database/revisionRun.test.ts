import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { DatabaseRunStore } from './DatabaseRunStore';
import { NewRun } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'the run that left a release at a revision, on %p',
  databaseId => {
    it('is the newest succeeded run KubeChart executed on that release and revision', async () => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      const web = { cluster: 'dev', namespace: 'shop', release: 'web' };
      /** A run that ended as `status` with `revision`, created after the ones before it. */
      const ended = async (
        n: number,
        revision: number,
        over: Partial<NewRun> = {},
        status: 'succeeded' | 'failed' = 'succeeded',
      ) => {
        const id = `c0000000-0000-4000-8000-00000000000${n}`;
        await store.createRun(
          {
            id,
            kind: 'chart',
            status: 'pending',
            actor: 'user:default/alice',
            target: web,
            input: {},
            ...over,
          },
          [],
        );
        await store.finishRun(id, status, { helmRevision: revision });
        // The next run is created in a later millisecond: history's order is by creation.
        await new Promise(resolve => setTimeout(resolve, 5));
        return (await store.getRun(id))!;
      };
      const first = await ended(1, 1);
      const second = await ended(2, 2);
      await ended(3, 3, { kind: 'rollback' });
      // Uninstalled and installed again: revision numbers start over.
      const again = await ended(4, 1);
      await ended(5, 1, {}, 'failed');
      await ended(6, 1, { kind: 'custom', action: 'acme:web:deploy' });
      await ended(7, 1, { target: { ...web, namespace: 'other' } });
      await ended(8, 1, { target: { ...web, release: 'api' } });

      const found = async (revision: number, before?: string) =>
        (await store.findRevisionRun(web, revision, before))?.id;
      expect({
        one: await found(1),
        oneBeforeAgain: await found(1, again.createdAt),
        two: await found(2),
        twoBeforeIt: await found(2, second.createdAt),
        three: await found(3),
        nine: await found(9),
      }).toEqual({
        one: again.id,
        oneBeforeAgain: first.id,
        two: second.id,
        twoBeforeIt: undefined,
        three: 'c0000000-0000-4000-8000-000000000003',
        nine: undefined,
      });
    });
  },
);
