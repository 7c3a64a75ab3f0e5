import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import {
  AuditorService,
  AuditorServiceCreateEventOptions,
} from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Plan } from '@kubechart/plugin-assistant-common';
import { randomUUID } from 'node:crypto';
import { NamespaceOwners } from '../context/namespaceOwners';
import { ConfirmationStore } from '../database/ConfirmationStore';
import { ConversationStore } from '../database/ConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { ProviderChain } from '../providers/ProviderChain';
import { AssistantService } from './AssistantService';
import { readRunsAtOncePerUser } from './questionLimits';

type Event = {
  options: AuditorServiceCreateEventOptions;
  success: jest.Mock;
  fail: jest.Mock;
};

const LIST: Plan = {
  verb: 'get',
  resource: 'pods',
  namespace: 'shop',
  cluster: 'sim',
};

/**
 * `POST /execute` runs at most `kubeAssistant.limits.runsAtOncePerUser` commands of one user at
 * once: the next is answered 429 before anything is looked up, taken or run, and recorded as a
 * refusal; a run that ends, however it ends, gives its place back.
 */
describe('AssistantService: the runs of one user at once', () => {
  const alice = 'user:default/alice';
  const bob = 'user:default/bob';
  const callerOf = (userRef: string) => ({
    credentials: mockCredentials.user(userRef),
    userRef,
  });
  let events: Event[];
  let reserved: string[];
  let completed: { runId: string; record: any }[];
  let getMessage: jest.Mock;
  /** Runs under way on the cluster, each ended by calling its function. */
  let underWay: { end: (failure?: Error) => void }[];
  let service: AssistantService;

  const answerOf = (userRef: string) => ({
    id: randomUUID(),
    conversationId: randomUUID(),
    userRef,
    question: 'list pods in shop',
    createdAt: new Date().toISOString(),
    plan: LIST,
    command: 'kubectl get pods --context sim -n shop',
    planSalt: 'salt',
    executions: [],
  });

  beforeEach(() => {
    events = [];
    reserved = [];
    completed = [];
    underWay = [];
    const answers = new Map<string, ReturnType<typeof answerOf>>();
    for (const userRef of [alice, bob]) {
      const answer = answerOf(userRef);
      answers.set(userRef, answer);
    }
    getMessage = jest.fn(async ({ userRef }) => answers.get(userRef));
    const auditor: AuditorService = {
      createEvent: async options => {
        const event: Event = { options, success: jest.fn(), fail: jest.fn() };
        events.push(event);
        return event;
      },
    };
    const store = {
      getMessage,
      messageOwner: async () => undefined,
      assertRunRoom: async () => undefined,
      addExecution: async () => undefined,
      reserveRun: async ({ messageId }: { messageId: string }) => {
        reserved.push(messageId);
        return String(reserved.length);
      },
      completeRun: async (options: { runId: string; record: any }) => {
        completed.push(options);
      },
    } as unknown as ConversationStore;
    const executor = new PlanExecutor({ maxRows: 200 });
    executor.executeReporting = jest.fn(
      () =>
        new Promise((resolve, reject) => {
          underWay.push({
            end: failure =>
              failure
                ? reject(failure)
                : resolve({ result: { type: 'text', text: 'ran' } }),
          });
        }),
    );
    const logger = mockServices.logger.mock();
    service = new AssistantService({
      chain: new ProviderChain([], logger),
      store,
      clusters: ClusterRegistry.fromConfig(
        new ConfigReader({
          kubernetes: {
            clusterLocatorMethods: [
              {
                type: 'config',
                clusters: [
                  {
                    name: 'sim',
                    url: 'https://127.0.0.1:1',
                    serviceAccountToken: 'token',
                  },
                ],
              },
            ],
          },
        }),
      ),
      executor,
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
      confirmations: {} as ConfirmationStore,
      confirmationTtlMs: 60_000,
      namespaceOwners: NamespaceOwners.fromConfig(new ConfigReader({})),
      runsAtOncePerUser: 2,
    });
  });

  const run = (userRef: string) =>
    service.execute({ messageId: 'the-answer' }, callerOf(userRef));

  /** Lets the runs started get as far as they can. */
  async function settle(runs: number) {
    for (let i = 0; i < 1000 && underWay.length < runs; i++) {
      await new Promise(resolve => setImmediate(resolve));
    }
    expect(underWay).toHaveLength(runs);
  }

  it('answers a third run of one user 429 while two run, before anything is looked up or run, and records the refusal', async () => {
    const first = run(alice);
    const second = run(alice);
    await settle(2);
    const lookedUp = getMessage.mock.calls.length;
    const eventsBefore = events.length;

    await expect(run(alice)).rejects.toMatchObject({
      name: 'TooManyRequestsError',
      statusCode: 429,
      message:
        'user:default/alice has 2 commands running; the limit is 2 at once (kubeAssistant.limits.runsAtOncePerUser). Wait for one to finish, then run it again.',
    });
    expect(getMessage.mock.calls.length).toBe(lookedUp);
    expect(reserved).toHaveLength(2);
    expect(underWay).toHaveLength(2);
    expect(events).toHaveLength(eventsBefore + 1);
    expect(events[eventsBefore].options).toMatchObject({
      eventId: 'execution',
      meta: { user: alice, messageId: 'the-answer' },
    });
    expect(events[eventsBefore].fail.mock.calls[0][0].meta).toMatchObject({
      outcome: 'refused',
      stage: 'runs-at-once',
    });

    // Another user is not held up by them.
    const bobs = run(bob);
    await settle(3);

    for (const { end } of underWay) end();
    await expect(Promise.all([first, second, bobs])).resolves.toHaveLength(3);
    expect(completed.map(c => c.record.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // Ended, they give their places back.
    const again = run(alice);
    await settle(4);
    underWay[3].end();
    await expect(again).resolves.toMatchObject({ result: { text: 'ran' } });
  });

  it('gives the place of a run back however it ends', async () => {
    for (let i = 0; i < 3; i++) {
      const failing = run(alice);
      await settle(i + 1);
      underWay[i].end(new Error('connect ECONNREFUSED'));
      await expect(failing).rejects.toThrow('connect ECONNREFUSED');
    }
    // Refused before it runs (another user's answer: not found), three times.
    getMessage.mockImplementation(async () => undefined);
    for (let i = 0; i < 3; i++) {
      await expect(run(alice)).rejects.toMatchObject({
        name: 'NotFoundError',
      });
    }
    getMessage.mockReset();
    getMessage.mockImplementation(async ({ userRef }) => ({
      ...answerOf(userRef),
    }));
    const first = run(alice);
    const second = run(alice);
    await settle(5);
    for (const { end } of underWay.slice(3)) end();
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
    expect(completed.map(c => c.record.status)).toEqual([
      'failed',
      'failed',
      'failed',
      'succeeded',
      'succeeded',
    ]);
  });
});

describe('kubeAssistant.limits.runsAtOncePerUser', () => {
  it('defaults to 3, and refuses to start with a value that is not a whole number of at least 1', () => {
    expect(readRunsAtOncePerUser(new ConfigReader({}))).toBe(3);
    expect(
      readRunsAtOncePerUser(
        new ConfigReader({
          kubeAssistant: { limits: { runsAtOncePerUser: 1 } },
        }),
      ),
    ).toBe(1);
    expect(() =>
      readRunsAtOncePerUser(
        new ConfigReader({
          kubeAssistant: { limits: { runsAtOncePerUser: 0 } },
        }),
      ),
    ).toThrow(
      'kubeAssistant.limits.runsAtOncePerUser must be a whole number of at least 1, not 0',
    );
  });
});
