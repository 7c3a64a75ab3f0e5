import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from './DatabaseRunStore';
import {
  NewApproval,
  NewRun,
  OpenApprovalsError,
  RunsAtOnceError,
} from './RunStore';
import { actorSlotKeys, namespaceLockKey } from './lockKeys';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const alice = 'user:default/alice';

const newRun = (namespace: string, over: Partial<NewRun> = {}): NewRun => ({
  id: randomUUID(),
  kind: 'chart',
  status: 'pending',
  actor: alice,
  entityRef: 'component:default/shop',
  target: { cluster: 'dev', namespace, release: 'web' },
  input: { release: { name: 'web' } },
  ...over,
});

const slots = (actor: string, n: number) => ({
  actor,
  keys: actorSlotKeys(actor, n),
});

const gate: NewApproval = {
  rule: 'prod',
  required: 1,
  approvers: ['group:default/sre'],
  planHash: 'h',
  planSalt: 's',
  expiresAt: new Date(Date.now() + 3_600_000),
  exec: {},
};

// Each run holds one of its actor's slots while it is active: an actor has at most as many runs
// active at once as it has slots, whichever backend instance records them.
describe.each(databases.eachSupportedId())(
  'actor run slots in DatabaseRunStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      const store = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
      return { knex, store };
    }

    const create = (store: DatabaseRunStore, namespace: string, n = 2) =>
      store.createRun(newRun(namespace), [namespaceLockKey('dev', namespace)], {
        actorSlots: slots(alice, n),
      });

    it('refuses a run beyond the actor’s slots with a 429 naming the active runs, records nothing, and takes it once one has finished', async () => {
      const { knex, store } = await createStore();
      const first = await create(store, 'team-a');
      const second = await create(store, 'team-b');
      const third = create(store, 'team-c');
      await expect(third).rejects.toThrow(RunsAtOnceError);
      const refused = await third.catch(e => e);
      expect(refused.statusCode).toBe(429);
      expect(refused.message).toContain(first.id);
      expect(refused.message).toContain(second.id);
      expect(refused.message).toContain('kubechart.limits.runsPerUserAtOnce');
      // Nothing of the refused run: no row, no lock on its namespace.
      expect(await knex('kubechart_runs').where('namespace', 'team-c')).toEqual(
        [],
      );
      expect(
        await knex('kubechart_locks').where(
          'target',
          namespaceLockKey('dev', 'team-c'),
        ),
      ).toEqual([]);

      // Another user is not held back by alice's runs.
      await store.createRun(
        newRun('team-d', { actor: 'user:default/bob' }),
        [namespaceLockKey('dev', 'team-d')],
        { actorSlots: slots('user:default/bob', 2) },
      );

      await store.finishRun(first.id, 'succeeded');
      const later = await create(store, 'team-c');
      expect(later.status).toBe('pending');
    });

    it.each([2, 4])(
      'lets exactly as many runs through as the actor has slots (%p) when its requests arrive at once',
      async n => {
        const { store } = await createStore();
        const outcomes = await Promise.allSettled(
          'abcdefghij'.split('').map(ns => create(store, `team-${ns}`, n)),
        );
        const recorded = outcomes.filter(o => o.status === 'fulfilled');
        const refused = outcomes.flatMap(o =>
          o.status === 'rejected' ? [o.reason] : [],
        );
        expect(recorded).toHaveLength(n);
        // Every other one is the actor's limit, none a lock conflict on a namespace it did not hold.
        expect(refused.map(e => e.name)).toEqual(
          Array(10 - n).fill('TooManyRequestsError'),
        );
      },
    );

    it('takes over the slot of a run reconciled after its backend stopped reporting, not of one still reported', async () => {
      const { store } = await createStore();
      const first = await create(store, 'team-a', 1);
      // Reconciled (fenced): its backend may still be executing it, so it keeps its slot...
      await store.finishRun(first.id, 'failed', {}, { fence: true });
      await expect(
        store.createRun(newRun('team-b'), [namespaceLockKey('dev', 'team-b')], {
          actorSlots: slots(alice, 1),
          abandonedBefore: new Date(Date.now() - 60_000),
        }),
      ).rejects.toThrow(RunsAtOnceError);
      // ...until its last heartbeat is older than the grace.
      const next = await store.createRun(
        newRun('team-b'),
        [namespaceLockKey('dev', 'team-b')],
        {
          actorSlots: slots(alice, 1),
          abandonedBefore: new Date(Date.now() + 1000),
        },
      );
      expect(next.status).toBe('pending');
    });

    it('names a slot held by a run reconciled after its backend stopped reporting as such, with when it is freed, not as an active run', async () => {
      const { knex, store } = await createStore();
      const first = await create(store, 'team-a', 1);
      await store.finishRun(first.id, 'failed', {}, { fence: true });
      const refused = await store
        .createRun(newRun('team-b'), [namespaceLockKey('dev', 'team-b')], {
          actorSlots: slots(alice, 1),
          abandonedBefore: new Date(Date.now() - 60_000),
        })
        .catch(e => e);
      expect(refused).toBeInstanceOf(RunsAtOnceError);
      expect(refused.statusCode).toBe(429);
      expect(refused.message).not.toContain('runs active');
      expect(refused.message).toContain(
        `${alice} has a slot held by run ${first.id}, which was reconciled after its backend stopped reporting but may still be executing there (its slot is freed at `,
      );
      expect(refused.message).toContain(
        'at most 1 may run at once per user (kubechart.limits.runsPerUserAtOnce)',
      );
      const [{ heartbeat_at }] = await knex('kubechart_runs')
        .where('id', first.id)
        .select('heartbeat_at');
      const freedAt = Date.parse(
        /its slot is freed at (\S+?)[,;)]/.exec(refused.message)![1],
      );
      expect(Math.abs(freedAt - (Number(heartbeat_at) + 60_000))).toBeLessThan(
        5_000,
      );
    });

    it('counts every slot its runs hold against a lowered limit, and names the configured limit', async () => {
      const { store } = await createStore();
      // Three runs at a limit of 3 hold slots #0, #1 and #2; the first two finish.
      const held = [
        await create(store, 'team-a', 3),
        await create(store, 'team-b', 3),
        await create(store, 'team-c', 3),
      ];
      await store.finishRun(held[0].id, 'succeeded');
      await store.finishRun(held[1].id, 'succeeded');
      // The limit is lowered to 1: slot #0 is free, but the run in slot #2 is already one of at most 1.
      const overLimit = await create(store, 'team-d', 1).catch(e => e);
      expect(overLimit).toBeInstanceOf(RunsAtOnceError);
      expect(overLimit.message).toContain(
        `${alice} has 1 runs active (${held[2].id}); at most 1 may run at once per user`,
      );
      // At a limit of 2, one more fits next to it, and no more.
      const d = await create(store, 'team-d', 2);
      await expect(create(store, 'team-e', 2)).rejects.toThrow(
        `${alice} has 2 runs active (${d.id}, ${held[2].id}); at most 2 may run at once per user`,
      );
      await store.finishRun(held[2].id, 'succeeded');
      const e = await create(store, 'team-e', 2);
      // Lowered to 1 again: both runs are named, and the limit printed is the configured one.
      await expect(create(store, 'team-f', 1)).rejects.toThrow(
        `${alice} has 2 runs active (${d.id}, ${e.id}); at most 1 may run at once per user`,
      );
    });

    it('names the configured open approvals limit, not the count, when a lowered one is already exceeded', async () => {
      const { store } = await createStore();
      for (let i = 0; i < 3; i++)
        await store.createAwaitingRun(
          newRun('team-a', { status: 'awaiting-approval' }),
          gate,
          {},
          { maxOpenPerActor: 3 },
        );
      await expect(
        store.createAwaitingRun(
          newRun('team-a', { status: 'awaiting-approval' }),
          gate,
          {},
          { maxOpenPerActor: 2 },
        ),
      ).rejects.toThrow(
        `${alice} has 3 approval requests open; at most 2 may be open at once per user (kubechart.limits.openApprovalsPerUser)`,
      );
    });

    it('refuses an approval request beyond the requester’s open ones with a 429 and records nothing; a closed one frees its place', async () => {
      const { knex, store } = await createStore();
      const ask = (actor = alice) =>
        store.createAwaitingRun(
          newRun('team-a', { status: 'awaiting-approval', actor }),
          gate,
          {},
          { maxOpenPerActor: 2 },
        );
      const first = await ask();
      const second = await ask();
      await store.decideApproval(second.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      // Approved and not started is still open.
      const third = ask();
      await expect(third).rejects.toThrow(OpenApprovalsError);
      await expect(third).rejects.toThrow(
        `${alice} has 2 approval requests open; at most 2 may be open at once per user (kubechart.limits.openApprovalsPerUser)`,
      );
      expect(
        Number((await knex('kubechart_runs').count({ n: '*' }))[0].n),
      ).toBe(2);
      // Someone else's requests are not counted against alice.
      await ask('user:default/bob');
      await store.decideApproval(first.id, {
        by: 'user:default/sre-1',
        decision: 'reject',
        comment: 'no',
      });
      expect((await ask()).status).toBe('awaiting-approval');
      // At once, the count still holds.
      const burst = await Promise.allSettled(
        [1, 2, 3].map(() => ask('user:default/carol')),
      );
      expect(burst.filter(b => b.status === 'fulfilled')).toHaveLength(2);
    });

    it('starts an approved run only in a free slot of its requester; refused, it stays approved', async () => {
      const { store } = await createStore();
      const awaiting = await store.createAwaitingRun(
        newRun('team-a', { status: 'awaiting-approval' }),
        gate,
        {},
      );
      await store.decideApproval(awaiting.id, {
        by: 'user:default/sre-1',
        decision: 'approve',
        comment: 'ok',
      });
      const busy = await create(store, 'team-b', 1);
      const start = () =>
        store.startApprovedRun(
          awaiting.id,
          [namespaceLockKey('dev', 'team-a')],
          { actorSlots: slots(alice, 1) },
        );
      await expect(start()).rejects.toThrow(RunsAtOnceError);
      const waiting = (await store.getRun(awaiting.id))!;
      expect([waiting.status, waiting.approval?.state]).toEqual([
        'approved',
        'approved',
      ]);
      await store.finishRun(busy.id, 'succeeded');
      const started = await start();
      expect([started.status, started.approval?.state]).toEqual([
        'pending',
        'executed',
      ]);
    });
  },
);
