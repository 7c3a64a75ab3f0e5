import {
  AuditorService,
  AuditorServiceCreateEventOptions,
  AuditorServiceEvent,
  BackstageCredentials,
  LoggerService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  AskRequest,
  AskResponse,
  CLUSTER_SCOPED_RESOURCES,
  describeScope,
  ExecuteRequest,
  ExecuteResponse,
  ExecutionRecord,
  ExecutionRequirements,
  ExecutionResult,
  inSeveralNamespaces,
  NAMESPACE_UNKNOWN,
  Plan,
  scopedPlanSchema,
  SafetyAssessment,
  SafetyLevel,
  classifySafety,
  kubeAssistantClusterWidePermission,
  kubeAssistantExecuteDangerousPermission,
  kubeAssistantExecutePermission,
  kubeAssistantQueryPermission,
  MAX_QUESTION_LENGTH,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import {
  checkRelayingPlugin,
  RefusalWindow,
  RelayingPluginsPolicy,
  relayingPluginOf,
  withDeadline,
} from '@kubechart/plugin-audit-log-common';
import { Request } from 'express';
import { randomUUID } from 'node:crypto';
import {
  EntityScope,
  KUBERNETES_NAMESPACE_ANNOTATION,
  resolveEntityScope,
} from '../context/entityContext';
import { NamespaceOwners } from '../context/namespaceOwners';
import {
  ConversationStore,
  NotReportedRun,
  StoredMessage,
} from '../database/ConversationStore';
import { ClusterRegistry } from '../execution/clusters';
import {
  NamespaceLookUp,
  PlanExecutor,
  clusterStatusOf,
  isChange,
  refusedByExecutor,
  stoppedBeforeSent,
} from '../execution/PlanExecutor';
import { ConfirmationStore } from '../database/ConfirmationStore';
import { ClusterNames } from '../execution/ClusterNames';
import { newPlanSalt, planHash } from '../execution/planHash';
import { ChangedObjects, progressOf } from '../execution/changeProgress';
import { guardedTargetsOf } from '../execution/guardedTargets';
import {
  ImpersonationPrefixes,
  impersonatedUser,
} from '../execution/impersonation';
import { ProtectedTargets } from '../execution/protectedTargets';
import { patchProblem } from '../execution/requests';
import { namespaceExists } from '../execution/namespaces';
import {
  NoPlanError,
  PlanRefusedError,
  ProviderChain,
} from '../providers/ProviderChain';
import { candidateNames } from '../providers/builtin/BuiltinProvider';
// Every change a plan can name, those the executor never runs (drain, exec, apply) included.
import {
  intent,
  isChange as namesAChange,
} from '../providers/builtin/conditions';
import { refusalOfChangeNotAsked } from '../providers/builtin/parseQuestion';
import { RunCancelledError, RunTime, cancelledWhen } from './runTime';
import {
  hiddenPlanValues,
  redactPlan,
  scrubText,
  withoutValues,
} from '../redaction/redact';
import {
  screenQuestion,
  withoutSecretValues,
} from '../screening/screenQuestion';
import {
  DEFAULT_QUESTION_LIMITS,
  QuestionLimits,
  QuestionRate,
  TooManyRequestsError,
} from './questionLimits';
import { DEFAULT_RELAYING_POLICY } from './relayingPlugins';

export type AssistantServiceOptions = {
  chain: ProviderChain;
  store: ConversationStore;
  clusters: ClusterRegistry;
  executor: PlanExecutor;
  permissions: PermissionsService;
  auditor: AuditorService;
  catalog: CatalogService;
  /** The caller's ownership refs (user and groups): whose entities they may work in. */
  userInfo: UserInfoService;
  logger: LoggerService;
  allowDangerous: boolean;
  confirmations: ConfirmationStore;
  /** How long a confirmation token stays valid. */
  confirmationTtlMs: number;
  names?: ClusterNames;
  /**
   * How long the builtin parser waits for the cluster's names before it plans without them
   * (`kubeAssistant.nameLookupTimeoutMs`). Default: `DEFAULT_NAME_LOOKUP_TIMEOUT_MS`.
   */
  nameLookupTimeoutMs?: number;
  /** Send every cluster request as the signed-in user (`kubeAssistant.impersonation`). */
  impersonation?: boolean;
  /** Prefixes of Kubernetes user names per catalog namespace (`kubeAssistant.impersonationUserPrefixes`). */
  impersonationUserPrefixes?: ImpersonationPrefixes;
  /** Told how each question ended (operations metrics). */
  onQuestion?: (answered: QuestionOutcome) => void;
  /** Namespaces KubeChart protects with approvals: the assistant does not change them. */
  protectedTargets?: ProtectedTargets;
  /** Which namespaces the platform assigned to which owner: an entity's namespace is its scope only then. */
  namespaceOwners: NamespaceOwners;
  /**
   * `kubeAssistant.limits`: questions a user may ask a minute, and refusals of a caller the audit
   * trail records one by one a minute (the rest are counted). Default: `DEFAULT_QUESTION_LIMITS`.
   */
  limits?: QuestionLimits;
  /**
   * `kubeAssistant.onBehalfOf.relayingPlugins`: a user's credentials passed on by any other plugin
   * are refused (403). Default: `DEFAULT_RELAYING_POLICY`.
   */
  relaying?: RelayingPluginsPolicy;
};

/** How a question ended: planned (with the plan's safety class), refused, no plan, or an error. */
export type QuestionOutcome = {
  outcome: 'planned' | 'refused' | 'no-plan' | 'not-allowed' | 'error';
  safety: SafetyLevel | 'none';
};

/**
 * How the saving of a run's record ended: saved, failed, or not ended within the run's time and
 * its grace (it goes on).
 */
type RecordSaved = 'saved' | 'failed' | 'late';

type Caller = {
  credentials: BackstageCredentials;
  userRef: string;
  request?: Request;
  /**
   * Aborted when the client went away before its answer was sent (`POST /execute`): a read it asked
   * for is given up, and recorded as cancelled.
   */
  closed?: AbortSignal;
};

/** A question refused before anything is looked up or planned: why, at which check, and its metric. */
type EarlyRefusal = {
  error: Error;
  stage: string;
  outcome: QuestionOutcome['outcome'];
};

const NAMESPACE_LOOKUP_TIMEOUT_MS = 2000;
/**
 * How long a question waits for the cluster's names when `kubeAssistant.nameLookupTimeoutMs` is not
 * set. Inside the builtin provider's own time budget (1 s by default); the listing goes on in the
 * background and serves the next questions from its cache.
 */
export const DEFAULT_NAME_LOOKUP_TIMEOUT_MS = 400;

const SEVERITY = { safe: 'low', warning: 'medium', dangerous: 'high' } as const;

/**
 * Audit event options that also carry the caller's credentials. A question asked through the
 * actions registry (an MCP tool) comes with no HTTP request, so an auditor would otherwise record
 * the plugin as the actor; KubeChart's auditor (`AuditLogCreateEventOptions` of
 * `@kubechart/plugin-audit-log-node`) records the caller of these credentials instead. Backstage's
 * default auditor ignores them (the event's `meta.user` names the caller either way).
 */
function auditedFor(
  options: AuditorServiceCreateEventOptions,
  credentials: BackstageCredentials,
): AuditorServiceCreateEventOptions {
  // A user's credentials another plugin passed on (an agent through the MCP actions backend, the
  // scaffolder) name that plugin in every event, so the trail tells its questions and runs from
  // what the person did in the portal.
  const relayedBy = relayingPluginOf(credentials);
  const withCredentials: AuditorServiceCreateEventOptions & {
    credentials: BackstageCredentials;
  } = {
    ...options,
    ...(relayedBy ? { meta: { ...options.meta, relayedBy } } : {}),
    credentials,
  };
  return withCredentials;
}

/** The runs recorded as not reported that one `runs-not-reported` audit event names (the rest counted). */
const MAX_NOT_REPORTED_AUDITED = 50;

/** What a person types to confirm a dangerous plan. */
export function confirmationTarget(plan: Plan): string {
  return plan.name ?? plan.labelSelector ?? plan.namespace ?? plan.resource;
}

/**
 * The word (run of non-space characters) of `text` holding its first `***`: what the pattern
 * `\S*\*\*\*\S*` matches, in linear time (the pattern tries every start of a long word).
 */
function hiddenWord(text: string): string {
  const at = text.indexOf('***');
  if (at === -1) return '***';
  let start = at;
  while (start > 0 && !/\s/.test(text[start - 1])) start--;
  let end = at + 3;
  while (end < text.length && !/\s/.test(text[end])) end++;
  return text.slice(start, end);
}

function notAllowedToQuery(): NotAllowedError {
  return new NotAllowedError(
    'You are not allowed to use the Kubernetes assistant',
  );
}

function summarize(result: ExecutionResult): string {
  switch (result.type) {
    case 'table':
      return `${result.totalRows} row${result.totalRows === 1 ? '' : 's'}`;
    case 'text':
      return `${result.text.split('\n').length} lines of text`;
    case 'diagnosis':
      return result.answer.slice(0, 500);
    default:
      return result.text.slice(0, 500);
  }
}

/**
 * The plan and command as the audit trail records them: the trail redacts by key name only, so a
 * secret-looking key=value in a patch, label or annotation is hidden here (the plan that runs, and
 * its hash, are the real one).
 */
function forTheTrail(
  plan: Plan,
  command: string,
): { plan: Plan; command: string } {
  const shown = redactPlan(plan);
  return JSON.stringify(shown) === JSON.stringify(plan)
    ? { plan, command }
    : { plan: shown, command: renderKubectl(shown) };
}

/**
 * A stored answer as the browser is shown it: plan and command as the trail records them, and the
 * model's explanation without the values they hide (it may name them in words, "sets it to
 * hunter22") nor secret-looking pairs. The stored plan stays the real one: it is what runs once
 * confirmed, and what its hash is checked against.
 */
export function forTheBrowser<
  T extends { plan?: Plan; command?: string; explanation?: string },
>(message: T): T {
  if (!message.plan || !message.command) {
    return message.explanation === undefined
      ? message
      : { ...message, explanation: scrubText(message.explanation) };
  }
  const shown = forTheTrail(message.plan, message.command);
  return {
    ...message,
    plan: shown.plan,
    command: shown.command,
    ...(message.explanation === undefined
      ? {}
      : {
          explanation: withoutValues(
            message.explanation,
            hiddenPlanValues(message.plan, shown.plan),
          ),
        }),
  };
}

const CONFIRMATION_PROBLEMS: Record<string, string> = {
  unknown:
    'This confirmation does not belong to the plan that was shown to you; ask again.',
  used: 'This confirmation was already used: each shown plan runs at most once. Ask again to run it again.',
  expired: 'This confirmation has expired; ask again to see the plan again.',
  altered:
    'The plan changed since it was shown; this confirmation is for the plan that was shown. Ask again.',
};

/** Turns questions into plans and runs them, with audit and history. */
export class AssistantService {
  readonly #limits: QuestionLimits;
  readonly #questionRate: QuestionRate;
  /**
   * Refusals before anything is looked up or planned (no `kube-assistant.query`, too many questions,
   * a run of an answer that is not the caller's): one by one up to the limit a minute, then counted,
   * so no caller grows the audit trail at will with requests bound to be refused.
   */
  readonly #refusals: RefusalWindow;

  constructor(private readonly options: AssistantServiceOptions) {
    this.#limits = options.limits ?? DEFAULT_QUESTION_LIMITS;
    this.#questionRate = new QuestionRate(
      this.#limits.questionsPerUserPerMinute,
    );
    this.#refusals = new RefusalWindow(
      this.#limits.refusedQuestionsAuditedPerMinute,
      (userRef, count, since) => this.recordUnrecorded(userRef, count, since),
    );
  }

  /**
   * Records now the refusals only counted so far (call on shutdown); otherwise each caller's count is
   * recorded when its minute ends.
   */
  async flushRefusals(): Promise<void> {
    await this.#refusals.flush();
  }

  /** The refusals of a caller that were only counted, when no later refusal of theirs carried the count. */
  private async recordUnrecorded(
    userRef: string,
    count: number,
    since: Date,
  ): Promise<void> {
    const message = `${count} refused requests of ${userRef} since ${since.toISOString()} were not recorded one by one (kubeAssistant.limits.refusedQuestionsAuditedPerMinute: ${
      this.#limits.refusedQuestionsAuditedPerMinute
    })`;
    try {
      const event = await this.options.auditor.createEvent({
        eventId: 'refusals-not-recorded',
        severityLevel: 'medium',
        meta: {
          user: userRef,
          outcome: 'refused',
          refusedNotRecorded: count,
          since: since.toISOString(),
        },
      });
      await event.fail({ error: new Error(message) });
    } catch (error) {
      this.options.logger.error(
        `Could not record that ${message}: ${(error as Error).message}`,
      );
    }
  }

  private async allowed(
    permission:
      | typeof kubeAssistantQueryPermission
      | typeof kubeAssistantExecutePermission
      | typeof kubeAssistantExecuteDangerousPermission
      | typeof kubeAssistantClusterWidePermission,
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
    // A change to a namespace KubeChart protects with approvals is refused at /execute however
    // confirmed: the plan says so when shown (an agent planning through the action sees only this).
    const protectedBy = this.options.protectedTargets?.refusal(
      plan,
      plan.cluster ?? this.options.clusters.defaultName(),
    );
    if (safety.level === 'warning') {
      const blockedReason = !canExecute
        ? 'You are not allowed to run commands (kube-assistant.execute).'
        : protectedBy;
      return {
        confirm: true,
        ...(blockedReason ? { blockedReason } : {}),
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
    } else {
      blockedReason = protectedBy;
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

  /**
   * What the plan reaches is shown: a namespaced plan over several objects
   * with no namespace runs in all namespaces, so it says so (and is
   * classified that way).
   */
  private explicitScope(plan: Plan): Plan {
    if (
      !CLUSTER_SCOPED_RESOURCES.includes(plan.resource) &&
      !plan.name &&
      !plan.namespace &&
      !plan.allNamespaces
    ) {
      return { ...plan, allNamespaces: true };
    }
    return plan;
  }

  /**
   * Without `kube-assistant.cluster-wide` a user works only inside an entity
   * they (or one of their groups) own, in that entity's namespace: reading
   * an entity in the catalog is not owning what runs for it. The namespace
   * annotation is written by whoever registers the entity, so it counts only
   * when the platform assigned that namespace (on the entity's cluster) to
   * the entity's owner. Returns why the caller has no such scope, or
   * undefined when they have one.
   */
  private async missingEntityScope(
    scope: EntityScope | undefined,
    credentials: BackstageCredentials,
  ): Promise<string | undefined> {
    const need = 'without the kube-assistant.cluster-wide permission';
    if (!scope) {
      return "Without the kube-assistant.cluster-wide permission the assistant works only inside a catalog entity you or your team own: ask from the assistant card on that entity's page.";
    }
    const { ownershipEntityRefs } = await this.options.userInfo.getUserInfo(
      credentials,
    );
    if (!scope.owner || !ownershipEntityRefs.includes(scope.owner)) {
      return `${scope.entityRef} is owned by ${
        scope.owner ?? 'nobody in the catalog'
      }, not by you or your groups: ${need} the assistant works only inside entities you own.`;
    }
    if (!scope.namespace) {
      return `${scope.entityRef} has no ${KUBERNETES_NAMESPACE_ANNOTATION} annotation, so it has no namespace of its own: ${need} the assistant works only in the namespace of an entity you own.`;
    }
    const cluster = scope.cluster ?? this.options.clusters.defaultName();
    if (!cluster) {
      return `No Kubernetes cluster is configured (kubernetes.clusterLocatorMethods), so the namespace of ${scope.entityRef} cannot be checked.`;
    }
    // Read with the assistant's own identity: whether the namespace is the
    // owner's does not depend on what the user may see.
    return this.options.namespaceOwners.refusal(
      {
        entityRef: scope.entityRef,
        owner: scope.owner,
        cluster,
        namespace: scope.namespace,
      },
      () => this.options.clusters.kubeConfig(cluster),
    );
  }

  /**
   * Without `kube-assistant.cluster-wide` a plan stays in its entity's
   * namespace, on the entity's cluster (the default cluster when the entity
   * names none). Returns why a plan is outside.
   */
  private outsideEntity(plan: Plan, scope: EntityScope): string | undefined {
    const cluster = scope.cluster ?? this.options.clusters.defaultName();
    const inside =
      !!scope.namespace &&
      !CLUSTER_SCOPED_RESOURCES.includes(plan.resource) &&
      !plan.allNamespaces &&
      plan.namespace === scope.namespace &&
      !!cluster &&
      plan.cluster === cluster;
    if (inside) return undefined;
    return `Asked from ${
      scope.entityRef
    }, the assistant works only in namespace ${scope.namespace}${
      cluster ? ` on cluster ${cluster}` : ''
    }; this plan reaches ${describeScope(plan)}${
      plan.cluster && plan.cluster !== cluster
        ? ` on cluster ${plan.cluster}`
        : ''
    }. Reaching further needs the kube-assistant.cluster-wide permission.`;
  }

  /**
   * The scope is checked again when a plan runs: the user may have lost
   * `kube-assistant.cluster-wide` or the entity since it was planned.
   */
  private async scopeRefusalAtRun(
    plan: Plan,
    entityRef: string | undefined,
    credentials: BackstageCredentials,
  ): Promise<string | undefined> {
    if (await this.allowed(kubeAssistantClusterWidePermission, credentials)) {
      return undefined;
    }
    let scope: EntityScope | undefined;
    if (entityRef) {
      try {
        scope = await resolveEntityScope(
          this.options.catalog,
          entityRef,
          credentials,
        );
      } catch {
        return `${entityRef} cannot be read in the catalog any more: without the kube-assistant.cluster-wide permission the assistant works only inside entities you own.`;
      }
    }
    return (
      (await this.missingEntityScope(scope, credentials)) ??
      this.outsideEntity(plan, scope!)
    );
  }

  /**
   * Why the caller cannot be impersonated (impersonation on and no
   * Kubernetes user name of their own), or undefined.
   */
  private impersonationRefusal(userRef: string): string | undefined {
    if (!this.options.impersonation) return undefined;
    return impersonatedUser(userRef, this.options.impersonationUserPrefixes)
      .refusal;
  }

  /**
   * The client configuration for a cluster: with impersonation on, requests
   * carry `Impersonate-User` with the user's Kubernetes name (see
   * `impersonatedUser`) so the cluster's RBAC applies to the person asking.
   */
  private kubeConfigFor(cluster: string | undefined, userRef: string) {
    if (!this.options.impersonation) {
      return this.options.clusters.kubeConfig(cluster);
    }
    const as = impersonatedUser(
      userRef,
      this.options.impersonationUserPrefixes,
    );
    if (as.refusal !== undefined) throw new NotAllowedError(as.refusal);
    return this.options.clusters.kubeConfig(cluster, {
      impersonateUser: as.user,
    });
  }

  /**
   * The objects of the cluster some words of a question name, for the builtin parser. `within` is
   * the caller's scope: the whole cluster (`'cluster'`, with `kube-assistant.cluster-wide`) or their
   * entity's namespace, the only one then read and known (no nodes, no other namespace's objects),
   * so that what another tenant has never shapes an answer; no namespace, no names.
   */
  private async lookupNames(
    cluster: string | undefined,
    words: string[],
    userRef: string,
    within: 'cluster' | { namespace?: string },
  ) {
    const names = this.options.names;
    if (!names || words.length === 0) return [];
    if (within !== 'cluster' && !within.namespace) return [];
    let kc;
    try {
      kc = this.kubeConfigFor(cluster, userRef);
    } catch {
      return [];
    }
    return withDeadline(
      names
        .lookup(
          // The names a user may see depend on who asks when impersonating.
          this.options.impersonation
            ? `${cluster ?? 'default'}\u0000${userRef}`
            : cluster ?? 'default',
          kc,
          words,
          within === 'cluster' ? undefined : { namespace: within.namespace! },
        )
        .catch(() => []),
      this.options.nameLookupTimeoutMs ?? DEFAULT_NAME_LOOKUP_TIMEOUT_MS,
      () => [],
    );
  }

  /**
   * Looks the namespace of a named resource up, giving up after a moment;
   * says which namespaces have it when there are several.
   */
  private async withNamespace(
    plan: Plan,
    userRef: string,
  ): Promise<NamespaceLookUp> {
    let kc;
    try {
      kc = this.kubeConfigFor(plan.cluster, userRef);
    } catch {
      return { plan };
    }
    return withDeadline(
      this.options.executor.lookUpNamespace(plan, kc),
      NAMESPACE_LOOKUP_TIMEOUT_MS,
      () => ({ plan }),
    );
  }

  /**
   * The refusal of a plan in a namespace the cluster answers it does not have (404 to the caller's
   * identity, as the run would be sent), saying so; undefined when it has it, and when that cannot
   * be told (the identity may not read namespaces, the cluster does not answer in time): the plan
   * is then taken as it is, never guessed at.
   */
  private async missingNamespace(
    plan: Plan,
    userRef: string,
  ): Promise<string | undefined> {
    const namespace = plan.namespace;
    if (
      !namespace ||
      plan.allNamespaces ||
      CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
    ) {
      return undefined;
    }
    let kc;
    try {
      kc = this.kubeConfigFor(plan.cluster, userRef);
    } catch {
      return undefined;
    }
    const exists = await withDeadline(
      namespaceExists(kc, namespace),
      NAMESPACE_LOOKUP_TIMEOUT_MS,
      () => undefined,
    );
    if (exists !== false) return undefined;
    return `I understood that you want to ${intent(plan)}${
      plan.name ? ` named ${plan.name}` : ''
    } in namespace "${namespace}", but the cluster${
      plan.cluster ? ` ${plan.cluster}` : ''
    } has no namespace "${namespace}", so there is nothing there to ${
      namesAChange(plan) ? 'change' : 'show'
    }. Name a namespace the cluster has. Nothing was planned.`;
  }

  /**
   * A user's credentials passed on by a plugin not in `kubeAssistant.onBehalfOf.relayingPlugins`:
   * the refusal (403, naming the plugin and the setting); undefined when they may be used.
   */
  private relayRefusal(
    credentials: BackstageCredentials,
  ): NotAllowedError | undefined {
    try {
      checkRelayingPlugin(
        credentials,
        this.options.relaying ?? DEFAULT_RELAYING_POLICY,
      );
      return undefined;
    } catch (error) {
      if (error instanceof NotAllowedError) return error;
      throw error;
    }
  }

  /**
   * Checks the caller may use the assistant at all: credentials passed on only by a plugin allowed
   * to, and `kube-assistant.query`.
   */
  async assertMayQuery(credentials: BackstageCredentials): Promise<void> {
    const relayRefused = this.relayRefusal(credentials);
    if (relayRefused) throw relayRefused;
    if (!(await this.allowed(kubeAssistantQueryPermission, credentials))) {
      throw notAllowedToQuery();
    }
  }

  /**
   * A question refused before anything is looked up or planned (no `kube-assistant.query`, too many
   * questions): a `question` event failed as `refused` with its `reason` and `stage`, holding the
   * question screened for secret values and the entity asked about as `requestedEntityRef`; within
   * the caller's refusals recorded one by one a minute (the rest are counted, with no event and none
   * of their text). Returns the error to answer with.
   */
  private async refuseBeforeAsking(
    input: { question: string; entityRef?: string },
    caller: Caller,
    early: EarlyRefusal,
    started: number,
  ): Promise<Error> {
    const notRecorded = this.#refusals.take(caller.userRef);
    try {
      if (notRecorded === undefined) return early.error;
      const event = await this.options.auditor.createEvent(
        auditedFor(
          {
            eventId: 'question',
            severityLevel: 'low',
            request: caller.request,
            meta: {
              user: caller.userRef,
              // As long as a question may be (a value replaced by `***` may make it longer).
              question: withoutSecretValues(input.question).slice(
                0,
                MAX_QUESTION_LENGTH,
              ),
              ...(input.entityRef
                ? { requestedEntityRef: input.entityRef }
                : {}),
            },
          },
          caller.credentials,
        ),
      );
      const relayedBy = relayingPluginOf(caller.credentials);
      await event.fail({
        error: early.error,
        meta: {
          outcome: 'refused',
          reason: early.error.message,
          stage: early.stage,
          ...(relayedBy ? { relayedBy } : {}),
          latencyMs: Math.round(performance.now() - started),
          // The caller's refusals before this one that were only counted.
          ...(notRecorded ? { refusedNotRecorded: notRecorded } : {}),
        },
      });
      return early.error;
    } finally {
      this.options.onQuestion?.({ outcome: early.outcome, safety: 'none' });
    }
  }

  /**
   * Records a call of the `plan-question` action that Backstage's actions registry refused before
   * the action ran (it answers 404, "not found", to a caller without the action's visibility
   * permission, `kube-assistant.query`, so that the action stays hidden): as `/ask` records a
   * question without that permission, within the same refusals of the caller recorded one by one a
   * minute. Nothing is recorded when the caller may ask after all (the 404 had another cause: the
   * action is not offered by `backend.actions` configuration) or when that cannot be told.
   */
  async recordRefusedAction(
    input: { question: string; entityRef?: string },
    caller: Caller,
  ): Promise<void> {
    const started = performance.now();
    const mayQuery = await this.allowed(
      kubeAssistantQueryPermission,
      caller.credentials,
    ).catch(error => {
      this.options.logger.warn(
        `Could not tell whether the refused plan-question action call of ${
          caller.userRef
        } was refused for want of kube-assistant.query; not recorded: ${
          (error as Error).message
        }`,
      );
      return true;
    });
    if (mayQuery) return;
    await this.refuseBeforeAsking(
      input,
      caller,
      {
        error: notAllowedToQuery(),
        stage: 'permission',
        outcome: 'not-allowed',
      },
      started,
    );
  }

  async ask(input: AskRequest, caller: Caller): Promise<AskResponse> {
    const { credentials, userRef, request } = caller;
    const started = performance.now();
    // Credentials passed on by a plugin that may not act as the user: refused before anything else
    // (`stage: "relay"`), recorded as the other refusals before asking are.
    const relayRefused = this.relayRefusal(credentials);
    if (relayRefused) {
      throw await this.refuseBeforeAsking(
        input,
        caller,
        { error: relayRefused, stage: 'relay', outcome: 'not-allowed' },
        started,
      );
    }
    // The plain permission first: for whoever may not ask, nothing is looked up or planned. Their
    // question is still recorded below (screened for secrets, in linear time), refused.
    let permissionError: unknown;
    const mayQuery = await this.allowed(
      kubeAssistantQueryPermission,
      credentials,
    ).catch(e => {
      permissionError = e;
      return false;
    });
    // Bounded per caller before anything is looked up or planned (`kubeAssistant.limits`): who may
    // not ask is answered 403 every time, who asked too often 429; the audit trail records such
    // refusals one by one up to the limit a minute, and counts the rest (no event, no question text).
    let early: EarlyRefusal | undefined;
    if (!permissionError && !mayQuery) {
      early = {
        error: notAllowedToQuery(),
        stage: 'permission',
        outcome: 'not-allowed',
      };
    } else if (!permissionError) {
      const tooMany = this.#questionRate.take(userRef);
      if (tooMany)
        early = { error: tooMany, stage: 'rate-limit', outcome: 'refused' };
    }
    if (early)
      throw await this.refuseBeforeAsking(input, caller, early, started);
    // A secret typed into a question is refused before the question is kept anywhere: the audit
    // event records the question with the value replaced, and no conversation or message is stored.
    const recorded = withoutSecretValues(input.question);
    // The event names (as its target) only an entity the caller may read: anyone else's entityRef
    // is kept as `requestedEntityRef`, so nobody adds events to an entity's history by naming it.
    let scope: EntityScope | undefined;
    let scopeError: unknown;
    if (mayQuery && recorded === input.question && input.entityRef) {
      scope = await resolveEntityScope(
        this.options.catalog,
        input.entityRef,
        credentials,
      ).catch(e => {
        scopeError = e;
        return undefined;
      });
    }
    const entity: Record<string, string> = {};
    if (scope) entity.entityRef = scope.entityRef;
    else if (input.entityRef) entity.requestedEntityRef = input.entityRef;
    const event = await this.options.auditor.createEvent(
      auditedFor(
        {
          eventId: 'question',
          severityLevel: 'low',
          request,
          meta: {
            user: userRef,
            // As long as a question may be (a value replaced by `***` may make it longer).
            question: recorded.slice(0, MAX_QUESTION_LENGTH),
            ...entity,
          },
        },
        credentials,
      ),
    );
    let audited = false;
    const answered: QuestionOutcome = { outcome: 'error', safety: 'none' };
    try {
      if (permissionError) throw permissionError;
      // Refused before anything is kept (no conversation yet): audited as refused, with its reason
      // and `stage`, the check that refused it.
      const refuseEarly = async (
        error: Error,
        stage: string,
        outcome: QuestionOutcome['outcome'],
      ) => {
        audited = true;
        answered.outcome = outcome;
        await event.fail({
          error,
          meta: {
            outcome: 'refused',
            reason: error.message,
            stage,
            latencyMs: Math.round(performance.now() - started),
          },
        });
        return error;
      };
      if (recorded !== input.question) {
        const reason = `This question holds a secret value (${hiddenWord(
          recorded,
        )}): the assistant does not set or read secrets, and would keep the value in its history and the audit trail. Nothing was kept; set secrets through your secret store, and ask without the value.`;
        throw await refuseEarly(new InputError(reason), 'screening', 'refused');
      }
      // The entity could not be read (invalid, missing or hidden from the caller): refused. The
      // catalog failing to answer is an error.
      if (
        scopeError instanceof InputError ||
        scopeError instanceof NotFoundError
      ) {
        throw await refuseEarly(scopeError, 'entity', 'refused');
      }
      if (scopeError) throw scopeError;
      // A conversation holding `kubeAssistant.limits.messagesPerConversation` questions takes no
      // more (409), before any provider is asked: refused, with `stage: "conversation"`.
      const conversationId = await this.options.store
        .ensureConversation({
          id: input.conversationId,
          userRef,
          title: input.question.slice(0, 120),
          entityRef: scope?.entityRef,
        })
        .catch(async error => {
          if (!(error instanceof ConflictError)) throw error;
          throw await refuseEarly(error, 'conversation', 'refused');
        });
      const clusters = this.options.clusters.names();
      const messageId = randomUUID();
      // A question answered without a plan is audited first, then kept in its conversation, each on
      // its own (as the run of a plan is): a store that is down does not turn the refusal into
      // another error, nor leave it unaudited.
      const answerRefused = async (
        audit: () => Promise<void>,
        shownError: string,
      ) => {
        await this.completeEvent(`question ${messageId}`, audit);
        await this.saved(`the refused question ${messageId}`, () =>
          this.options.store.addMessage({
            id: messageId,
            conversationId,
            userRef,
            question: input.question,
            createdAt: new Date().toISOString(),
            error: shownError,
            executions: [],
          }),
        );
      };
      const refuse = async (
        reason: string,
        meta: Record<string, unknown>,
        ErrorType: typeof InputError | typeof NotAllowedError = InputError,
      ) => {
        audited = true;
        answered.outcome = 'refused';
        const error = new ErrorType(reason);
        await answerRefused(
          () =>
            event.fail({
              error,
              meta: {
                outcome: 'refused',
                reason,
                latencyMs: Math.round(performance.now() - started),
                ...meta,
              },
            }),
          reason,
        );
        return error;
      };
      // More than one command, or instructions to a model: refused before
      // any provider sees it, so no provider can pick one of them.
      const screening = screenQuestion(input.question);
      if (screening.refusal) {
        throw await refuse(screening.refusal, { stage: 'screening' });
      }
      // Fail closed: a user with no Kubernetes user name of their own is
      // not run as someone else's.
      const noIdentity = this.impersonationRefusal(userRef);
      if (noIdentity) {
        throw await refuse(
          noIdentity,
          { stage: 'impersonation' },
          NotAllowedError,
        );
      }
      // Fail closed before any provider or cluster look-up: without
      // cluster-wide rights the plan must stay in an entity the caller owns.
      const clusterWide = await this.allowed(
        kubeAssistantClusterWidePermission,
        credentials,
      );
      const noScope = clusterWide
        ? undefined
        : await this.missingEntityScope(scope, credentials);
      if (noScope) {
        throw await refuse(noScope, { stage: 'entity-scope' }, NotAllowedError);
      }
      const lookupCluster =
        scope?.cluster ?? this.options.clusters.defaultName();
      // Without cluster-wide, only the names of the entity's namespace: other tenants'
      // objects, labels, namespaces and the nodes neither shape nor appear in the answer. Looked
      // up once per question for the same words (the builtin parser and the check below).
      const lookedUp = new Map<
        string,
        ReturnType<AssistantService['lookupNames']>
      >();
      const lookupNames = (words: string[]) => {
        const key = words.join('\u0000');
        let names = lookedUp.get(key);
        if (!names) {
          names = this.lookupNames(
            lookupCluster,
            words,
            userRef,
            clusterWide ? 'cluster' : { namespace: scope?.namespace },
          );
          lookedUp.set(key, names);
        }
        return names;
      };
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
            lookupNames,
          },
          async answer => {
            if (
              answer.plan.cluster &&
              !clusters.includes(answer.plan.cluster)
            ) {
              return `unknown cluster "${answer.plan.cluster}"`;
            }
            // A change the question names without asking for it ("was deployment web scaled to
            // 0?", "should I delete …") or asks for only under a condition ("… if needed") is
            // refused whichever provider planned it, in the builtin parser's words: a model
            // planned the change itself, and one confirmation made it. Refused for good, as the
            // builtin parser refuses it, rather than left to the next provider.
            // A read is taken as it is: the cluster's names are looked up for a change only.
            if (!namesAChange(answer.plan)) return undefined;
            const refusal = refusalOfChangeNotAsked(
              input.question,
              answer.plan,
              {
                namespace: scope?.namespace,
                labelSelector: scope?.labelSelector,
                known: await lookupNames(candidateNames(input.question)),
              },
            );
            if (refusal) throw refusal;
            return undefined;
          },
        );
      } catch (error) {
        if (error instanceof PlanRefusedError) {
          throw await refuse(error.message, {
            stage: 'provider',
            attempts: error.attempts,
          });
        }
        if (error instanceof NoPlanError) {
          answered.outcome = 'no-plan';
          audited = true;
          await answerRefused(
            () =>
              event.fail({
                error,
                meta: {
                  outcome: 'no-plan',
                  attempts: error.attempts,
                  latencyMs: Math.round(performance.now() - started),
                },
              }),
            'The question could not be turned into a command.',
          );
          throw new InputError(
            'The assistant could not turn this question into a Kubernetes command. Try naming the resource and namespace, e.g. "which pods are crash looping in shop".',
          );
        }
        throw error;
      }
      const lookUp = await this.withNamespace(
        this.scopePlan(result.answer.plan, scope),
        userRef,
      );
      const plan = this.explicitScope(lookUp.plan);
      const outside =
        clusterWide || !scope ? undefined : this.outsideEntity(plan, scope);
      if (outside) {
        throw await refuse(
          outside,
          { stage: 'entity-scope', plan: redactPlan(plan) },
          NotAllowedError,
        );
      }
      // Checked again once scoped: the scope filled in may make a plan one that kubectl would not
      // run as shown (logs without a namespace would be `kubectl logs … -A`), and a named object
      // (or logs, a rollout) whose namespace is still unknown would be shown reading the
      // kubeconfig's default namespace while the executor looked in every namespace.
      const scoped = scopedPlanSchema.safeParse(plan);
      if (!scoped.success) {
        // An object in several namespaces is said to be there, with them, not to be nowhere.
        const several = lookUp.severalNamespaces;
        throw await refuse(
          `This plan cannot run as shown: ${scoped.error.issues
            .map(issue =>
              several &&
              issue.code === 'custom' &&
              issue.params?.[NAMESPACE_UNKNOWN]
                ? inSeveralNamespaces(plan, several, lookUp.more)
                : issue.message,
            )
            .join('; ')}.`,
          { stage: 'plan', plan: redactPlan(plan) },
        );
      }
      // A patch is confirmed as it is shown, and shown as it is sent: one whose text cannot be sent
      // so (a key set twice, of which JSON keeps only the last; not a JSON object; naming the object
      // it changes) is refused here, not shown for a confirmation and refused when it runs.
      const patchRefusal =
        plan.verb === 'patch' ? patchProblem(plan.patch) : undefined;
      if (patchRefusal) {
        throw await refuse(
          `This plan cannot run as shown: ${patchRefusal[0].toLowerCase()}${patchRefusal.slice(
            1,
          )}${patchRefusal.endsWith('.') ? '' : '.'}`,
          { stage: 'plan', plan: redactPlan(plan) },
        );
      }
      // A namespace the cluster does not have ("show pods in trouble" read as `-n trouble`) would
      // answer as an empty one (no rows, "nothing changed", the object's NotFound): refused, saying
      // so. Checked once the plan is in the caller's scope, so no other tenant's namespace is told of.
      const noNamespace = await this.missingNamespace(plan, userRef);
      if (noNamespace) {
        throw await refuse(noNamespace, {
          stage: 'plan',
          plan: redactPlan(plan),
        });
      }
      // Safety comes from the plan alone (verb, resource and scope), never
      // from the provider.
      const safety = classifySafety(plan);
      const command = renderKubectl(plan);
      const planSalt = newPlanSalt();
      const hash = planHash(plan, planSalt);
      const requirements = await this.requirements(plan, safety, credentials);
      const createdAt = new Date().toISOString();
      // Secret values the model wrote into the plan are not shown: the confirmation runs the stored
      // plan. Its explanation is stored as shown.
      const shown = forTheBrowser({
        plan,
        command,
        explanation: result.answer.explanation,
      });
      await this.options.store.addMessage({
        id: messageId,
        conversationId,
        userRef,
        question: input.question,
        createdAt,
        provider: result.provider,
        plan,
        command,
        explanation: shown.explanation,
        safety,
        requirements,
        ...(scope ? { entityRef: scope.entityRef } : {}),
        planSalt,
        executions: [],
      });
      // The token is handed to the browser once and never stored in clear.
      let shownRequirements = requirements;
      if (safety.level !== 'safe') {
        const { token, expiresAt } = await this.options.confirmations.issue({
          messageId,
          userRef,
          planHash: hash,
          ttlMs: this.options.confirmationTtlMs,
        });
        shownRequirements = {
          ...requirements,
          confirmationToken: token,
          confirmationExpiresAt: expiresAt,
        };
      }
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      answered.safety = safety.level;
      await event.success({
        meta: {
          outcome: 'planned',
          provider: result.provider,
          attempts: result.attempts,
          latencyMs,
          plan: shown.plan,
          command: shown.command,
          planHash: hash,
          scope: describeScope(plan),
          safety: safety.level,
          messageId,
          conversationId,
        },
      });
      answered.outcome = 'planned';
      return {
        conversationId,
        messageId,
        question: input.question,
        provider: result.provider,
        plan: shown.plan!,
        planHash: hash,
        scope: describeScope(plan),
        command: shown.command!,
        explanation: shown.explanation!,
        safety,
        requirements: shownRequirements,
        latencyMs,
      };
    } catch (error) {
      if (!audited) {
        await event.fail({ error: error as Error, meta: { outcome: 'error' } });
      }
      throw error;
    } finally {
      this.options.onQuestion?.(answered);
    }
  }

  /**
   * An `execution` event for an attempt refused before there was a plan to run (or beyond the runs an
   * answer keeps); within the caller's refusals recorded one by one a minute (the rest are counted),
   * since anyone may send message ids.
   */
  private async auditRefusedLookup(
    error: Error,
    caller: Caller,
    messageId: string,
    meta: Record<string, string>,
    severityLevel: 'low' | 'medium' | 'high',
  ) {
    const notRecorded = this.#refusals.take(caller.userRef);
    if (notRecorded === undefined) return;
    const event = await this.options.auditor.createEvent(
      auditedFor(
        {
          eventId: 'execution',
          severityLevel,
          request: caller.request,
          meta: { user: caller.userRef, messageId },
        },
        caller.credentials,
      ),
    );
    await event.fail({
      error,
      meta: {
        outcome: 'refused',
        ...meta,
        ...(notRecorded ? { refusedNotRecorded: notRecorded } : {}),
      },
    });
  }

  /**
   * Why a run of the caller's answer is refused once its `execution` event is started (the
   * permissions and the scope were checked before: `missingRunPermission`, `scopeRefusalAtRun`), or undefined when it may run. The confirmation token is spent
   * last, once every other check passed: a refused attempt does not burn it.
   */
  private async refusalOfRun(
    plan: Plan,
    message: StoredMessage,
    input: ExecuteRequest,
    caller: Caller,
    hash: string,
    safety: ReturnType<typeof classifySafety>,
  ): Promise<Error | undefined> {
    const { userRef } = caller;
    const noIdentity = this.impersonationRefusal(userRef);
    if (noIdentity) return new NotAllowedError(noIdentity);
    if (safety.level !== 'safe' && input.confirm !== true) {
      return new InputError(
        `This command is ${safety.level}: ${safety.reason} Confirm to run it.`,
      );
    }
    if (safety.level === 'dangerous') {
      if (!this.options.allowDangerous) {
        return new NotAllowedError(
          'Dangerous commands are turned off in this Backstage (kubeAssistant.allowDangerous)',
        );
      }
      const target = confirmationTarget(plan);
      if (input.typedConfirmation !== target) {
        return new InputError(
          `Type "${target}" to confirm this dangerous command.`,
        );
      }
    }
    if (safety.level !== 'safe') {
      const cluster = plan.cluster ?? this.options.clusters.defaultName();
      const protectedBy = this.options.protectedTargets?.refusal(plan, cluster);
      if (protectedBy) return new NotAllowedError(protectedBy);
      if (!input.confirmationToken) {
        return new InputError(
          'A confirmation must carry the single-use token handed out with the plan that was shown; ask again.',
        );
      }
      const spent = await this.options.confirmations.consume({
        token: input.confirmationToken,
        messageId: message.id,
        userRef,
        planHash: hash,
      });
      if (!spent.ok)
        return new ConflictError(CONFIRMATION_PROBLEMS[spent.problem]);
    }
    return undefined;
  }

  /**
   * The permission a run of the caller's answer needs and the caller lacks, checked in this order:
   * `kube-assistant.query` (using the assistant at all), `kube-assistant.execute`, and for a plan
   * that is dangerous `kube-assistant.execute.dangerous`. Undefined when the caller has them all.
   */
  private async missingRunPermission(
    plan: Plan | undefined,
    credentials: BackstageCredentials,
  ): Promise<NotAllowedError | undefined> {
    if (!(await this.allowed(kubeAssistantQueryPermission, credentials))) {
      return notAllowedToQuery();
    }
    if (!(await this.allowed(kubeAssistantExecutePermission, credentials))) {
      return new NotAllowedError(
        'You are not allowed to run commands (kube-assistant.execute)',
      );
    }
    if (
      plan &&
      classifySafety(plan).level === 'dangerous' &&
      !(await this.allowed(
        kubeAssistantExecuteDangerousPermission,
        credentials,
      ))
    ) {
      return new NotAllowedError(
        'You are not allowed to run dangerous commands (kube-assistant.execute.dangerous)',
      );
    }
    return undefined;
  }

  /**
   * Refuses a run of the caller's answer for want of a permission (`stage: "permission"`) or out of
   * the caller's scope (`stage: "entity-scope"`), before a run is recorded: an `execution` event
   * that says from its start that it is a refusal (`outcome: "refused"`, `reason`, `stage`, with the
   * command as the trail records it, its `safety` and `planHash`), within the caller's refusals
   * recorded one by one a minute (the rest are counted), so that asking in a loop does not grow the
   * trail at will. A refusal recorded is kept in the answer's runs while the answer has room for one
   * (`kubeAssistant.limits.runsPerAnswer`).
   */
  private async refuseBeforeRun(
    error: NotAllowedError,
    message: StoredMessage,
    caller: Caller,
    stage: 'permission' | 'entity-scope',
  ): Promise<never> {
    const { credentials, userRef, request } = caller;
    const notRecorded = this.#refusals.take(userRef);
    if (notRecorded === undefined) throw error;
    const { plan, command } = message;
    const ran =
      plan && command
        ? {
            safety: classifySafety(plan),
            command: forTheTrail(plan, command).command,
            planHash: planHash(plan, message.planSalt),
          }
        : undefined;
    const refusal = await this.options.auditor.createEvent(
      auditedFor(
        {
          eventId: 'execution',
          severityLevel: ran ? SEVERITY[ran.safety.level] : 'low',
          request,
          meta: {
            user: userRef,
            messageId: message.id,
            ...(ran
              ? {
                  command: ran.command,
                  safety: ran.safety.level,
                  planHash: ran.planHash,
                }
              : {}),
            outcome: 'refused',
            reason: error.message,
            stage,
            ...(notRecorded ? { refusedNotRecorded: notRecorded } : {}),
          },
        },
        credentials,
      ),
    );
    await this.completeEvent(`a run of answer ${message.id}`, () =>
      refusal.fail({ error, meta: { outcome: 'refused' } }),
    );
    if (ran && (await this.hasRunRoom(message.id))) {
      await this.saveRecord(
        message.id,
        { status: 'refused', summary: error.message },
        'it was refused',
      );
    }
    throw error;
  }

  /**
   * Whether an answer may keep one more run (`kubeAssistant.limits.runsPerAnswer`). A store that
   * cannot tell says yes: saving the record then fails, and that is logged.
   */
  private async hasRunRoom(messageId: string): Promise<boolean> {
    try {
      await this.options.store.assertRunRoom(messageId);
      return true;
    } catch (error) {
      return !(error instanceof ConflictError);
    }
  }

  /**
   * Runs the plan of one of the caller's answers, once its permissions and scope are checked and its
   * run is taken: an answer that has run `runsPerAnswer` times is answered 409, a user with
   * `runsAtOncePerUser` commands under way (on any backend sharing the database) 429, both recorded
   * within the caller's refusals a minute (`stage: "runs"`, `"runs-at-once"`); each run gives its
   * place back when its outcome is recorded, however it ends, and ends within the time it counts
   * (see `RunTime`).
   */
  async execute(
    input: ExecuteRequest,
    caller: Caller,
  ): Promise<ExecuteResponse> {
    const { credentials, userRef, request } = caller;
    // Credentials passed on by a plugin that may not act as the user: refused before the answer is
    // looked up (`stage: "relay"`), and nothing runs.
    const relayRefused = this.relayRefusal(credentials);
    if (relayRefused) {
      await this.auditRefusedLookup(
        relayRefused,
        caller,
        input.messageId,
        {
          reason: relayRefused.message,
          stage: 'relay',
          relayedBy: String(relayingPluginOf(credentials)),
        },
        'high',
      );
      throw relayRefused;
    }
    const message = await this.options.store.getMessage({
      id: input.messageId,
      userRef,
    });
    if (!message) {
      // The same 404 whether the answer is another user's or does not exist, so its existence is
      // not revealed; but the attempt is audited, since running someone else's plan is what an
      // auditor looks for. Nothing of the other user's message is recorded but who asked it.
      const error = new NotFoundError(
        `No answer ${input.messageId} in your conversations`,
      );
      const owner = await this.options.store.messageOwner(input.messageId);
      await this.auditRefusedLookup(
        error,
        caller,
        input.messageId,
        owner
          ? { reason: "another user's answer", messageOwner: owner }
          : { reason: 'no such answer' },
        owner ? 'high' : 'medium',
      );
      throw error;
    }
    // The permissions a run needs come first (`kube-assistant.query`, `kube-assistant.execute`, and
    // `kube-assistant.execute.dangerous` for a dangerous plan): a caller without one is refused (403)
    // before anything else about the answer is told (whether it has a command, its runs, its scope,
    // its confirmation), and nothing runs.
    const missing = await this.missingRunPermission(message.plan, credentials);
    if (missing) {
      return this.refuseBeforeRun(missing, message, caller, 'permission');
    }
    if (!message.plan || !message.command) {
      const error = new InputError('That question has no command to run');
      await this.auditRefusedLookup(
        error,
        caller,
        message.id,
        { reason: 'no command' },
        'low',
      );
      throw error;
    }
    const plan = message.plan;
    // Re-derive safety: what is stored is never trusted over the plan.
    const safety = classifySafety(plan);
    const hash = planHash(plan, message.planSalt);
    // The plan and command as the trail records them and the browser is shown them.
    const shown = forTheTrail(plan, message.command);
    const startEvent = () =>
      this.options.auditor.createEvent(
        auditedFor(
          {
            eventId: 'execution',
            severityLevel: SEVERITY[safety.level],
            request,
            meta: {
              user: userRef,
              messageId: message.id,
              provider: message.provider ?? null,
              ...shown,
              planHash: hash,
              safety: safety.level,
              cluster: plan.cluster ?? null,
            },
          },
          credentials,
        ),
      );
    // The scope comes next (the whole cluster with `kube-assistant.cluster-wide`, else an entity the
    // caller owns, checked again: it may have been lost since the plan was made): a run out of it is
    // refused (403) before the runs the answer keeps are told, as a refusal from its start. A scope
    // that cannot be checked (the permission backend or the catalog does not answer) is recorded as
    // an `execution` event failed with `outcome: "error"`.
    let outOfScope: string | undefined;
    try {
      outOfScope = await this.scopeRefusalAtRun(
        plan,
        message.entityRef,
        credentials,
      );
    } catch (error) {
      const failed = await startEvent();
      await this.completeEvent(`a run of answer ${message.id}`, () =>
        failed.fail({ error: error as Error, meta: { outcome: 'error' } }),
      );
      throw error;
    }
    if (outOfScope) {
      return this.refuseBeforeRun(
        new NotAllowedError(outOfScope),
        message,
        caller,
        'entity-scope',
      );
    }
    // A user with `kubeAssistant.limits.runsAtOncePerUser` runs under way (429), or an answer that
    // holds `kubeAssistant.limits.runsPerAnswer` runs already (409), is refused before anything but
    // the permissions and the scope, and nothing is added to its runs: repeating a run grows neither
    // its record nor the audit trail (recorded one by one within the caller's refusals a minute)
    // without bound. The run is taken here, before anything runs, as `running`: runs asked for at
    // once, on any backend of the database, are counted one after the other, so none runs beyond
    // either limit.
    let runId: string;
    let notReported: NotReportedRun[];
    let countedForMs: number;
    // Read before the run is taken (it is taken later, on the database's clock): the run ends
    // before it stops counting among its user's runs at once (see RunTime).
    const takenFrom = performance.now();
    try {
      ({ runId, notReported, countedForMs } =
        await this.options.store.reserveRun({
          messageId: message.id,
        }));
    } catch (error) {
      const stage =
        error instanceof TooManyRequestsError
          ? 'runs-at-once'
          : error instanceof ConflictError && 'runs';
      if (!stage) throw error;
      await this.auditRefusedLookup(
        error as Error,
        caller,
        message.id,
        { reason: (error as Error).message, stage },
        'low',
      );
      throw error;
    }
    // The run ends within the time it counts among its user's runs at once: whatever it waits for
    // (an audit event, a check, the cluster, its record) is waited for no longer than that, so a
    // run never goes on once it no longer counts (and a further run of its user may start).
    const time = new RunTime(takenFrom, countedForMs);
    let recorded = false;
    // Records the outcome of the run taken above: `saved`, `failed` (logged), or `late` when it was
    // not saved within the time kept for it, a little after the rest of the run's time (logged; it
    // goes on, and a failure then is logged too). The run keeps reading as `running`, its outcome not recorded, until it
    // is saved. A run recorded as not reported meanwhile (it ran longer than a run may take) gets
    // its outcome all the same, with a warning.
    const record = async (
      what: Omit<ExecutionRecord, 'at'>,
      outcome: string,
    ): Promise<RecordSaved> => {
      recorded = true;
      const run = `a run of answer ${message.id} (${outcome})`;
      let givenUp = false;
      const saving = this.options.store
        .completeRun({ runId, record: what })
        .then(
          ({ wasNotReported }) => {
            if (wasNotReported) {
              this.options.logger.warn(
                `The outcome of ${run} was reported after it was recorded as not reported: it ran longer than a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it), and counted no longer among its user's runs at once; its record now says what happened.`,
              );
            }
          },
          error => {
            if (givenUp) {
              this.options.logger.error(
                `Could not save the record of ${run}, after its run stopped waiting for it: ${
                  (error as Error).message
                }`,
                error as Error,
              );
            }
            throw error;
          },
        );
      try {
        await time.inRecordTime(saving);
        return 'saved';
      } catch (error) {
        if (time.signal.aborted && error === time.signal.reason) {
          givenUp = true;
          this.options.logger.warn(
            `Stopped waiting for the record of ${run} to be saved: ${
              (error as Error).message
            } It is still being saved; a failure to save it is logged.`,
          );
          return 'late';
        }
        this.options.logger.error(
          `Could not save the record of ${run}: ${(error as Error).message}`,
          error as Error,
        );
        return 'failed';
      }
    };
    try {
      await this.auditNotReported(notReported, caller, message.id, time);
      return await this.runTaken(
        message,
        plan,
        input,
        caller,
        { hash, safety, shown, startEvent, time },
        record,
      );
    } catch (error) {
      // Stopped before it was sent to the cluster (its audit event could not be started, a check
      // could not be made, or not in the run's time; every outcome of the cluster is recorded
      // where it is known): failed, saying it did not run and why.
      if (!recorded) {
        await record(
          { status: 'failed', summary: `Not run: ${(error as Error).message}` },
          'it did not run',
        );
      }
      throw error;
    } finally {
      time.end();
    }
  }

  /** Runs a plan whose run is taken (`record` records its outcome), from its audit event on. */
  private async runTaken(
    message: StoredMessage,
    plan: Plan,
    input: ExecuteRequest,
    caller: Caller,
    {
      hash,
      safety,
      shown,
      startEvent,
      time,
    }: {
      hash: string;
      safety: ReturnType<typeof classifySafety>;
      shown: ReturnType<typeof forTheTrail>;
      startEvent: () => Promise<AuditorServiceEvent>;
      /** The run's time: every wait is bounded by what is left of it. */
      time: RunTime;
    },
    record: (
      what: Omit<ExecutionRecord, 'at'>,
      outcome: string,
    ) => Promise<RecordSaved>,
  ): Promise<ExecuteResponse> {
    const { userRef } = caller;
    const started = performance.now();
    const starting = startEvent();
    let event: AuditorServiceEvent;
    try {
      event = await time.inTime(starting);
    } catch (error) {
      // Not started in the run's time: the run stops, and an event that starts later says so.
      if (time.signal.aborted) {
        starting.then(
          late =>
            this.completeEvent(`a run of answer ${message.id}`, () =>
              late.fail({ error: error as Error, meta: { outcome: 'error' } }),
            ),
          () => undefined,
        );
      }
      throw error;
    }
    // Completes the run's event, in the run's time.
    const complete = (completion: () => Promise<void>) =>
      this.completeEvent(`a run of answer ${message.id}`, () =>
        time.inTime(completion()),
      );
    // The refusal is audited first, and a store that is down does not turn it into another error.
    const refuse = async (error: Error, meta: Record<string, unknown> = {}) => {
      await complete(() =>
        event.fail({ error, meta: { outcome: 'refused', ...meta } }),
      );
      await record(
        { status: 'refused', summary: error.message },
        'it was refused',
      );
      throw error;
    };

    // A check that cannot be made (the permission backend, the catalog or the store does not answer)
    // completes the event as an error: no `execution` event is left started with no outcome.
    let refusal: Error | undefined;
    try {
      refusal = await time.inTime(
        this.refusalOfRun(plan, message, input, caller, hash, safety),
      );
    } catch (error) {
      await complete(() =>
        event.fail({ error: error as Error, meta: { outcome: 'error' } }),
      );
      throw error;
    }
    if (refusal) return refuse(refusal);

    // Only the cluster decides the outcome: what happens afterwards to the audit event or the record
    // of the run is reported, and never turns an applied change into a failure. Its requests are
    // given up when the run's time is up, and those of a read when its client went away (recorded
    // as cancelled); a change goes on then (stopped part-way, it would be half done).
    const cancelled =
      caller.closed && !isChange(plan)
        ? cancelledWhen(caller.closed)
        : undefined;
    let ran: { result: ExecutionResult; changes?: ChangedObjects };
    try {
      const kc = this.kubeConfigFor(plan.cluster, userRef);
      ran = await this.options.executor.executeReporting(
        plan,
        kc,
        cancelled ? AbortSignal.any([time.signal, cancelled]) : time.signal,
      );
    } catch (error) {
      if (error instanceof RunCancelledError) {
        // Nothing more was read; the record and the trail say the client went away.
        await complete(() =>
          event.fail({
            error,
            meta: {
              outcome: 'cancelled',
              reason: error.message,
              latencyMs: Math.round(performance.now() - started),
            },
          }),
        );
        await record(
          { status: 'cancelled', summary: error.message },
          'it was cancelled',
        );
        throw error;
      }
      // Refused by the executor's own checks (the plan checked again, an object KubeChart or Helm
      // keeps): nothing was changed, so it is a refusal, with its reason.
      if (refusedByExecutor(error)) {
        const guarded = guardedTargetsOf(error);
        return refuse(error as Error, {
          reason: (error as Error).message,
          ...(guarded ? { guarded } : {}),
        });
      }
      const latencyMs = Math.round(performance.now() - started);
      // A change over several objects that stopped part-way: which were changed, which failed.
      const progress = progressOf(error);
      // Impersonated, the request was sent as the person asking: a 403 is the cluster's RBAC
      // refusing them, answered as such (403). Nothing changed, it is a refusal (`stage:
      // "cluster"`); after some objects of a change were, it failed part-way, as it did.
      const refusedByRbac =
        this.options.impersonation && clusterStatusOf(error) === 403
          ? new NotAllowedError((error as Error).message)
          : undefined;
      if (refusedByRbac && !progress?.changedCount) {
        return refuse(refusedByRbac, {
          reason: refusedByRbac.message,
          stage: 'cluster',
          latencyMs,
          ...progress,
        });
      }
      await complete(() =>
        event.fail({
          error: error as Error,
          meta: { outcome: 'failed', latencyMs, ...progress },
        }),
      );
      // Stopped before any change was sent: it did not run, as a run stopped before it reached
      // the executor is recorded.
      await record(
        {
          status: 'failed',
          summary: stoppedBeforeSent(error)
            ? `Not run: ${(error as Error).message}`
            : (error as Error).message,
        },
        'it failed',
      );
      throw refusedByRbac ?? error;
    }
    const { result, changes } = ran;
    const latencyMs = Math.round(performance.now() - started);
    const summary = summarize(result);
    // The audit trail first, with every object changed (the summary is cut).
    await complete(() =>
      event.success({
        meta: {
          outcome: 'succeeded',
          latencyMs,
          summary,
          ...(changes
            ? { changedObjects: changes.objects, changedCount: changes.count }
            : {}),
        },
      }),
    );
    const saved = await record(
      { status: 'succeeded', summary },
      changes ? 'the change was applied' : 'it ran',
    );
    const response = {
      messageId: message.id,
      command: shown.command,
      safety,
      result,
      latencyMs,
    };
    if (saved === 'saved') return response;
    const notice = `${
      changes ? 'The change was applied' : 'The command ran'
    }, ${
      saved === 'late'
        ? 'but its record was not saved within the time a run may take (kubeAssistant.executionTimeoutSeconds and the time to record it): it may still be saved; until then this conversation shows the run as under way'
        : 'but its record could not be saved in this conversation'
    } (the audit trail has it).`;
    return {
      ...response,
      // The message of a change is what the user reads: it says so there too.
      result:
        result.type === 'message'
          ? { ...result, text: `${result.text}\n${notice}` }
          : result,
      notice,
    };
  }

  /**
   * Records in the audit trail the runs of the caller recorded as not reported when a run of answer
   * `messageId` was taken (`runs-not-reported`, `runs`: at most `MAX_NOT_REPORTED_AUDITED` of them,
   * and `runCount`): each was `running` longer than a run may take, and may still be under way. An
   * auditor that fails is logged: the run goes on.
   */
  private async auditNotReported(
    runs: NotReportedRun[],
    caller: Caller,
    messageId: string,
    time: RunTime,
  ): Promise<void> {
    if (runs.length === 0) return;
    try {
      const event = await time.inTime(
        this.options.auditor.createEvent(
          auditedFor(
            {
              eventId: 'runs-not-reported',
              severityLevel: 'medium',
              request: caller.request,
              meta: {
                user: caller.userRef,
                messageId,
                runs: runs.slice(0, MAX_NOT_REPORTED_AUDITED),
                runCount: runs.length,
              },
            },
            caller.credentials,
          ),
        ),
      );
      await time.inTime(event.success());
    } catch (error) {
      this.options.logger.error(
        `Could not record that ${runs.length} runs of ${
          caller.userRef
        } were recorded as not reported: ${(error as Error).message}`,
        error as Error,
      );
    }
  }

  /**
   * Completes an audit event (`of`: `a run of answer <id>`, `question <id>`). An auditor that fails
   * is logged: it does not change what happened, nor what the user and the conversation are told.
   */
  private async completeEvent(
    of: string,
    complete: () => Promise<void>,
  ): Promise<void> {
    try {
      await complete();
    } catch (error) {
      this.options.logger.error(
        `Could not complete the audit event of ${of}: ${
          (error as Error).message
        }`,
        error as Error,
      );
    }
  }

  /**
   * Saves what happened in its conversation, after its audit event; false when that failed
   * (logged, naming `what`): the outcome the user is told stays the one that happened.
   */
  private async saved(
    what: string,
    save: () => Promise<void>,
  ): Promise<boolean> {
    try {
      await save();
      return true;
    } catch (error) {
      this.options.logger.error(
        `Could not save ${what}: ${(error as Error).message}`,
        error as Error,
      );
      return false;
    }
  }

  /**
   * Saves the record of a run in its conversation; false when that failed (logged, with what had
   * happened: `outcome`).
   */
  private async saveRecord(
    messageId: string,
    record: Omit<ExecutionRecord, 'at'>,
    outcome: string,
  ): Promise<boolean> {
    return this.saved(
      `the record of a run of answer ${messageId} (${outcome})`,
      () =>
        this.options.store.addExecution({
          messageId,
          record: { ...record, at: new Date().toISOString() },
        }),
    );
  }
}
