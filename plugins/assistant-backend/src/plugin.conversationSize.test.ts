import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { assistantProvidersExtensionPoint } from '@kubechart/plugin-assistant-node';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import { AuditCall, recordingAuditor } from './__testUtils__/backend';

jest.setTimeout(180_000);

const USER = 'user:default/alice';

/**
 * A conversation does not grow without bound, and reading one stays bounded whatever its size: a
 * question beyond `kubeAssistant.limits.messagesPerConversation` is refused with 409 (start a new
 * conversation), and `GET /conversations/:id` answers the newest messages with a cursor to the older
 * ones, also for a conversation that grew past PostgreSQL's 65,535 bind parameters before the limit.
 */
describe('kube-assistant plugin: the size of a conversation', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
  /** The questions the (counting) provider was asked. */
  let planned: string[];
  /** Permissions the caller is denied (none unless a test says so). */
  const denied = new Set<string>();
  /** The audit events created, with how each was completed. */
  let audit: AuditCall[];

  async function start(knex: Knex, limits: Record<string, unknown>) {
    planned = [];
    audit = [];
    denied.clear();
    const countingProvider = createBackendModule({
      pluginId: 'kube-assistant',
      moduleId: 'counting-provider',
      register(env) {
        env.registerInit({
          deps: { providers: assistantProvidersExtensionPoint },
          async init({ providers }) {
            providers.addProvider({
              id: 'counting',
              async plan(question) {
                planned.push(question);
                return {
                  plan: { verb: 'get', resource: 'pods', namespace: 'shop' },
                  explanation: 'Lists the pods in shop.',
                };
              },
            });
          },
        });
      },
    });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        countingProvider,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: {
            kubeAssistant: {
              providers: [{ id: 'counting' }],
              limits: { questionsPerUserPerMinute: 1000, ...limits },
            },
          },
        }),
        mockServices.permissions.mock({
          authorize: jest.fn(async requests =>
            requests.map((r: any) => ({
              result: denied.has(r.permission.name)
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
            })),
          ) as any,
        }).factory,
        catalogServiceMock.factory({ entities: [] }),
        recordingAuditor(audit),
      ],
    });
    return backend;
  }

  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  const ask = (question: string, conversationId?: string) =>
    request(backend!.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header(USER))
      .send({ question, ...(conversationId ? { conversationId } : {}) });

  const execute = (messageId: string) =>
    request(backend!.server)
      .post('/api/kube-assistant/execute')
      .set('Authorization', mockCredentials.user.header(USER))
      .send({ messageId });

  const read = (id: string, query = '') =>
    request(backend!.server)
      .get(`/api/kube-assistant/conversations/${id}${query}`)
      .set('Authorization', mockCredentials.user.header(USER));

  it.each(databases.eachSupportedId())(
    'refuses a question beyond kubeAssistant.limits.messagesPerConversation with 409, before any provider is asked, %p',
    async databaseId => {
      await start(await databases.init(databaseId), {
        messagesPerConversation: 3,
      });
      const first = await ask('list pods in shop 1');
      expect(first.status).toBe(200);
      const id = first.body.conversationId;
      expect((await ask('list pods in shop 2', id)).status).toBe(200);
      expect((await ask('list pods in shop 3', id)).status).toBe(200);

      const fourth = await ask('list pods in shop 4', id);
      expect(fourth.status).toBe(409);
      expect(fourth.body.error.message).toBe(
        'This conversation has reached its limit of 3 questions (kubeAssistant.limits.messagesPerConversation): start a new conversation to ask more.',
      );
      expect(planned).toEqual([
        'list pods in shop 1',
        'list pods in shop 2',
        'list pods in shop 3',
      ]);
      // The conversation is kept as it was, and readable.
      const conversation = await read(id);
      expect(conversation.status).toBe(200);
      expect(conversation.body.messages.map((m: any) => m.question)).toEqual([
        'list pods in shop 1',
        'list pods in shop 2',
        'list pods in shop 3',
      ]);
      expect(conversation.body).not.toHaveProperty('olderCursor');
      // A new conversation takes the question.
      const fresh = await ask('list pods in shop 4');
      expect(fresh.status).toBe(200);
      expect(fresh.body.conversationId).not.toBe(id);
    },
  );

  it.each(databases.eachSupportedId())(
    'refuses to start with a messagesPerConversation that is not a whole number of at least 1, %p',
    async databaseId => {
      await expect(
        start(await databases.init(databaseId), {
          messagesPerConversation: 0,
        }),
      ).rejects.toThrow(
        'kubeAssistant.limits.messagesPerConversation must be a whole number of at least 1, not 0',
      );
    },
  );

  it.each(databases.eachSupportedId())(
    'answers a conversation of 66,000 messages in pages, newest first, with no 500, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await start(knex, {});
      const asked = await ask('list pods in shop');
      expect(asked.status).toBe(200);
      const id = asked.body.conversationId;
      // Grown before any limit (or under a limit raised since): older than the question asked.
      const since = Date.now() - 3 * 24 * 3600 * 1000;
      const ids = Array.from({ length: 66_000 }, () => randomUUID());
      await knex.batchInsert(
        'kube_assistant_messages',
        ids.map((messageId, i) => ({
          id: messageId,
          conversation_id: id,
          user_ref: USER,
          question: `q${i}`,
          created_at: new Date(since + i * 1000),
        })),
        400, // SQLite takes at most 500 rows in one insert of several
      );
      await knex('kube_assistant_executions').insert({
        message_id: ids[65_999],
        status: 'succeeded',
        summary: '3 rows',
        created_at: new Date(),
      });

      const newest = await read(id);
      expect(newest.status).toBe(200);
      const questions = newest.body.messages.map((m: any) => m.question);
      // The newest 200, oldest first (as before), then a cursor to the older ones.
      expect(questions).toHaveLength(200);
      expect(questions[0]).toBe('q65801');
      expect(questions.slice(-2)).toEqual(['q65999', 'list pods in shop']);
      expect(newest.body.messages[198].executions).toEqual([
        expect.objectContaining({ status: 'succeeded', summary: '3 rows' }),
      ]);
      expect(newest.body.olderCursor).toEqual(expect.any(String));

      const older = await read(
        id,
        `?limit=50&before=${encodeURIComponent(newest.body.olderCursor)}`,
      );
      expect(older.status).toBe(200);
      expect(older.body.messages.map((m: any) => m.question)).toEqual(
        Array.from({ length: 50 }, (_, i) => `q${65_751 + i}`),
      );
      expect(older.body.olderCursor).toEqual(expect.any(String));

      // The oldest page ends the walk: no cursor.
      const oldest = await read(id, `?before=${ids[2]}`);
      expect(oldest.status).toBe(200);
      expect(oldest.body.messages.map((m: any) => m.question)).toEqual([
        'q0',
        'q1',
      ]);
      expect(oldest.body).not.toHaveProperty('olderCursor');

      // A cursor that is not a message of this conversation, or a page too large, is refused.
      const elsewhere = await read(id, `?before=${randomUUID()}`);
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error.message).toBe(
        'Invalid request: before: not a message of this conversation',
      );
      expect((await read(id, '?limit=201')).status).toBe(400);

      // The conversation is past the default limit of 200: no further question in it.
      const more = await ask('list pods in shop again', id);
      expect(more.status).toBe(409);
      expect(more.body.error.message).toMatch(
        /limit of 200 questions .* start a new conversation/,
      );
    },
  );

  it.each(databases.eachSupportedId())(
    'answers a message with 5,000 runs with its newest 10 and their count, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await start(knex, {});
      const asked = await ask('list pods in shop');
      expect(asked.status).toBe(200);
      // Run before any limit on runs (or under a higher one): 5,000 runs of one answer.
      const since = Date.now() - 24 * 3600 * 1000;
      await knex.batchInsert(
        'kube_assistant_executions',
        Array.from({ length: 5_000 }, (_, i) => ({
          message_id: asked.body.messageId,
          status: 'succeeded',
          summary: `run ${i}: ${'x'.repeat(1900)}`,
          created_at: new Date(since + i * 1000),
        })),
        400,
      );

      const page = await read(asked.body.conversationId, '?limit=1');
      expect(page.status).toBe(200);
      const [message] = page.body.messages;
      expect(message.runCount).toBe(5_000);
      // The newest 10, oldest first (as before).
      expect(
        message.executions.map((r: any) => r.summary.split(':')[0]),
      ).toEqual(Array.from({ length: 10 }, (_, i) => `run ${4_990 + i}`));
      expect(page.text.length).toBeLessThan(30_000);
    },
  );

  it.each(databases.eachSupportedId())(
    'refuses a run beyond kubeAssistant.limits.runsPerAnswer with 409, audited and not kept, %p',
    async databaseId => {
      await start(await databases.init(databaseId), { runsPerAnswer: 3 });
      const asked = await ask('list pods in shop');
      expect(asked.status).toBe(200);
      const { messageId, conversationId } = asked.body;
      for (let i = 0; i < 3; i++) {
        // No cluster is configured: each run fails, and is kept as failed.
        expect((await execute(messageId)).status).not.toBe(409);
      }
      const runsBefore = audit.filter(
        a => a.options.eventId === 'execution',
      ).length;

      const fourth = await execute(messageId);
      expect(fourth.status).toBe(409);
      expect(fourth.body.error.message).toBe(
        'This answer has reached its limit of 3 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.',
      );
      // Audited as refused, with the reason and its stage.
      const refusals = audit.filter(a => a.options.eventId === 'execution');
      expect(refusals).toHaveLength(runsBefore + 1);
      const refusal = refusals[refusals.length - 1];
      expect(refusal.options.meta).toMatchObject({ user: USER, messageId });
      expect(refusal.fail).toHaveBeenCalledWith(
        expect.objectContaining({
          meta: expect.objectContaining({
            outcome: 'refused',
            stage: 'runs',
            reason: fourth.body.error.message,
          }),
        }),
      );
      // Nothing is added to the answer's runs.
      const conversation = await read(conversationId);
      expect(conversation.body.messages[0].runCount).toBe(3);
      expect(
        conversation.body.messages[0].executions.map((r: any) => r.status),
      ).toEqual(['failed', 'failed', 'failed']);
      // Asking again gives an answer that runs.
      const again = await ask('list pods in shop', conversationId);
      expect(again.status).toBe(200);
      expect((await execute(again.body.messageId)).status).not.toBe(409);
    },
  );

  it.each(databases.eachSupportedId())(
    'runs an answer at most runsPerAnswer times also when asked to run it at once: the others are 409 and nothing runs, %p',
    async databaseId => {
      await start(await databases.init(databaseId), {
        runsPerAnswer: 2,
        runsAtOncePerUser: 20,
      });
      const asked = await ask('list pods in shop');
      expect(asked.status).toBe(200);
      const { messageId, conversationId } = asked.body;
      const runs = await Promise.all(
        Array.from({ length: 20 }, () => execute(messageId)),
      );
      const limited = runs.filter(r => r.status === 409);
      expect(limited).toHaveLength(18);
      for (const refused of limited) {
        expect(refused.body.error.message).toBe(
          'This answer has reached its limit of 2 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.',
        );
      }
      // Two runs were started (each fails: no cluster is configured), the others refused at once.
      const executions = audit.filter(a => a.options.eventId === 'execution');
      const started = executions.filter(a => a.options.meta?.planHash);
      expect(started).toHaveLength(2);
      const conversation = await read(conversationId);
      expect(conversation.body.messages[0].runCount).toBe(2);
      expect(
        conversation.body.messages[0].executions.map((r: any) => r.status),
      ).toEqual(['failed', 'failed']);
      expect(runs.filter(r => r.body.notice)).toEqual([]);
    },
  );

  it.each(databases.eachSupportedId())(
    'answers a caller without kube-assistant.execute 403, not 409, for an answer at runsPerAnswer: the permission comes first, %p',
    async databaseId => {
      await start(await databases.init(databaseId), { runsPerAnswer: 3 });
      const asked = await ask('list pods in shop');
      const { messageId, conversationId } = asked.body;
      for (let i = 0; i < 3; i++) {
        expect((await execute(messageId)).status).not.toBe(409);
      }
      const runsBefore = audit.filter(
        a => a.options.eventId === 'execution',
      ).length;

      denied.add('kube-assistant.execute');
      const refused = await execute(messageId);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        'You are not allowed to run commands (kube-assistant.execute)',
      );
      // Audited as the permission's refusal: nothing says the answer is at its limit.
      const events = audit.filter(a => a.options.eventId === 'execution');
      expect(events).toHaveLength(runsBefore + 1);
      const refusal = events[events.length - 1];
      expect(refusal.options.meta).toMatchObject({
        user: USER,
        messageId,
        outcome: 'refused',
        stage: 'permission',
        reason: refused.body.error.message,
      });
      expect(
        JSON.stringify([refusal.options.meta, refusal.fail.mock.calls]),
      ).not.toContain('runsPerAnswer');
      // Nothing is added to the answer's runs beyond the limit.
      const conversation = await read(conversationId);
      expect(conversation.body.messages[0].runCount).toBe(3);

      // Whoever may run commands is told of the limit.
      denied.clear();
      expect((await execute(messageId)).status).toBe(409);
    },
  );

  it.each(databases.eachSupportedId())(
    'refuses to start with a runsPerAnswer that is not a whole number of at least 1, %p',
    async databaseId => {
      await expect(
        start(await databases.init(databaseId), { runsPerAnswer: 0 }),
      ).rejects.toThrow(
        'kubeAssistant.limits.runsPerAnswer must be a whole number of at least 1, not 0',
      );
    },
  );
});
