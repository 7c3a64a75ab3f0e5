import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { AuditorService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { NamespaceOwners } from '../context/namespaceOwners';
import {
  DatabaseConversationStore,
  RUN_NOT_RECORDED,
} from '../database/DatabaseConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { BuiltinProvider } from '../providers/builtin/BuiltinProvider';
import { ProviderChain } from '../providers/ProviderChain';
import { AssistantService } from './AssistantService';
import { simCluster } from '../__testUtils__/backend';

jest.setTimeout(60_000);

type Event = { eventId: string; success: jest.Mock; fail: jest.Mock };

/**
 * What happened on the cluster is decided by the cluster alone: once a change was applied, the
 * audit trail says so (exactly once, with what changed) and the user is told so, whatever happens
 * when the record of the run is saved afterwards.
 */
describe('AssistantService: the outcome of a run, when saving its record fails', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  const userRef = 'user:default/mock';
  const caller = { credentials: mockCredentials.user(userRef), userRef };
  let sim: KubeSim;
  let apps: AppsV1Api;
  let real: DatabaseConversationStore;
  let service: AssistantService;
  const events: Event[] = [];
  const logger = mockServices.logger.mock();
  /** How saving the record of a run fails: not, once, or every time. */
  let storeDown: 'no' | 'once' | 'always' = 'no';
  /** Whether completing an `execution` audit event fails. */
  let auditDown = false;
  /** Whether starting an `execution` audit event fails. */
  let auditUnreachable = false;
  /** Whether saving an answer (a refused question included) fails. */
  let messagesDown = false;
  /** The order in which audit events were completed and answers saved. */
  const order: string[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    apps = kc.makeApiClient(AppsV1Api);
    real = await DatabaseConversationStore.create({
      database: mockServices.database({
        knex: await databases.init('SQLITE_3'),
      }),
      // The runs whose outcome this suite keeps from being saved stay `running`, and count among
      // the user's runs at once until they are older than a run can be.
      maxRunsAtOncePerUser: 100,
    });
    // The real store, but for saving the record of a run, and an answer.
    const store = Object.assign(Object.create(real), {
      addMessage: async (message: any) => {
        order.push('saved');
        if (messagesDown) throw new Error('database unavailable');
        return real.addMessage(message);
      },
      addExecution: async (options: any) => {
        if (storeDown === 'always') throw new Error('database unavailable');
        if (storeDown === 'once') {
          storeDown = 'no';
          throw new Error('database unavailable');
        }
        return real.addExecution(options);
      },
      completeRun: async (options: any) => {
        if (storeDown === 'always') throw new Error('database unavailable');
        if (storeDown === 'once') {
          storeDown = 'no';
          throw new Error('database unavailable');
        }
        return real.completeRun(options);
      },
    }) as DatabaseConversationStore;
    const auditor: AuditorService = {
      createEvent: async options => {
        if (auditUnreachable && options.eventId === 'execution') {
          throw new Error('audit log unavailable');
        }
        const complete = () => {
          order.push(`audited ${options.eventId}`);
          if (auditDown && options.eventId === 'execution') {
            throw new Error('audit log unavailable');
          }
        };
        const event: Event = {
          eventId: options.eventId,
          success: jest.fn(complete),
          fail: jest.fn(complete),
        };
        events.push(event);
        return event;
      },
    };
    service = new AssistantService({
      chain: new ProviderChain(
        [{ provider: new BuiltinProvider(), timeoutMs: 1000 }],
        logger,
      ),
      store,
      clusters: ClusterRegistry.fromConfig(
        new ConfigReader({
          kubernetes: simCluster(sim, 'skip'),
        }),
      ),
      executor: new PlanExecutor({ maxRows: 200 }),
      permissions: mockServices.permissions.mock({
        authorize: jest.fn(async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
        ) as any,
      }),
      auditor,
      catalog: catalogServiceMock({ entities: [] }),
      userInfo: mockServices.userInfo(),
      logger,
      allowDangerous: false,
      confirmations: real.confirmations(),
      confirmationTtlMs: 60_000,
      namespaceOwners: NamespaceOwners.fromConfig(new ConfigReader({})),
    });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  beforeEach(() => {
    storeDown = 'no';
    auditDown = false;
    auditUnreachable = false;
    messagesDown = false;
    order.length = 0;
    events.length = 0;
    logger.error.mockClear();
  });

  const replicas = async (name: string) =>
    (await apps.readNamespacedDeployment({ namespace: 'shop', name })).spec
      ?.replicas;
  const records = async (messageId: string) =>
    (await real.getMessage({ id: messageId, userRef }))!.executions;

  /** Asks, then runs what was shown as confirmed; the execution's audit event. */
  async function askAndRun(question: string) {
    const asked = await service.ask({ question }, caller);
    events.length = 0;
    const ran = service.execute(
      {
        messageId: asked.messageId,
        confirm: true,
        confirmationToken: asked.requirements.confirmationToken,
      },
      caller,
    );
    const outcome = await ran.then(
      response => ({ response, error: undefined }),
      error => ({ response: undefined, error }),
    );
    const execution = events.filter(e => e.eventId === 'execution');
    expect(execution).toHaveLength(1);
    return { ...outcome, event: execution[0], messageId: asked.messageId };
  }

  const scaled = (count: number) => ({
    outcome: 'succeeded',
    latencyMs: expect.any(Number),
    summary: `deployment/inventory-service in shop scaled to ${count}`,
    changedObjects: [
      { namespace: 'shop', kind: 'Deployment', name: 'inventory-service' },
    ],
    changedCount: 1,
  });
  const notSaved =
    'The change was applied, but its record could not be saved in this conversation (the audit trail has it).';

  it.each([
    ['once', 4],
    ['always', 5],
  ] as const)(
    'says the change was applied when saving its record fails (%s)',
    async (down, count) => {
      storeDown = down;
      const { response, error, event, messageId } = await askAndRun(
        `scale deployment inventory-service in shop to ${count}`,
      );
      expect(error).toBeUndefined();
      expect(await replicas('inventory-service')).toBe(count);
      // Audited once, as what happened: succeeded, with what changed.
      expect(event.fail).not.toHaveBeenCalled();
      expect(event.success).toHaveBeenCalledTimes(1);
      expect(event.success.mock.calls[0][0].meta).toEqual(scaled(count));
      // The user is told the change was applied, and that its record is missing.
      expect(response!.result).toEqual({
        type: 'message',
        text: `deployment/inventory-service in shop scaled to ${count}\n${notSaved}`,
      });
      expect(response!.notice).toBe(notSaved);
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          `Could not save the record of a run of answer ${messageId} (the change was applied)`,
        ),
        expect.anything(),
      );
      // Nothing says it failed: its record, taken before it ran, says its outcome was not recorded.
      expect(await records(messageId)).toEqual([
        {
          status: 'running',
          summary: RUN_NOT_RECORDED,
          at: expect.any(String),
        },
      ]);
    },
  );

  it('records a run once, as succeeded, when completing its audit event fails', async () => {
    auditDown = true;
    const { response, error, event, messageId } = await askAndRun(
      'scale deployment inventory-service in shop to 3',
    );
    expect(error).toBeUndefined();
    expect(await replicas('inventory-service')).toBe(3);
    expect(response!.result).toEqual({
      type: 'message',
      text: 'deployment/inventory-service in shop scaled to 3',
    });
    expect(event.success).toHaveBeenCalledTimes(1);
    expect(event.fail).not.toHaveBeenCalled();
    expect(await records(messageId)).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        summary: 'deployment/inventory-service in shop scaled to 3',
      }),
    ]);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(
        `Could not complete the audit event of a run of answer ${messageId}`,
      ),
      expect.anything(),
    );
  });

  it('records a run whose audit event cannot be started as not run, and sends nothing to the cluster', async () => {
    const before = await replicas('inventory-service');
    const asked = await service.ask(
      { question: 'scale deployment inventory-service in shop to 6' },
      caller,
    );
    auditUnreachable = true;
    await expect(
      service.execute(
        {
          messageId: asked.messageId,
          confirm: true,
          confirmationToken: asked.requirements.confirmationToken,
        },
        caller,
      ),
    ).rejects.toThrow('audit log unavailable');
    expect(await replicas('inventory-service')).toBe(before);
    expect(await records(asked.messageId)).toEqual([
      expect.objectContaining({
        status: 'failed',
        summary: 'Not run: audit log unavailable',
      }),
    ]);
  });

  it('audits a refusal when the store is down, and tells the user why it was refused', async () => {
    const asked = await service.ask(
      { question: 'scale deployment inventory-service in shop to 2' },
      caller,
    );
    events.length = 0;
    storeDown = 'always';
    // Not confirmed: refused.
    await expect(
      service.execute({ messageId: asked.messageId }, caller),
    ).rejects.toThrow(/^This command is warning: .* Confirm to run it\.$/);
    const [event] = events.filter(e => e.eventId === 'execution');
    expect(event.fail).toHaveBeenCalledTimes(1);
    expect(event.fail.mock.calls[0][0].meta).toEqual({ outcome: 'refused' });
    expect(await replicas('inventory-service')).not.toBe(2);
    // Its record, taken before it was refused, says only that its outcome was not recorded: nothing ran.
    const [record] = await records(asked.messageId);
    expect(record).toEqual({
      status: 'running',
      summary: RUN_NOT_RECORDED,
      at: expect.any(String),
    });
    expect(record.summary).toMatch(/outcome was not recorded/);
    expect(record.summary).not.toMatch(/\b(started|ran|run)\b/i);
  });

  it.each([
    [
      'a question holding two commands',
      'list pods in shop; then delete every namespace',
      /^One request at a time/,
      { outcome: 'refused', stage: 'screening' },
    ],
    [
      'a question no provider can plan',
      'xyzzy plugh frobnicate',
      /^The assistant could not turn this question into a Kubernetes command/,
      { outcome: 'no-plan' },
    ],
  ])(
    'audits %s first, and still refuses it when the store cannot save it',
    async (_, question, message, meta) => {
      messagesDown = true;
      const error = await service.ask({ question }, caller).catch(e => e);
      // The refusal (a 400), not the store's error (a 500).
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(message);
      const asked = events.filter(e => e.eventId === 'question');
      expect(asked).toHaveLength(1);
      expect(asked[0].success).not.toHaveBeenCalled();
      expect(asked[0].fail).toHaveBeenCalledTimes(1);
      expect(asked[0].fail.mock.calls[0][0].meta).toMatchObject(meta);
      // Audited before the answer was saved.
      expect(order).toEqual(['audited question', 'saved']);
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringMatching(/^Could not save the refused question /),
        expect.anything(),
      );
    },
  );

  it('saves a refused question once it is audited, when the store works', async () => {
    const error = await service
      .ask(
        { question: 'list pods in shop; then delete every namespace' },
        caller,
      )
      .catch(e => e);
    expect(error.message).toMatch(/^One request at a time/);
    expect(order).toEqual(['audited question', 'saved']);
    const conversations = await real.listConversations({ userRef, limit: 1 });
    const conversation = await real.getConversation({
      id: conversations[0].id,
      userRef,
    });
    expect(conversation!.messages.at(-1)).toMatchObject({
      question: 'list pods in shop; then delete every namespace',
      error: error.message,
    });
  });

  it('records and audits a plan the executor refuses just before it runs as refused, with the reason', async () => {
    // A plan stored before a rule of what runs as shown was added: `top` with a field selector
    // was shown as `kubectl top pods -n shop` and listed every pod.
    const conversationId = await real.ensureConversation({
      userRef,
      title: 'older plan',
    });
    const messageId = 'stored-before-the-rule';
    await real.addMessage({
      id: messageId,
      conversationId,
      userRef,
      question: 'usage of pod nonexistent-pod in shop',
      createdAt: new Date().toISOString(),
      plan: {
        verb: 'top',
        resource: 'pods',
        namespace: 'shop',
        cluster: 'sim',
        fieldSelector: 'metadata.name=nonexistent-pod',
      },
      command: 'kubectl top pods --context sim -n shop',
      executions: [],
    });
    const error = await service.execute({ messageId }, caller).catch(e => e);
    const reason =
      'This plan cannot run as shown: top does not take fieldSelector: it would be shown but not carried out. Ask again.';
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(reason);
    const [event] = events.filter(e => e.eventId === 'execution');
    expect(event.success).not.toHaveBeenCalled();
    expect(event.fail).toHaveBeenCalledTimes(1);
    expect(event.fail.mock.calls[0][0].meta).toEqual({
      outcome: 'refused',
      reason,
    });
    expect(await records(messageId)).toEqual([
      expect.objectContaining({ status: 'refused', summary: reason }),
    ]);
  });

  it('audits a failed run as failed when its record cannot be saved either', async () => {
    storeDown = 'always';
    const { error, event } = await askAndRun(
      'scale deployment nonexistent-service in shop to 4',
    );
    expect(error.message).toMatch(/not found/);
    expect(event.success).not.toHaveBeenCalled();
    expect(event.fail).toHaveBeenCalledTimes(1);
    expect(event.fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'failed',
    });
  });

  it('names every object a change over several objects changed, with its namespace, in the answer and the audit trail', async () => {
    const { response, error, event, messageId } = await askAndRun(
      'restart the deployments in shop',
    );
    expect(error).toBeUndefined();
    const names = (
      await apps.listNamespacedDeployment({ namespace: 'shop' })
    ).items.map(d => d.metadata!.name!);
    expect(names.length).toBeGreaterThan(1);
    expect(response!.result).toEqual({
      type: 'message',
      text: names.map(n => `deployment/${n} in shop restarted`).join('\n'),
    });
    expect(event.success.mock.calls[0][0].meta).toEqual({
      outcome: 'succeeded',
      latencyMs: expect.any(Number),
      summary: names.map(n => `deployment/${n} in shop restarted`).join('\n'),
      changedObjects: names.map(name => ({
        namespace: 'shop',
        kind: 'Deployment',
        name,
      })),
      changedCount: names.length,
    });
    expect(await records(messageId)).toEqual([
      expect.objectContaining({ status: 'succeeded' }),
    ]);
  });
});
