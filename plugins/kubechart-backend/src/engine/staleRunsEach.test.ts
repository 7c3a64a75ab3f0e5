import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import type { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { RunStore } from '../database/RunStore';
import { EngineSettings } from './settings';
import { recoverStaleRuns } from './staleRuns';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const BROKEN = 'c0000000-0000-4000-8000-000000000001';
const OTHER = 'c0000000-0000-4000-8000-000000000002';

/**
 * The stale-run task reconciles every stale run it finds, whoever started it: one run it cannot
 * record an outcome for (the database refusing the write) is logged and left for the next round,
 * and the runs listed after it are still reconciled.
 */
describe.each(databases.eachSupportedId())(
  'reconciling stale runs on %p',
  databaseId => {
    it('reconciles the runs after one whose outcome cannot be recorded', async () => {
      const knex = await databases.init(databaseId);
      const db = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      for (const [id, actor] of [
        [BROKEN, 'user:default/mallory'],
        [OTHER, 'user:default/alice'],
      ]) {
        await db.createRun(
          {
            id,
            kind: 'manifests',
            status: 'running',
            actor,
            target: { cluster: 'gone', namespace: `team-${id.slice(-1)}` },
            input: {},
          },
          [`manifests:gone/team-${id.slice(-1)}`],
        );
      }
      await knex('kubechart_runs').update({
        heartbeat_at: Date.now() - 10 * 60_000,
      });
      // The broken run is listed first, and its outcome is refused by the database.
      const store = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === 'findStaleRuns')
            return async (before: Date) =>
              (await target.findStaleRuns(before)).sort((a, b) =>
                a.id.localeCompare(b.id),
              );
          if (prop === 'finishRun')
            return async (...args: Parameters<RunStore['finishRun']>) => {
              if (args[0] === BROKEN)
                throw new Error(
                  'invalid byte sequence for encoding "UTF8": 0x00',
                );
              return target.finishRun(...args);
            };
          return Reflect.get(target, prop, receiver);
        },
      });
      const logger = mockServices.logger.mock();

      const reconciled = await recoverStaleRuns({
        store,
        clusters: { has: () => false } as unknown as ClusterRegistry,
        settings: { staleAfterSeconds: 120 } as EngineSettings,
        logger,
        client: () => {
          throw new Error('no cluster');
        },
        instanceId: 'backend-b',
        isActive: () => false,
      });

      expect(reconciled).toBe(1);
      const other = (await db.getRun(OTHER))!;
      expect(other.status).toBe('failed');
      expect(other.failureReason).toMatch(/^heartbeat lost: /);
      expect((await db.getRun(BROKEN))!.status).toBe('running');
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          `Could not reconcile stale run ${BROKEN}; the next check tries again while it is active: Error: invalid byte sequence`,
        ),
      );
    });
  },
);
