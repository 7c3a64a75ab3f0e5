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
import request from 'supertest';
import { assistantPlugin } from './plugin';
import { AuditCall, recordingAuditor } from './__testUtils__/backend';

jest.setTimeout(180_000);

const USER = 'user:default/alice';
const NO_SCOPE =
  "Without the kube-assistant.cluster-wide permission the assistant works only inside a catalog entity you or your team own: ask from the assistant card on that entity's page.";
const AT_THE_LIMIT =
  'This answer has reached its limit of 3 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.';

/**
 * `POST /execute` checks the run's scope (the whole cluster with `kube-assistant.cluster-wide`, else
 * an entity the caller owns) before the runs an answer keeps: a caller who may no longer reach what
 * the answer reaches is answered 403, with the reason, also for an answer at
 * `kubeAssistant.limits.runsPerAnswer` (it was 409, the limit, as if running it again were allowed).
 */
describe('kube-assistant plugin: the scope of a run comes before its limit', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
  const denied = new Set<string>();
  let audit: AuditCall[];

  async function start(knex: Knex) {
    audit = [];
    denied.clear();
    const provider = createBackendModule({
      pluginId: 'kube-assistant',
      moduleId: 'fixed-provider',
      register(env) {
        env.registerInit({
          deps: { providers: assistantProvidersExtensionPoint },
          async init({ providers }) {
            providers.addProvider({
              id: 'fixed',
              async plan() {
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
        provider,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: {
            kubeAssistant: {
              providers: [{ id: 'fixed' }],
              limits: { questionsPerUserPerMinute: 1000, runsPerAnswer: 3 },
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

  const read = (id: string) =>
    request(backend!.server)
      .get(`/api/kube-assistant/conversations/${id}`)
      .set('Authorization', mockCredentials.user.header(USER));

  const executions = () => audit.filter(a => a.options.eventId === 'execution');

  it.each(databases.eachSupportedId())(
    'answers a run out of scope 403, not 409, for an answer at runsPerAnswer, %p',
    async databaseId => {
      await start(await databases.init(databaseId));
      // Asked with kube-assistant.cluster-wide: a list in shop, with no entity.
      const asked = await ask('list pods in shop');
      expect(asked.status).toBe(200);
      const { messageId, conversationId } = asked.body;
      for (let i = 0; i < 3; i++) {
        expect((await execute(messageId)).status).not.toBe(409);
      }
      const before = executions().length;

      // The caller lost kube-assistant.cluster-wide: the answer is out of their scope.
      denied.add('kube-assistant.cluster-wide');
      const refused = await execute(messageId);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(NO_SCOPE);
      // Audited as the scope's refusal, from its start: nothing says the answer is at its limit.
      expect(executions()).toHaveLength(before + 1);
      const refusal = executions()[before];
      expect(refusal.options.meta).toMatchObject({
        user: USER,
        messageId,
        outcome: 'refused',
        stage: 'entity-scope',
        reason: NO_SCOPE,
      });
      expect(refusal.success).not.toHaveBeenCalled();
      expect(refusal.fail).toHaveBeenCalled();
      expect(
        JSON.stringify([refusal.options.meta, refusal.fail.mock.calls]),
      ).not.toContain('runsPerAnswer');
      // Nothing is added to the answer's runs beyond the limit.
      const conversation = await read(conversationId);
      expect(conversation.body.messages[0].runCount).toBe(3);

      // Back in scope, the caller is told of the limit.
      denied.clear();
      const limited = await execute(messageId);
      expect(limited.status).toBe(409);
      expect(limited.body.error.message).toBe(AT_THE_LIMIT);
    },
  );

  it.each(databases.eachSupportedId())(
    'keeps a run refused for its scope in the answer while it has room, %p',
    async databaseId => {
      await start(await databases.init(databaseId));
      const asked = await ask('list pods in shop');
      const { messageId, conversationId } = asked.body;
      denied.add('kube-assistant.cluster-wide');
      const refused = await execute(messageId);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(NO_SCOPE);
      const conversation = await read(conversationId);
      expect(conversation.body.messages[0].runCount).toBe(1);
      expect(conversation.body.messages[0].executions).toEqual([
        expect.objectContaining({ status: 'refused', summary: NO_SCOPE }),
      ]);
    },
  );
});
