import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseConversationStore } from './DatabaseConversationStore';

jest.setTimeout(60_000);

describe('DatabaseConfirmationStore', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

  async function setUp(databaseId: any) {
    const knex = await databases.init(databaseId);
    const conversations = await DatabaseConversationStore.create({
      database: mockServices.database({ knex }),
    });
    const userRef = 'user:default/alice';
    const conversationId = await conversations.ensureConversation({
      userRef,
      title: 'scale',
    });
    const messageId = randomUUID();
    await conversations.addMessage({
      id: messageId,
      conversationId,
      userRef,
      question: 'scale web to 2 in shop',
      createdAt: new Date().toISOString(),
      executions: [],
    });
    return { knex, store: conversations.confirmations(), userRef, messageId };
  }

  it.each(databases.eachSupportedId())(
    'spends a token once, for its user, message and plan only, %p',
    async databaseId => {
      const { knex, store, userRef, messageId } = await setUp(databaseId);
      const planHash = 'a'.repeat(64);
      const { token, expiresAt } = await store.issue({
        messageId,
        userRef,
        planHash,
        ttlMs: 60_000,
      });
      expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
      // Only the hash of the token is stored.
      const rows = await knex('kube_assistant_confirmations');
      expect(JSON.stringify(rows)).not.toContain(token);

      const spend = (over: object = {}) =>
        store.consume({ token, messageId, userRef, planHash, ...over });
      expect(await spend({ userRef: 'user:default/bob' })).toEqual({
        ok: false,
        problem: 'unknown',
      });
      expect(await spend({ planHash: 'b'.repeat(64) })).toEqual({
        ok: false,
        problem: 'altered',
      });
      expect(await spend({ token: `${token}x` })).toEqual({
        ok: false,
        problem: 'unknown',
      });
      expect(await spend()).toEqual({ ok: true });
      expect(await spend()).toEqual({ ok: false, problem: 'used' });

      const old = await store.issue({
        messageId,
        userRef,
        planHash,
        ttlMs: -1000,
      });
      expect(
        await store.consume({ token: old.token, messageId, userRef, planHash }),
      ).toEqual({ ok: false, problem: 'expired' });
    },
  );

  it.each(databases.eachSupportedId())(
    'lets exactly one of two concurrent runs spend a token, %p',
    async databaseId => {
      const { store, userRef, messageId } = await setUp(databaseId);
      const planHash = 'c'.repeat(64);
      const { token } = await store.issue({
        messageId,
        userRef,
        planHash,
        ttlMs: 60_000,
      });
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          store.consume({ token, messageId, userRef, planHash }),
        ),
      );
      expect(results.filter(r => r.ok)).toHaveLength(1);
    },
  );
});
