import {
  AuditorService,
  BackstageCredentials,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  AskRequest,
  AskResponse,
  CLUSTER_SCOPED_RESOURCES,
  ExecuteRequest,
  ExecuteResponse,
  ExecutionRequirements,
  ExecutionResult,
  Plan,
  SafetyAssessment,
  classifySafety,
  kubeAssistantExecuteDangerousPermission,
  kubeAssistantExecutePermission,
  kubeAssistantQueryPermission,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { EntityScope, resolveEntityScope } from '../context/entityContext';
import { ConversationStore } from '../database/ConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { NoPlanError, ProviderChain } from '../providers/ProviderChain';

export type AssistantServiceOptions = {
  chain: ProviderChain;
  store: ConversationStore;
  clusters: ClusterRegistry;
  executor: PlanExecutor;
  permissions: PermissionsService;
  auditor: AuditorService;
  catalog: CatalogService;
  logger: LoggerService;
  allowDangerous: boolean;
};

type Caller = {
  credentials: BackstageCredentials;
  userRef: string;
  request?: Request;
};

const NAMESPACE_LOOKUP_TIMEOUT_MS = 2000;

const SEVERITY = { safe: 'low', warning: 'medium', dangerous: 'high' } as const;

/** What a person types to confirm a dangerous plan. */
export function confirmationTarget(plan: Plan): string {
  return plan.name ?? plan.labelSelector ?? plan.namespace ?? plan.resource;
}

function summarize(result: ExecutionResult): string {
  switch (result.type) {
    case 'table':
      return `${result.totalRows} row${result.totalRows === 1 ? '' : 's'}`;
    case 'text':
      return `${result.text.split('\n').length} lines of text`;
    default:
      return result.text.slice(0, 500);
  }
}

/** Turns questions into plans and runs them, with audit and history. */
export class AssistantService {
  constructor(private readonly options: AssistantServiceOptions) {}

  private async allowed(
    permission:
      | typeof kubeAssistantQueryPermission
      | typeof kubeAssistantExecutePermission
      | typeof kubeAssistantExecuteDangerousPermission,
    credentials: BackstageCredentials,
  ): Promise<boolean> {
    const [decision] = await this.options.permissions.authorize(
      [{ permission }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  private async requirements(
    plan: Plan,
    safety: SafetyAssessment,
    credentials: BackstageCredentials,
  ): Promise<ExecutionRequirements> {
    const canExecute = await this.allowed(
      kubeAssistantExecutePermission,
      credentials,
    );
    if (safety.level === 'safe') {
      return {
        confirm: false,
        ...(canExecute
          ? {}
          : {
              blockedReason:
                'You are not allowed to run commands (kube-assistant.execute).',
            }),
      };
    }
    if (safety.level === 'warning') {
      return {
        confirm: true,
        ...(canExecute
          ? {}
          : {
              blockedReason:
                'You are not allowed to run commands (kube-assistant.execute).',
            }),
      };
    }
    let blockedReason: string | undefined;
    if (!this.options.allowDangerous) {
      blockedReason =
        'Dangerous commands are turned off in this Backstage (kubeAssistant.allowDangerous).';
    } else if (
      !canExecute ||
      !(await this.allowed(
        kubeAssistantExecuteDangerousPermission,
        credentials,
      ))
    ) {
      blockedReason =
        'You are not allowed to run dangerous commands (kube-assistant.execute.dangerous).';
    }
    return {
      confirm: true,
      typedConfirmation: confirmationTarget(plan),
      ...(blockedReason ? { blockedReason } : {}),
    };
  }

  /** Keeps a plan inside the entity's scope and on a configured cluster. */
  private scopePlan(plan: Plan, scope: EntityScope | undefined): Plan {
    const out: Plan = { ...plan };
    const cluster =
      plan.cluster ?? scope?.cluster ?? this.options.clusters.defaultName();
    if (cluster) out.cluster = cluster;
    if (
      scope?.namespace &&
      !out.namespace &&
      !out.allNamespaces &&
      !CLUSTER_SCOPED_RESOURCES.includes(out.resource)
    ) {
      out.namespace = scope.namespace;
    }
    return out;
  }

  /** Looks the namespace of a named resource up, giving up after a moment. */
  private async withNamespace(plan: Plan): Promise<Plan> {
    let kc;
    try {
      kc = this.options.clusters.kubeConfig(plan.cluster);
    } catch {
      return plan;
    }
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<Plan>(resolve => {
      timer = setTimeout(() => resolve(plan), NAMESPACE_LOOKUP_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        this.options.executor.resolveNamespace(plan, kc),
        giveUp,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks the caller may use the assistant at all. */
  async assertMayQuery(credentials: BackstageCredentials): Promise<void> {
    if (!(await this.allowed(kubeAssistantQueryPermission, credentials))) {
      throw new NotAllowedError(
        'You are not allowed to use the Kubernetes assistant',
      );
    }
  }

  async ask(input: AskRequest, caller: Caller): Promise<AskResponse> {
    const { credentials, userRef, request } = caller;
    const started = performance.now();
    const event = await this.options.auditor.createEvent({
      eventId: 'question',
      severityLevel: 'low',
      request,
      meta: {
        user: userRef,
        question: input.question,
        ...(input.entityRef ? { entityRef: input.entityRef } : {}),
      },
    });
    let audited = false;
    try {
      await this.assertMayQuery(credentials);
      const scope = input.entityRef
        ? await resolveEntityScope(
            this.options.catalog,
            input.entityRef,
            credentials,
          )
        : undefined;
      const conversationId = await this.options.store.ensureConversation({
        id: input.conversationId,
        userRef,
        title: input.question.slice(0, 120),
        entityRef: scope?.entityRef,
      });
      const clusters = this.options.clusters.names();
      const messageId = randomUUID();
      let result;
      try {
        result = await this.options.chain.plan(
          input.question,
          {
            clusters,
            cluster: scope?.cluster,
            namespace: scope?.namespace,
            labelSelector: scope?.labelSelector,
            entityRef: scope?.entityRef,
          },
          answer =>
            answer.plan.cluster && !clusters.includes(answer.plan.cluster)
              ? `unknown cluster "${answer.plan.cluster}"`
              : undefined,
        );
      } catch (error) {
        if (error instanceof NoPlanError) {
          await this.options.store.addMessage({
            id: messageId,
            conversationId,
            userRef,
            question: input.question,
            createdAt: new Date().toISOString(),
            error: 'The question could not be turned into a command.',
            executions: [],
          });
          audited = true;
          await event.fail({
            error,
            meta: {
              outcome: 'no-plan',
              attempts: error.attempts,
              latencyMs: Math.round(performance.now() - started),
            },
          });
          throw new InputError(
            'The assistant could not turn this question into a Kubernetes command. Try naming the resource and namespace, e.g. "which pods are crash looping in shop".',
          );
        }
        throw error;
      }
      const plan = await this.withNamespace(
        this.scopePlan(result.answer.plan, scope),
      );
      // Safety comes from the plan alone, never from the provider.
      const safety = classifySafety(plan);
      const command = renderKubectl(plan);
      const requirements = await this.requirements(plan, safety, credentials);
      const createdAt = new Date().toISOString();
      await this.options.store.addMessage({
        id: messageId,
        conversationId,
        userRef,
        question: input.question,
        createdAt,
        provider: result.provider,
        plan,
        command,
        explanation: result.answer.explanation,
        safety,
        requirements,
        executions: [],
      });
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      await event.success({
        meta: {
          outcome: 'planned',
          provider: result.provider,
          attempts: result.attempts,
          latencyMs,
          plan,
          command,
          safety: safety.level,
          messageId,
          conversationId,
        },
      });
      return {
        conversationId,
        messageId,
        question: input.question,
        provider: result.provider,
        plan,
        command,
        explanation: result.answer.explanation,
        safety,
        requirements,
        latencyMs,
      };
    } catch (error) {
      if (!audited) {
        await event.fail({ error: error as Error, meta: { outcome: 'error' } });
      }
      throw error;
    }
  }

  async execute(
    input: ExecuteRequest,
    caller: Caller,
  ): Promise<ExecuteResponse> {
    const { credentials, userRef, request } = caller;
    const message = await this.options.store.getMessage({
      id: input.messageId,
      userRef,
    });
    if (!message) {
      throw new NotFoundError(
        `No answer ${input.messageId} in your conversations`,
      );
    }
    if (!message.plan || !message.command) {
      throw new InputError('That question has no command to run');
    }
    const plan = message.plan;
    // Re-derive safety: what is stored is never trusted over the plan.
    const safety = classifySafety(plan);
    const started = performance.now();
    const event = await this.options.auditor.createEvent({
      eventId: 'execution',
      severityLevel: SEVERITY[safety.level],
      request,
      meta: {
        user: userRef,
        messageId: message.id,
        provider: message.provider ?? null,
        plan,
        command: message.command,
        safety: safety.level,
        cluster: plan.cluster ?? null,
      },
    });
    const refuse = async (error: Error) => {
      await this.options.store.addExecution({
        messageId: message.id,
        record: {
          status: 'refused',
          summary: error.message,
          at: new Date().toISOString(),
        },
      });
      await event.fail({ error, meta: { outcome: 'refused' } });
      throw error;
    };

    if (!(await this.allowed(kubeAssistantExecutePermission, credentials))) {
      return refuse(
        new NotAllowedError(
          'You are not allowed to run commands (kube-assistant.execute)',
        ),
      );
    }
    if (safety.level !== 'safe' && input.confirm !== true) {
      return refuse(
        new InputError(
          `This command is ${safety.level}: ${safety.reason} Confirm to run it.`,
        ),
      );
    }
    if (safety.level === 'dangerous') {
      if (!this.options.allowDangerous) {
        return refuse(
          new NotAllowedError(
            'Dangerous commands are turned off in this Backstage (kubeAssistant.allowDangerous)',
          ),
        );
      }
      if (
        !(await this.allowed(
          kubeAssistantExecuteDangerousPermission,
          credentials,
        ))
      ) {
        return refuse(
          new NotAllowedError(
            'You are not allowed to run dangerous commands (kube-assistant.execute.dangerous)',
          ),
        );
      }
      const target = confirmationTarget(plan);
      if (input.typedConfirmation !== target) {
        return refuse(
          new InputError(`Type "${target}" to confirm this dangerous command.`),
        );
      }
    }

    try {
      const kc = this.options.clusters.kubeConfig(plan.cluster);
      const result = await this.options.executor.execute(plan, kc);
      const latencyMs = Math.round(performance.now() - started);
      const summary = summarize(result);
      await this.options.store.addExecution({
        messageId: message.id,
        record: { status: 'succeeded', summary, at: new Date().toISOString() },
      });
      await event.success({
        meta: { outcome: 'succeeded', latencyMs, summary },
      });
      return {
        messageId: message.id,
        command: message.command,
        safety,
        result,
        latencyMs,
      };
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      await this.options.store.addExecution({
        messageId: message.id,
        record: {
          status: 'failed',
          summary: (error as Error).message,
          at: new Date().toISOString(),
        },
      });
      await event.fail({
        error: error as Error,
        meta: { outcome: 'failed', latencyMs },
      });
      throw error;
    }
  }
}
