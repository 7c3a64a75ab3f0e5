import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseConversationStore } from './DatabaseConversationStore';

jest.setTimeout(60_000);

describe('DatabaseConversationStore', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    'keeps conversations per user, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseConversationStore.create({
        database: mockServices.database({ knex }),
      });
      const alice = 'user:default/alice';
      const conversationId = await store.ensureConversation({
        userRef: alice,
        title: 'which pods are crash looping',
        entityRef: 'component:default/checkout',
      });
      const messageId = randomUUID();
      await store.addMessage({
        id: messageId,
        conversationId,
        userRef: alice,
        question: 'which pods are crash looping',
        createdAt: new Date().toISOString(),
        provider: 'builtin',
        plan: {
          verb: 'get',
          resource: 'pods',
          allNamespaces: true,
          filter: 'crash-looping',
        },
        command: "kubectl get pods -A | grep -E 'CrashLoopBackOff'",
        explanation: 'Lists pods.',
        safety: { level: 'safe', reason: 'get only reads.' },
        requirements: { confirm: false },
        executions: [],
      });
      await store.addExecution({
        messageId,
        record: {
          status: 'succeeded',
          summary: '1 row',
          at: new Date().toISOString(),
        },
      });

      const message = await store.getMessage({ id: messageId, userRef: alice });
      expect(message?.plan).toEqual({
        verb: 'get',
        resource: 'pods',
        allNamespaces: true,
        filter: 'crash-looping',
      });
      expect(message?.executions).toEqual([
        expect.objectContaining({ status: 'succeeded', summary: '1 row' }),
      ]);
      // Another user sees nothing of alice's.
      expect(
        await store.getMessage({ id: messageId, userRef: 'user:default/bob' }),
      ).toBeUndefined();
      // Only the audit of a refused attempt asks whose a message is.
      expect(await store.messageOwner(messageId)).toBe(alice);
      expect(
        await store.messageOwner('00000000-0000-4000-8000-000000000000'),
      ).toBeUndefined();
      expect(
        await store.listConversations({
          userRef: 'user:default/bob',
          limit: 10,
        }),
      ).toEqual([]);
      await expect(
        store.ensureConversation({
          id: conversationId,
          userRef: 'user:default/bob',
          title: 'x',
        }),
      ).rejects.toThrow(/not found/);

      const list = await store.listConversations({ userRef: alice, limit: 10 });
      expect(list).toEqual([
        expect.objectContaining({
          id: conversationId,
          entityRef: 'component:default/checkout',
        }),
      ]);
      const conversation = await store.getConversation({
        id: conversationId,
        userRef: alice,
      });
      expect(conversation?.messages).toHaveLength(1);
      expect(conversation?.messages[0].safety).toEqual({
        level: 'safe',
        reason: 'get only reads.',
      });
      expect(conversation?.messages[0]).not.toHaveProperty('userRef');
    },
  );

  it.each(databases.eachSupportedId())(
    'keeps at most maxMessagesPerConversation messages, also asked at once, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseConversationStore.create({
        database: mockServices.database({ knex }),
        maxMessagesPerConversation: 3,
      });
      const alice = 'user:default/alice';
      const conversationId = await store.ensureConversation({
        userRef: alice,
        title: 'pods',
      });
      const saved = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.addMessage({
            id: randomUUID(),
            conversationId,
            userRef: alice,
            question: `list pods ${i}`,
            createdAt: new Date().toISOString(),
            executions: [],
          }),
        ),
      );
      expect(saved.filter(s => s.status === 'fulfilled')).toHaveLength(3);
      for (const refused of saved.filter(s => s.status === 'rejected')) {
        expect((refused as PromiseRejectedResult).reason).toMatchObject({
          name: 'ConflictError',
          message:
            'This conversation has reached its limit of 3 questions (kubeAssistant.limits.messagesPerConversation): start a new conversation to ask more.',
        });
      }
      const conversation = await store.getConversation({
        id: conversationId,
        userRef: alice,
      });
      expect(conversation?.messages).toHaveLength(3);
      await expect(
        store.ensureConversation({
          id: conversationId,
          userRef: alice,
          title: 'pods',
        }),
      ).rejects.toMatchObject({ name: 'ConflictError' });
      // Another user's conversation is not found, full or not.
      await expect(
        store.ensureConversation({
          id: conversationId,
          userRef: 'user:default/bob',
          title: 'pods',
        }),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
    },
  );

  it.each(databases.eachSupportedId())(
    'keeps at most maxRunsPerAnswer runs of an answer, also run at once, and shows the newest, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseConversationStore.create({
        database: mockServices.database({ knex }),
        maxRunsPerAnswer: 12,
      });
      const alice = 'user:default/alice';
      const conversationId = await store.ensureConversation({
        userRef: alice,
        title: 'pods',
      });
      const messageId = randomUUID();
      await store.addMessage({
        id: messageId,
        conversationId,
        userRef: alice,
        question: 'list pods',
        createdAt: new Date().toISOString(),
        executions: [],
      });
      const run = (i: number) =>
        store.addExecution({
          messageId,
          record: {
            status: 'succeeded',
            summary: `run ${i}`,
            at: new Date(Date.now() + i).toISOString(),
          },
        });
      for (let i = 0; i < 11; i++) await run(i);
      await expect(store.assertRunRoom(messageId)).resolves.toBeUndefined();
      const saved = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => run(11 + i)),
      );
      expect(saved.filter(s => s.status === 'fulfilled')).toHaveLength(1);
      const refusal = {
        name: 'ConflictError',
        message:
          'This answer has reached its limit of 12 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.',
      };
      for (const refused of saved.filter(s => s.status === 'rejected')) {
        expect((refused as PromiseRejectedResult).reason).toMatchObject(
          refusal,
        );
      }
      await expect(store.assertRunRoom(messageId)).rejects.toMatchObject(
        refusal,
      );

      // The newest 10 runs, oldest first, and the count of all.
      const message = await store.getMessage({ id: messageId, userRef: alice });
      expect(message?.runCount).toBe(12);
      expect(message?.executions).toHaveLength(10);
      expect(message?.executions[0].summary).toBe('run 2');
      const conversation = await store.getConversation({
        id: conversationId,
        userRef: alice,
      });
      expect(conversation?.messages[0].runCount).toBe(12);
      expect(conversation?.messages[0].executions.map(r => r.summary)).toEqual(
        message?.executions.map(r => r.summary),
      );
      await expect(
        DatabaseConversationStore.create({
          database: mockServices.database({ knex }),
          maxRunsPerAnswer: 0,
        }),
      ).rejects.toThrow(
        'maxRunsPerAnswer must be a whole number of at least 1, not 0',
      );
    },
  );

  it.each(databases.eachSupportedId())(
    'takes the runs of an answer before they run, one after the other: reservations made at once never go beyond maxRunsPerAnswer, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseConversationStore.create({
        database: mockServices.database({ knex }),
        maxRunsPerAnswer: 2,
      });
      const alice = 'user:default/alice';
      const conversationId = await store.ensureConversation({
        userRef: alice,
        title: 'pods',
      });
      const messageId = randomUUID();
      await store.addMessage({
        id: messageId,
        conversationId,
        userRef: alice,
        question: 'list pods',
        createdAt: new Date().toISOString(),
        executions: [],
      });
      const reserved = await Promise.allSettled(
        Array.from({ length: 20 }, () => store.reserveRun({ messageId })),
      );
      const taken = reserved.filter(r => r.status === 'fulfilled');
      expect(taken).toHaveLength(2);
      for (const refused of reserved.filter(r => r.status === 'rejected')) {
        expect((refused as PromiseRejectedResult).reason).toMatchObject({
          name: 'ConflictError',
          message:
            'This answer has reached its limit of 2 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.',
        });
      }
      // A run taken and not completed (the backend stopped while it ran) reads as such.
      const [first, second] = taken.map(
        r => (r as PromiseFulfilledResult<{ runId: string }>).value.runId,
      );
      await store.completeRun({
        runId: second,
        record: { status: 'succeeded', summary: '3 rows' },
      });
      const message = await store.getMessage({ id: messageId, userRef: alice });
      expect(message?.runCount).toBe(2);
      expect(
        message?.executions.map(({ status, summary }) => ({ status, summary })),
      ).toEqual(
        expect.arrayContaining([
          {
            status: 'running',
            summary:
              'Its outcome was not recorded: if it stays so, the backend stopped, or could not save it (the audit trail and the cluster tell what happened).',
          },
          { status: 'succeeded', summary: '3 rows' },
        ]),
      );
      // A run is completed once: a record already completed is not changed.
      await expect(
        store.completeRun({
          runId: second,
          record: { status: 'failed', summary: 'again' },
        }),
      ).rejects.toThrow(`No run ${second} under way`);
      await store.completeRun({
        runId: first,
        record: { status: 'failed', summary: 'The cluster refused: no' },
      });
      expect(
        (await store.getMessage({ id: messageId, userRef: alice }))?.executions
          .map(r => r.status)
          .sort(),
      ).toEqual(['failed', 'succeeded']);
      await expect(store.reserveRun({ messageId })).rejects.toMatchObject({
        name: 'ConflictError',
      });
    },
  );

  it.each(databases.eachSupportedId())(
    'migrates down cleanly, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const directory = require('node:path').resolve(
        __dirname,
        '../../migrations',
      );
      await knex.migrate.latest({ directory });
      expect(await knex.schema.hasTable('kube_assistant_messages')).toBe(true);
      expect(await knex.schema.hasTable('kube_assistant_confirmations')).toBe(
        true,
      );
      await knex.migrate.rollback({ directory }, true);
      expect(await knex.schema.hasTable('kube_assistant_confirmations')).toBe(
        false,
      );
      expect(await knex.schema.hasTable('kube_assistant_messages')).toBe(false);
      expect(await knex.schema.hasTable('kube_assistant_conversations')).toBe(
        false,
      );
    },
  );
});
