import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import {
  AuditorService,
  AuditorServiceCreateEventOptions,
} from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { randomUUID } from 'node:crypto';
import { NamespaceOwners } from '../context/namespaceOwners';
import { ConfirmationStore } from '../database/ConfirmationStore';
import { ConversationStore } from '../database/ConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { ProviderChain } from '../providers/ProviderChain';
import { AssistantService } from './AssistantService';
import { readQuestionLimits } from './questionLimits';

type Event = {
  options: AuditorServiceCreateEventOptions;
  success: jest.Mock;
  fail: jest.Mock;
};

const RECORDED_PER_MINUTE = 3;

/**
 * The refusals of one caller the audit trail records one by one are bounded a minute
 * (`kubeAssistant.limits.refusedQuestionsAuditedPerMinute`): the rest are counted, and the count is
 * recorded when the caller's minute ends, so every refusal leaves a trace.
 */
describe('AssistantService: refusals recorded per caller and minute', () => {
  const userRef = 'user:default/eve';
  const caller = { credentials: mockCredentials.user(userRef), userRef };
  let events: Event[];
  let service: AssistantService;
  let planCalls: number;
  /** The caller's own answer, when a test gives it one. */
  let ownAnswer: object | undefined;

  beforeEach(() => {
    jest.useFakeTimers();
    events = [];
    planCalls = 0;
    ownAnswer = undefined;
    const auditor: AuditorService = {
      createEvent: async options => {
        const event: Event = { options, success: jest.fn(), fail: jest.fn() };
        events.push(event);
        return event;
      },
    };
    const logger = mockServices.logger.mock();
    const chain = new ProviderChain([], logger);
    jest.spyOn(chain, 'plan').mockImplementation(async () => {
      planCalls++;
      throw new Error('no provider in this test');
    });
    const store = {
      getMessage: async () => ownAnswer,
      messageOwner: async () => undefined,
      assertRunRoom: async () => undefined,
      addExecution: async () => undefined,
    } as unknown as ConversationStore;
    service = new AssistantService({
      chain,
      store,
      clusters: ClusterRegistry.fromConfig(new ConfigReader({})),
      executor: new PlanExecutor({ maxRows: 200 }),
      // Every permission denied: the caller may do nothing with the assistant.
      permissions: mockServices.permissions.mock({
        authorize: jest.fn(async requests =>
          requests.map(() => ({ result: AuthorizeResult.DENY })),
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
      limits: {
        refusedQuestionsAuditedPerMinute: RECORDED_PER_MINUTE,
        questionsPerUserPerMinute: 60,
      },
    });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('records a denied user’s questions one by one up to the limit, and the rest as one count when the minute ends', async () => {
    const errors: string[] = [];
    for (let i = 0; i < 100; i++) {
      await service
        .ask({ question: `list pods ${i} ${'x'.repeat(1900)}` }, caller)
        .then(
          () => errors.push('answered'),
          e => errors.push(e.name),
        );
      jest.advanceTimersByTime(100);
    }
    expect(errors).toEqual(Array(100).fill('NotAllowedError'));
    expect(planCalls).toBe(0);
    expect(events.map(e => e.options.eventId)).toEqual(
      Array(RECORDED_PER_MINUTE).fill('question'),
    );
    await jest.advanceTimersByTimeAsync(60_000);
    expect(events).toHaveLength(RECORDED_PER_MINUTE + 1);
    expect(events[RECORDED_PER_MINUTE].options).toMatchObject({
      eventId: 'refusals-not-recorded',
      severityLevel: 'medium',
      meta: {
        user: userRef,
        outcome: 'refused',
        refusedNotRecorded: 100 - RECORDED_PER_MINUTE,
      },
    });
    expect(
      JSON.stringify(events[RECORDED_PER_MINUTE].options.meta),
    ).not.toContain('list pods');

    // A new minute: recorded one by one again, the count already reported not carried.
    await expect(
      service.ask({ question: 'list pods' }, caller),
    ).rejects.toMatchObject({ name: 'NotAllowedError' });
    expect(events).toHaveLength(RECORDED_PER_MINUTE + 2);
    expect(events[RECORDED_PER_MINUTE + 1].options.eventId).toBe('question');
    expect(
      events[RECORDED_PER_MINUTE + 1].fail.mock.calls[0][0].meta,
    ).not.toHaveProperty('refusedNotRecorded');
  });

  it('carries the count in the next refusal recorded when the caller comes back in a new minute before the timer', async () => {
    for (let i = 0; i < RECORDED_PER_MINUTE + 4; i++) {
      await service.ask({ question: 'list pods' }, caller).catch(() => {});
    }
    jest.setSystemTime(Date.now() + 60_000);
    await service.ask({ question: 'list pods' }, caller).catch(() => {});
    await jest.advanceTimersByTimeAsync(60_000);
    expect(events.map(e => e.options.eventId)).toEqual(
      Array(RECORDED_PER_MINUTE + 1).fill('question'),
    );
    expect(
      events[RECORDED_PER_MINUTE].fail.mock.calls[0][0].meta,
    ).toMatchObject({
      outcome: 'refused',
      stage: 'permission',
      refusedNotRecorded: 4,
    });
  });

  it('records the count at once on shutdown', async () => {
    for (let i = 0; i < RECORDED_PER_MINUTE + 2; i++) {
      await service.ask({ question: 'list pods' }, caller).catch(() => {});
    }
    await service.flushRefusals();
    expect(events.map(e => e.options.eventId)).toEqual([
      ...Array(RECORDED_PER_MINUTE).fill('question'),
      'refusals-not-recorded',
    ]);
    expect(events[RECORDED_PER_MINUTE].options.meta).toMatchObject({
      refusedNotRecorded: 2,
    });
  });

  it('records a question at most as long as a question may be, its secret values replaced', async () => {
    // 1,999 characters; with each value replaced by `***` it would be 2,499.
    const question = 'token=a '.repeat(250).trim();
    await service.ask({ question }, caller).catch(() => {});
    const recorded = events[0].options.meta?.question as string;
    expect(recorded.length).toBeLessThanOrEqual(2000);
    expect(recorded.startsWith('token=*** token=***')).toBe(true);
    expect(recorded).not.toContain('token=a');
  });

  it('bounds the runs of answers that do not exist the same way: 404 each time, recorded up to the limit', async () => {
    const errors: string[] = [];
    for (let i = 0; i < 50; i++) {
      await service.execute({ messageId: randomUUID() }, caller).then(
        () => errors.push('ran'),
        e => errors.push(e.name),
      );
    }
    expect(errors).toEqual(Array(50).fill('NotFoundError'));
    expect(events.map(e => e.options.eventId)).toEqual(
      Array(RECORDED_PER_MINUTE).fill('execution'),
    );
    await jest.advanceTimersByTimeAsync(60_000);
    expect(events.map(e => e.options.eventId)).toEqual([
      ...Array(RECORDED_PER_MINUTE).fill('execution'),
      'refusals-not-recorded',
    ]);
    expect(events[RECORDED_PER_MINUTE].options.meta).toMatchObject({
      user: userRef,
      refusedNotRecorded: 50 - RECORDED_PER_MINUTE,
    });
  });

  it('bounds the runs of one’s own answer without kube-assistant.execute the same way: 403 each time, recorded up to the limit', async () => {
    const messageId = randomUUID();
    ownAnswer = {
      id: messageId,
      conversationId: randomUUID(),
      userRef,
      question: 'delete deployment web in shop',
      createdAt: new Date().toISOString(),
      plan: {
        verb: 'delete',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
      },
      command: 'kubectl delete deployment/web -n shop',
      executions: [],
    };
    const errors: string[] = [];
    for (let i = 0; i < 50; i++) {
      await service
        .execute(
          {
            messageId,
            confirm: true,
            typedConfirmation: 'web',
            confirmationToken: 'x',
          },
          caller,
        )
        .then(
          () => errors.push('ran'),
          e => errors.push(e.name),
        );
    }
    expect(errors).toEqual(Array(50).fill('NotAllowedError'));
    expect(events.map(e => e.options.eventId)).toEqual(
      Array(RECORDED_PER_MINUTE).fill('execution'),
    );
    expect(events[0].options.meta).toMatchObject({
      user: userRef,
      messageId,
      outcome: 'refused',
      stage: 'permission',
    });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(events.map(e => e.options.eventId)).toEqual([
      ...Array(RECORDED_PER_MINUTE).fill('execution'),
      'refusals-not-recorded',
    ]);
    expect(events[RECORDED_PER_MINUTE].options.meta).toMatchObject({
      user: userRef,
      refusedNotRecorded: 50 - RECORDED_PER_MINUTE,
    });
  });
});

describe('kubeAssistant.limits', () => {
  it('defaults to 60 questions a minute and 30 refusals recorded one by one', () => {
    expect(readQuestionLimits(new ConfigReader({}))).toEqual({
      questionsPerUserPerMinute: 60,
      refusedQuestionsAuditedPerMinute: 30,
    });
  });

  it('refuses to start with a limit that is not a whole number in range', () => {
    const read = (limits: object) => () =>
      readQuestionLimits(new ConfigReader({ kubeAssistant: { limits } }));
    expect(read({ questionsPerUserPerMinute: 0 })).toThrow(
      'kubeAssistant.limits.questionsPerUserPerMinute must be a whole number of at least 1, not 0',
    );
    expect(read({ refusedQuestionsAuditedPerMinute: 2.5 })).toThrow(
      'kubeAssistant.limits.refusedQuestionsAuditedPerMinute must be a whole number of at least 0, not 2.5',
    );
    expect(read({ refusedQuestionsAuditedPerMinute: 0 })()).toEqual({
      questionsPerUserPerMinute: 60,
      refusedQuestionsAuditedPerMinute: 0,
    });
  });
});
