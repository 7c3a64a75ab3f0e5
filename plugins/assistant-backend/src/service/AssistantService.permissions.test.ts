import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import {
  AuditorService,
  AuditorServiceCreateEventOptions,
} from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { ConflictError } from '@backstage/errors';
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

type Event = {
  options: AuditorServiceCreateEventOptions;
  success: jest.Mock;
  fail: jest.Mock;
};

const NO_QUERY = 'You are not allowed to use the Kubernetes assistant';
const NO_EXECUTE =
  'You are not allowed to run commands (kube-assistant.execute)';
const NO_DANGEROUS =
  'You are not allowed to run dangerous commands (kube-assistant.execute.dangerous)';
const AT_THE_LIMIT =
  'This answer has reached its limit of 3 runs (kubeAssistant.limits.runsPerAnswer): ask the question again to run it more.';

const LIST: Plan = {
  verb: 'get',
  resource: 'pods',
  namespace: 'shop',
  cluster: 'sim',
};
const DELETE: Plan = {
  verb: 'delete',
  resource: 'deployments',
  name: 'web',
  namespace: 'shop',
  cluster: 'sim',
};

/**
 * `POST /execute` checks the caller's permissions before anything else about the answer: a caller
 * who may not use the assistant (`kube-assistant.query`), run commands (`kube-assistant.execute`) or
 * run this dangerous one (`kube-assistant.execute.dangerous`) is refused 403, nothing runs, and the
 * refusal is audited as the execute permission's refusal always was; they learn nothing else of the
 * answer (not that it has run `runsPerAnswer` times, nor that it has no command).
 */
describe('AssistantService: the permissions a run needs come first', () => {
  const userRef = 'user:default/eve';
  const caller = { credentials: mockCredentials.user(userRef), userRef };
  let events: Event[];
  let denied: Set<string>;
  let checked: string[];
  let answer: Record<string, unknown>;
  let atTheLimit: boolean;
  let executeReporting: jest.Mock;
  let addExecution: jest.Mock;
  let service: AssistantService;

  const answerOf = (plan: Plan | undefined, command?: string) => ({
    id: randomUUID(),
    conversationId: randomUUID(),
    userRef,
    question: 'a question',
    createdAt: new Date().toISOString(),
    ...(plan ? { plan, command, planSalt: 'salt' } : {}),
    executions: [],
  });

  beforeEach(() => {
    events = [];
    denied = new Set();
    checked = [];
    atTheLimit = false;
    answer = answerOf(LIST, 'kubectl get pods --context sim -n shop');
    const auditor: AuditorService = {
      createEvent: async options => {
        const event: Event = { options, success: jest.fn(), fail: jest.fn() };
        events.push(event);
        return event;
      },
    };
    addExecution = jest.fn(async () => undefined);
    const store = {
      getMessage: async () => answer,
      messageOwner: async () => undefined,
      assertRunRoom: async () => {
        if (atTheLimit) throw new ConflictError(AT_THE_LIMIT);
      },
      reserveRun: async () => {
        if (atTheLimit) throw new ConflictError(AT_THE_LIMIT);
        return { runId: '1', notReported: [], countedForMs: 60_000 };
      },
      completeRun: async () => ({ wasNotReported: false }),
      addExecution,
    } as unknown as ConversationStore;
    const executor = new PlanExecutor({ maxRows: 200 });
    executeReporting = jest.fn(async () => ({
      result: { type: 'text', text: 'ran' },
    }));
    executor.executeReporting = executeReporting;
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
          requests.map((r: any) => {
            checked.push(r.permission.name);
            return {
              result: denied.has(r.permission.name)
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
            };
          }),
        ) as any,
      }),
      auditor,
      catalog: catalogServiceMock({ entities: [] }),
      userInfo: mockServices.userInfo(),
      logger,
      allowDangerous: true,
      confirmations: {
        consume: async () => ({ ok: true }),
      } as unknown as ConfirmationStore,
      confirmationTtlMs: 60_000,
      namespaceOwners: NamespaceOwners.fromConfig(new ConfigReader({})),
      limits: {
        refusedQuestionsAuditedPerMinute: 30,
        questionsPerUserPerMinute: 60,
      },
    });
  });

  const run = () =>
    service.execute(
      {
        messageId: answer.id as string,
        confirm: true,
        typedConfirmation: 'web',
        confirmationToken: 'token',
      },
      caller,
    );

  it('refuses a run without kube-assistant.query with 403: nothing runs, and the refusal is audited and kept', async () => {
    denied.add('kube-assistant.query');
    await expect(run()).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: NO_QUERY,
    });
    expect(executeReporting).not.toHaveBeenCalled();
    // As the execute permission's refusal: an `execution` event that is a refusal from its start.
    expect(events).toHaveLength(1);
    expect(events[0].options).toMatchObject({
      eventId: 'execution',
      severityLevel: 'low',
      meta: {
        user: userRef,
        messageId: answer.id,
        command: 'kubectl get pods --context sim -n shop',
        safety: 'safe',
        outcome: 'refused',
        reason: NO_QUERY,
        stage: 'permission',
      },
    });
    expect(events[0].success).not.toHaveBeenCalled();
    expect(events[0].fail).toHaveBeenCalledWith(
      expect.objectContaining({ meta: { outcome: 'refused' } }),
    );
    expect(addExecution).toHaveBeenCalledWith({
      messageId: answer.id,
      record: expect.objectContaining({ status: 'refused', summary: NO_QUERY }),
    });
  });

  it('checks kube-assistant.query first, then kube-assistant.execute', async () => {
    denied.add('kube-assistant.query');
    denied.add('kube-assistant.execute');
    await expect(run()).rejects.toMatchObject({ message: NO_QUERY });
    denied.delete('kube-assistant.query');
    await expect(run()).rejects.toMatchObject({ message: NO_EXECUTE });
    expect(executeReporting).not.toHaveBeenCalled();
    expect(events.map(e => e.options.meta?.reason)).toEqual([
      NO_QUERY,
      NO_EXECUTE,
    ]);
    // With both, the answer runs.
    denied.clear();
    await expect(run()).resolves.toMatchObject({
      result: { type: 'text', text: 'ran' },
    });
    expect(executeReporting).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['kube-assistant.query', LIST, NO_QUERY],
    ['kube-assistant.execute', LIST, NO_EXECUTE],
    ['kube-assistant.execute.dangerous', DELETE, NO_DANGEROUS],
  ])(
    'answers a caller without %s 403, not 409, on an answer that has run runsPerAnswer times',
    async (permission, plan, reason) => {
      answer = answerOf(plan, 'kubectl the command');
      atTheLimit = true;
      denied.add(permission);
      await expect(run()).rejects.toMatchObject({
        name: 'NotAllowedError',
        message: reason,
      });
      expect(executeReporting).not.toHaveBeenCalled();
      // Audited as the permission's refusal, not the limit's; nothing added beyond the limit.
      expect(events).toHaveLength(1);
      expect(events[0].options.meta).toMatchObject({
        outcome: 'refused',
        reason,
        stage: 'permission',
      });
      expect(
        JSON.stringify([
          events[0].options.meta,
          events[0].fail.mock.calls[0][0].meta,
        ]),
      ).not.toContain('runsPerAnswer');
      expect(addExecution).not.toHaveBeenCalled();

      // The limit still holds for whoever may run it.
      denied.clear();
      await expect(run()).rejects.toMatchObject({
        name: 'ConflictError',
        message: AT_THE_LIMIT,
      });
      expect(executeReporting).not.toHaveBeenCalled();
    },
  );

  it('answers a caller without kube-assistant.query 403 for an answer without a command, not what it holds', async () => {
    answer = answerOf(undefined);
    denied.add('kube-assistant.query');
    await expect(run()).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: NO_QUERY,
    });
    expect(events).toHaveLength(1);
    expect(events[0].options.meta).toMatchObject({
      messageId: answer.id,
      outcome: 'refused',
      reason: NO_QUERY,
      stage: 'permission',
    });
    expect(addExecution).not.toHaveBeenCalled();
    denied.clear();
    await expect(run()).rejects.toMatchObject({
      name: 'InputError',
      message: 'That question has no command to run',
    });
  });

  it('checks no other permission before kube-assistant.query', async () => {
    denied.add('kube-assistant.query');
    await run().catch(() => undefined);
    expect(checked).toEqual(['kube-assistant.query']);
  });
});
