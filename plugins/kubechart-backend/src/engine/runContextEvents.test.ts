import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { RunStore } from '../database/RunStore';
import { RunContext } from './RunContext';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * A run's events are written about every 100 ms in one batch. The database refusing one event of a
 * batch (here: a step name longer than its column, which PostgreSQL refuses) must not lose the
 * ordinary events written with it.
 */
describe.each(databases.eachSupportedId())(
  "a run's events on %p",
  databaseId => {
    it('are recorded when one event of their batch cannot be, which alone is lost and logged', async () => {
      const knex = await databases.init(databaseId);
      const db = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      // What PostgreSQL does with a step name over 255 characters, on every database.
      const store = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === 'appendEvents')
            return async (
              ...args: Parameters<RunStore['appendEvents']>
            ): Promise<RunEvent[]> => {
              if (args[1].some(e => (e.step?.length ?? 0) > 255))
                throw new Error(
                  'value too long for type character varying(255)',
                );
              return target.appendEvents(...args);
            };
          return Reflect.get(target, prop, receiver);
        },
      });
      const run = await store.createRun(
        {
          id: randomUUID(),
          kind: 'manifests',
          status: 'running',
          actor: 'user:default/alice',
          target: { cluster: 'dev', namespace: 'team-a' },
          input: {},
        },
        [],
      );
      const logger = mockServices.logger.mock();
      const seen: RunEvent[] = [];
      const ctx = new RunContext(run.id, store, logger, events =>
        seen.push(...events),
      );
      ctx.log('Validating manifests');
      ctx.step(`apply:${'x'.repeat(300)}`, 'failed', 'too long a name');
      ctx.log('Run scope check refused the manifests\u0000', 'error');
      ctx.status('Run failed', 'error');
      await ctx.flush();

      const stored = await db.getEvents(run.id);
      expect(stored.map(e => e.message)).toEqual([
        'Validating manifests',
        'Run scope check refused the manifests\ufffd',
        'Run failed',
      ]);
      expect(seen.map(e => e.seq)).toEqual(stored.map(e => e.seq));
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(
          new RegExp(
            `^Could not record 1 of 4 events of run ${run.id}: .*value too long`,
          ),
        ),
      );
    });
  },
);
