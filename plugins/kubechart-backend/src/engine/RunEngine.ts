import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
  isError,
} from '@backstage/errors';
import {
  ApprovalDecision,
  CreateRunRequest,
  KUBECHART_TENANT_LABEL,
  approvalCount,
  PolicyReport,
  ReleaseSpec,
  Run,
  RunPreview,
  RunEvent,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterDiscovery,
  ClusterRegistry,
  HelmCli,
  HelmCommandError,
  KubeObject,
  PolicyEngine,
  TenantResourceProvider,
  collectManifestSecretValues,
  collectSecretValues,
  mergePolicyReports,
  MAX_POLICY_OBJECTS,
  parseManifests,
  labelManifestsInTurns,
  parseManifestsInTurns,
  PolicyCheckOptions,
  builtinIsNamespaced,
  redactValues,
  scopeViolation,
} from '@kubechart/plugin-kubechart-node';
import {
  checkRequestChartSources,
  createWorkDir,
  pullRenderAndCheck,
  resolveReleaseSource,
} from './chartCheck';
import { randomUUID } from 'node:crypto';
import {
  ApprovalExpiredError,
  OPEN_APPROVAL_STATES,
  RunStore,
  expiredApprovalReason,
  isApprovalExpired,
} from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import {
  describeKubeError,
  kubeStatusCode,
  isUnreachable,
} from '../lib/kubeErrors';
import { TooManyRequestsError, RunFailure } from './errors';
import {
  deployerReadRefusal,
  deployerReadingUser,
  deployerUser,
} from './deployer';
import { Executors, RunExecution, mergeValues } from './executors';
import { RunContext, recordedChanges } from './RunContext';
import { EngineSettings } from './settings';
import { RunPlan, planRun, validateCluster } from './validate';
import { ingressHostsOption } from './ingressHostsInUse';
import {
  ApprovalRule,
  ApprovalSettings,
  OWNER_APPROVER,
  clusterScopedRule,
  isNamespaceKind,
  protectingRule,
} from '../approvals/rules';
import {
  PlanParts,
  canonicalJson,
  describePlanChange,
  newPlanSalt,
  planHash,
  planInput,
} from '../approvals/plan';
import {
  ApprovedManifest,
  GENERATED_AT_INSTALL,
  approvedManifestOf,
} from '../approvals/approvedManifest';
import {
  approvedRevisionOf,
  unboundRevisionReason,
} from '../approvals/approvedRevision';
import { readHelmRelease, readLatestHelmRelease } from '../lib/helmRelease';
import {
  LeaseLostError,
  RunPatch,
  TenantClaim,
  TenantRecord,
} from '../database/RunStore';
import { actorSlotKeys, withNamespaceLock } from '../database/lockKeys';
import { RunLeases, fencedHelm, fencedStore } from './lease';
import type { RequesterDirectory } from './caller';
import {
  ForeignNamespaceError,
  RunCaller,
  RunScope,
  TenantNaming,
  checkRequestedTenantOwner,
  describeTenantChange,
  groupKind,
  plainCaller,
  refuseOthersTenant,
  resolveRunScope,
  tenantChanged,
  tenantNamingOf,
  tenantOwnerAfter,
  tenantSnapshot,
  toPolicyScope,
} from './scope';
import {
  checkTenantEntity,
  checkTenantEntityHistory,
  checkTenantEntityUnclaimed,
  checkTenantSystemInCatalog,
  entityRefOfTenant,
  tenantEntityRefAfter,
  tenantRunEntityOwner,
  withNormalizedTenantEntityRef,
} from './entityScope';
import {
  declaredManifestSecretValues,
  declaredSecretValues,
  redactDeclaredSecrets,
} from './declaredSecrets';
import { describeTenantChanges } from './tenantChanges';
import { checkTenantQuota, checkTenantQuotaValues } from './tenantQuota';
import { judgeRollbackRecord, rollbackSecretValues } from './rollbackRevision';
import { recoverStaleRuns } from './staleRuns';
import { checkRollbackChartSource } from './rollbackSource';
import { asEnded, tenantUnchangedByFailedRun } from './runOutcomes';
import { withScrubbedErrors } from './scrubbedErrors';
import { redactPlan } from '../lib/redactPlan';
import { scrubComment } from '../approvals/comments';
import type { RunMetrics } from '../service/metrics';

/**
 * The kinds (`<group>/<Kind>`) of the objects a run's approved plan holds: its stored manifest and
 * the objects its policy report judged (a chart's crds/ included).
 */
function approvedKinds(run: Run): Set<string> {
  const kinds = new Set<string>();
  for (const r of run.policyReport?.results ?? [])
    if (r.object?.apiVersion && r.object.kind)
      kinds.add(groupKind(r.object.apiVersion, r.object.kind));
  try {
    for (const o of parseManifests(run.manifest ?? ''))
      if (typeof o?.apiVersion === 'string' && typeof o?.kind === 'string')
        kinds.add(groupKind(o.apiVersion, o.kind));
  } catch {
    // Unreadable: the policy check of the run refuses what it may not apply.
  }
  return kinds;
}

/** The approved runs the approval task reads at a time (it pages through every one of them). */
const APPROVED_PAGE_SIZE = 100;

/**
 * The values under secret-looking keys in a run request (what it gives helm), and the texts of its
 * values it declares secret (`declaredSecretValues`).
 */
function givenSecrets(request: CreateRunRequest): string[] {
  const declared = declaredSecretValues(request);
  if (request.kind === 'tenant')
    return [
      ...request.releases.flatMap(r => collectSecretValues(r.values ?? {})),
      ...declared,
    ];
  if (request.kind === 'chart')
    return [...collectSecretValues(request.release.values ?? {}), ...declared];
  return [];
}

/** The Helm releases a run changes (their deployed revisions are part of an approved plan). */
function releaseNames(request: CreateRunRequest): string[] {
  switch (request.kind) {
    case 'tenant':
      return request.releases.map(r => r.name);
    case 'chart':
      return [request.release.name];
    case 'rollback':
      return [request.release];
    default:
      return [];
  }
}

/**
 * A tenant run found its tenant created, deleted or moved to another owner by another run since it
 * was requested (409); nothing was recorded or applied. `change` says how, for an approval's end.
 */
class TenantChangedError extends ConflictError {
  constructor(readonly change: string) {
    super(`${change}; nothing was recorded or applied. Submit the run again.`);
  }
}

/**
 * Thrown in the transaction that records or starts a tenant run whose tenant changed since it was
 * requested (`now`: the record it found), and told as a TenantChangedError once that transaction
 * is over: what the reason may name is not asked while the tenant claim is held.
 */
class TenantFoundChanged extends Error {
  constructor(readonly now: TenantRecord | undefined) {
    super('The tenant changed after this run was requested');
  }
}

/**
 * Whom a run's messages about tenants are for: its requester as the request that started it was
 * checked, else (a kept approved run) only the owners its requester acted for when asking.
 */
const namingOf = (exec: RunExecution, actor: string): TenantNaming =>
  exec.naming ?? { ownershipRefs: exec.requesterRefs ?? [actor] };

/** Told when a run needs approvers or a decision was taken (Backstage notifications). */
export type ApprovalNotifier = {
  approvalRequested(run: Run, approvers: string[]): Promise<void>;
  decisionTaken(
    run: Run,
    decision: Omit<ApprovalDecision, 'at'>,
  ): Promise<void>;
  /** The requester withdrew the run (`run.failureReason` says so): its approvers need not look. */
  approvalWithdrawn?(run: Run): Promise<void>;
};

/** Who decides on an approval: the user and the refs it owns through (its groups). */
export type ApprovalDecider = {
  userEntityRef: string;
  ownershipRefs: string[];
  /** Holds `kubechart.runs.approve`. */
  mayApprove: boolean;
};

function tenantStatusAfter(kind: Run['kind'], status: 'succeeded' | 'failed') {
  if (status === 'failed') return 'failed';
  return kind === 'tenant' ? 'active' : 'deleted';
}

/** Told about run changes (signals). */
export type RunListener = {
  onRunChanged?(run: Run): void;
  onEvents?(runId: string, events: RunEvent[]): void;
};

export type RunEngineOptions = {
  store: RunStore;
  clusters: ClusterRegistry;
  helm: HelmCli;
  policy: PolicyEngine;
  tenantResources?: TenantResourceProvider[];
  logger: LoggerService;
  settings: EngineSettings;
  listener?: RunListener;
  /** Identifies this backend instance in run rows. */
  instanceId?: string;
  /** Operations metrics: finished runs, lock waits. */
  metrics?: RunMetrics;
  /** Protected targets (`kubechart.approvals`); none by default. */
  approvals?: ApprovalSettings;
  notifier?: ApprovalNotifier;
  /**
   * What the requester of a kept approved run owns when it starts (the catalog, read with the
   * plugin's own credentials). Without it a requester owns only its own ref then, and a check that
   * needs the catalog refuses (fail closed). Its `readEntity` also tells whether the System a tenant
   * without an entityRef gets is another team's already (`checkTenantSystemInCatalog`); an engine
   * without it (no catalog wired, as in engine tests) has no catalog System to check against.
   */
  requesters?: RequesterDirectory;
};

/**
 * Starts and executes runs. Every step checks before it acts, so a run repeated with the same
 * input converges. State lives in the database; this class holds only the runs it executes.
 */
export class RunEngine {
  private readonly active = new Map<string, Promise<void>>();
  private readonly clients = new Map<string, KubeClient>();
  /** Leases (fencing tokens) of the runs this instance executes, and their heartbeat. */
  private readonly leases: RunLeases;
  /** The store, with updates and events of runs this instance executes conditional on their lease. */
  private readonly fencedRunStore: RunStore;
  private readonly executors: Executors;
  private readonly discovery: ClusterDiscovery;
  readonly instanceId: string;

  constructor(private readonly options: RunEngineOptions) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.leases = new RunLeases({
      store: options.store,
      logger: options.logger,
      heartbeatIntervalMs: options.settings.heartbeatIntervalMs,
      staleAfterMs: options.settings.staleAfterSeconds * 1000,
      releaseLocksAfterMs: options.settings.releaseLocksAfterSeconds * 1000,
    });
    this.fencedRunStore = fencedStore(options.store, this.leases);
    this.discovery = new ClusterDiscovery(options.clusters);
    this.executors = new Executors({
      logger: options.logger,
      discovery: this.discovery,
      scopedClient: (cluster, namespace) =>
        this.scopedClient(cluster, namespace),
      helm: fencedHelm(options.helm, this.leases),
      policy: options.policy,
      clusters: options.clusters,
      store: this.fencedRunStore,
      settings: options.settings,
      tenantResources: options.tenantResources ?? [],
      client: name => this.client(name),
    });
  }

  /**
   * Validates a request and renders what it would apply, with the chart policy report (every
   * release's objects, its chart's crds/, unknown values as warnings, each chart's digest). Nothing
   * is applied or recorded (scaffolder dry runs, `kubechart:chart:validate`). With the run's resolved
   * `scope` (an approval's plan) it checks what the run itself would; without it, no cluster-scoped kind is allowed.
   */
  async preview(
    request: CreateRunRequest,
    runScope?: RunScope,
  ): Promise<RunPreview> {
    return (await this.renderPreview(request, runScope)).preview;
  }

  /**
   * `POST /runs/preview`: the {@link RunEngine.preview} of a request `actor` asks for as `caller`. A
   * tenant or tenant-delete request is first refused as {@link RunEngine.submit} refuses it, with the
   * same checks and errors (its scope, who may change the tenant, what it claims, its quota ceiling
   * and budgets): a preview shows a plan only for a request the run would take.
   */
  async previewAs(
    submitted: CreateRunRequest,
    actor: string,
    caller: RunCaller,
  ): Promise<RunPreview> {
    const request = withNormalizedTenantEntityRef(submitted);
    if (request.kind === 'tenant' || request.kind === 'tenant-delete') {
      const { store, settings } = this.options;
      await planRun(
        request,
        this.options.clusters,
        this.options.settings.deployerNamespace,
      );
      await resolveRunScope(request, caller, { store, settings });
      await this.checkTenantRequest(
        request,
        await this.tenantRecord(request),
        caller,
        actor,
      );
    }
    return this.preview(request);
  }

  /**
   * The preview, and for a chart or tenant run each release's rendered objects normalised as the
   * post-render gate normalises what helm is about to apply (the run scope's tenant labels added), which
   * an approved run's install must match: an approval is bound to what this offline render showed.
   * For a rollback with the run's scope, the digest of the release record it returns to
   * (`approvedRevisionOf`), or why that record cannot be read (`unreadable`).
   */
  private async renderPreview(
    request: CreateRunRequest,
    runScope?: RunScope,
  ): Promise<{
    preview: RunPreview;
    manifests?: Record<string, ApprovedManifest>;
    revision?: string;
    unreadable?: string;
  }> {
    const plan = await planRun(
      request,
      this.options.clusters,
      this.options.settings.deployerNamespace,
    );
    // What the run would refuse before applying anything (submit: checkTenantQuota).
    checkTenantQuotaValues(request, this.options.settings);
    await this.checkChartSources(request);
    const base = { kind: request.kind, target: plan.target };
    const namespace = plan.target.namespace;
    // Shows what the run's scope check would refuse (who may use the namespace is checked at submit).
    const scope: RunScope = runScope ?? {
      cluster: request.cluster,
      ...this.dryRunScope(namespace),
      reason: '',
    };
    const checkOptions = this.dryRunCheckOptions(request.cluster, scope);
    if (request.kind === 'tenant' || request.kind === 'chart') {
      const releases =
        request.kind === 'tenant' ? request.releases : [request.release];
      const docs: string[] = [];
      const reports: PolicyReport[] = [];
      const manifests: Record<string, ApprovedManifest> = {};
      const labels: Record<string, string> = scope.tenant
        ? { [KUBECHART_TENANT_LABEL]: scope.tenant }
        : {};
      const work = await createWorkDir();
      try {
        for (const release of releases) {
          const values =
            request.kind === 'tenant'
              ? mergeValues(release.values ?? {}, {
                  kubechart: {
                    tenant: request.tenant,
                    namespace,
                    // Real credentials are generated at install time and never leave the cluster.
                    ...(request.credentials?.length
                      ? {
                          credentials: Object.fromEntries(
                            request.credentials.map(c => [
                              c,
                              GENERATED_AT_INSTALL,
                            ]),
                          ),
                        }
                      : {}),
                  },
                })
              : release.values ?? {};
          const checked = await withScrubbedErrors(givenSecrets(request), () =>
            pullRenderAndCheck(this.chartDeps(), {
              release,
              namespace,
              values,
              userValues: release.values ?? {},
              workDir: work.dir,
              checkOptions,
            }),
          );
          // Shown as the run records what helm applies: in a tenant's namespace with the labels the
          // post-render gate adds, written out as the gate writes it. Approvers see those labels, and
          // their diff against the target's last run shows what changes, not the text's layout.
          const rendered = Object.keys(labels).length
            ? await labelManifestsInTurns(checked.rendered, labels)
            : checked.rendered;
          docs.push(
            checked.crds ? `${checked.crds}---\n${rendered}` : rendered,
          );
          reports.push(checked.report);
          // What helm renders (crds/ aside, which the engine installs itself from the same chart).
          manifests[release.name] = approvedManifestOf(
            await parseManifestsInTurns(checked.rendered),
            labels,
          );
        }
      } finally {
        await work.dispose();
      }
      // Secret values the caller gave are removed wherever the chart copied them (a ConfigMap, args…).
      const shown = await redactPlan(
        docs.join('---\n'),
        mergePolicyReports(reports),
        givenSecrets(request),
      );
      return {
        preview: {
          ...base,
          manifest: shown.manifest,
          policyReport: shown.report,
        },
        manifests,
      };
    }
    if (request.kind === 'rollback' && runScope) {
      // An approval's plan shows the revision the rollback returns to and the policy's verdict on it
      // (read as the namespace's deployer; a preview without the run's scope reads no release).
      const { policy, settings } = this.options;
      const revision = `revision ${request.revision} of release ${request.release} in ${namespace}`;
      // Unreadable, it makes no plan: no approval is requested, and an approved one is not started.
      let unreadable = `${revision} has no Helm release record`;
      const read = await this.readingClient(request.cluster, namespace)
        .then(client =>
          readHelmRelease(client, namespace, request.release, request.revision),
        )
        .then(
          async stored =>
            stored && {
              digest: approvedRevisionOf(stored),
              judged: await judgeRollbackRecord(
                {
                  policy,
                  discovery: this.discovery,
                  clusters: this.options.clusters,
                  enforceRunScope: settings.enforceRunScope,
                },
                stored,
                request,
                scope,
              ),
            },
        )
        .catch(e => {
          this.options.logger.warn(
            `The ${revision} could not be read for an approval plan: ${e}`,
          );
          unreadable = `${revision} cannot be read: ${
            e instanceof Error ? e.message : String(e)
          }`;
          return undefined;
        });
      if (!read) return { preview: base, unreadable };
      const { judged, digest } = read;
      // The secret values of the revision it returns to are removed wherever its manifest copied them.
      const shown = await redactPlan(
        judged.manifest,
        judged.report,
        rollbackSecretValues(judged),
      );
      return {
        preview: {
          ...base,
          manifest: shown.manifest,
          policyReport: shown.report,
        },
        revision: digest,
      };
    }
    if (request.kind !== 'manifests') return { preview: base };
    const objects = await parseManifestsInTurns(request.manifests, {
      maxObjects: MAX_POLICY_OBJECTS,
    });
    // The values of the Secrets it applies, and the texts its caller declares secret, are removed
    // wherever else the manifests copy them.
    const shown = await redactPlan(
      request.manifests,
      await this.options.policy.checkInTurns(
        objects,
        await checkOptions(objects),
      ),
      [
        ...collectManifestSecretValues(objects),
        ...declaredManifestSecretValues(request, objects),
      ],
    );
    return {
      preview: {
        ...base,
        manifest: shown.manifest,
        policyReport: shown.report,
      },
    };
  }

  /**
   * The scope a dry run without the run's resolved scope checks against (a preview, `POST /policy/check`):
   * the request's namespace, where objects without one land, and no cluster-scoped kind. Who may use
   * the namespace, and which cluster-scoped kinds the caller may apply, is decided when the run is submitted.
   */
  private dryRunScope(namespace: string) {
    return {
      namespaces: [namespace],
      defaultNamespace: namespace,
      allowedClusterScopedKinds: [] as string[],
    };
  }

  /**
   * The policy check options of a dry run: the `run-scope` rule with `scope`, kinds read from
   * `cluster`'s discovery (an unreachable cluster throws). Without a cluster (`POST /policy/check`
   * may name none), from the built-in Kubernetes kinds: a custom resource's scope is then unknown and refused.
   */
  private dryRunCheckOptions(
    cluster: string | undefined,
    scope: Parameters<typeof toPolicyScope>[0],
  ) {
    return async (objects: KubeObject[]): Promise<PolicyCheckOptions> => ({
      scope: toPolicyScope(
        scope,
        cluster === undefined
          ? builtinIsNamespaced
          : await this.discovery.lookup(cluster, objects),
      ),
      ...(await ingressHostsOption(this.options, cluster, objects)),
    });
  }

  /**
   * `POST /policy/check` of manifests: the policy report of `objects` in `namespace` of `cluster`,
   * with the run-scope rule the preview applies (see {@link RunEngine.preview}). An unknown cluster is
   * an InputError (400).
   */
  async checkManifests(
    objects: KubeObject[],
    target: { cluster?: string; namespace: string },
  ): Promise<PolicyReport> {
    const options = this.dryRunCheckFor(target);
    return this.options.policy.checkInTurns(objects, await options(objects));
  }

  /** The check options of `POST /policy/check`: the preview's, for a known cluster (or none). */
  private dryRunCheckFor({
    cluster,
    namespace,
  }: {
    cluster?: string;
    namespace: string;
  }) {
    if (cluster !== undefined) validateCluster(this.options.clusters, cluster);
    return this.dryRunCheckOptions(cluster, this.dryRunScope(namespace));
  }

  /**
   * `POST /policy/check` of a chart: pulled, rendered and checked as a run would (crds/ and unknown
   * values included), with the run-scope rule the preview applies (objects without a namespace land in
   * `namespace`; see {@link RunEngine.checkManifests}). The manifest is returned unredacted for the
   * caller to redact.
   */
  async checkChart(
    release: ReleaseSpec,
    target: { cluster?: string; namespace: string },
  ): Promise<{ manifest: string; report: PolicyReport }> {
    const { namespace } = target;
    const checkOptions = this.dryRunCheckFor(target);
    await resolveReleaseSource(release, this.options.settings);
    const work = await createWorkDir();
    try {
      const values = release.values ?? {};
      const checked = await withScrubbedErrors(
        collectSecretValues(values),
        () =>
          pullRenderAndCheck(this.chartDeps(), {
            release,
            namespace,
            values,
            userValues: values,
            workDir: work.dir,
            checkOptions,
          }),
      );
      return {
        manifest: checked.crds
          ? `${checked.crds}---\n${checked.rendered}`
          : checked.rendered,
        report: checked.report,
      };
    } finally {
      await work.dispose();
    }
  }

  /**
   * Refuses (400, naming the rule) a request whose chart sources `kubechart.helm.chartDirectories` and
   * `allowedRepositories` do not allow: a chart or tenant run's, and the source of the revision a
   * rollback returns to (see `checkRollbackChartSource`).
   */
  private async checkChartSources(request: CreateRunRequest): Promise<void> {
    const { store, settings } = this.options;
    await checkRequestChartSources(request, settings);
    if (request.kind === 'rollback')
      await checkRollbackChartSource(request, { store, settings });
  }

  private chartDeps() {
    const { helm, policy, settings, logger } = this.options;
    return { helm, policy, settings, logger };
  }

  /** The Kubernetes client of a cluster (cached). */
  client(cluster: string): KubeClient {
    let c = this.clients.get(cluster);
    if (!c) {
      c = new KubeClient(this.options.clusters.kubeConfig(cluster));
      this.clients.set(cluster, c);
    }
    return c;
  }

  /**
   * Why each of `objects` lies outside `namespace` of the cluster: in another namespace,
   * cluster-scoped, or of a kind the cluster does not serve (the `run-scope` rule with that one
   * namespace and no cluster-scoped kind), each as the reason followed by the rule
   * (`ConfigMap/x is in namespace other; a run may only write to namespace shop`). Empty when all
   * lie inside. An unreachable cluster throws.
   */
  async outsideNamespace(
    cluster: string,
    namespace: string,
    objects: KubeObject[],
  ): Promise<string[]> {
    if (objects.length === 0) return [];
    const isNamespaced = await this.discovery.lookup(cluster, objects);
    return objects
      .map(o =>
        scopeViolation(o, {
          namespaces: [namespace],
          defaultNamespace: namespace,
          allowedClusterScopedKinds: [],
          isNamespaced,
        }),
      )
      .filter((v): v is string => v !== undefined);
  }

  /**
   * The approval rule that protects `target`, as a run started there would find it (the tenant whose
   * namespace it is, and the namespace by name), if any. A run an action records (`POST /runs/record`)
   * cannot be approved, so none is recorded on such a target.
   */
  async approvalRuleOf(
    target: Run['target'],
  ): Promise<ApprovalRule | undefined> {
    const { approvals } = this.options;
    if (!approvals?.rules.length) return undefined;
    return protectingRule(
      approvals,
      target,
      (await this.tenantOfTarget(target))?.code,
    );
  }

  /** A client of the cluster acting as the deployer ServiceAccount of `namespace` (cached). */
  scopedClient(cluster: string, namespace: string): KubeClient {
    return this.clientAs(
      cluster,
      deployerUser(namespace, this.options.settings),
    );
  }

  /**
   * A client for reads outside a run in `namespace` (approval plans, previews): as its deployer, or as
   * the deployer from before `kubechart.tenant.deployer.namespace` until a run ensures the new one
   * (see {@link deployerReadingUser}).
   */
  private async readingClient(
    cluster: string,
    namespace: string,
  ): Promise<KubeClient> {
    return this.clientAs(
      cluster,
      await deployerReadingUser(
        this.client(cluster),
        namespace,
        this.options.settings,
      ),
    );
  }

  /** A client of the cluster impersonating `user` (cached). */
  private clientAs(cluster: string, user: string): KubeClient {
    const key = `${cluster}\u0000${user}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new KubeClient(
        this.options.clusters.kubeConfig(cluster, { impersonate: user }),
      );
      this.clients.set(key, c);
    }
    return c;
  }

  /**
   * Validates and records a run, takes its locks, and starts it in the background. The run's scope
   * is resolved first from what `caller` owns (default: only the actor itself, no extra permissions).
   * Throws InputError (400), NotAllowedError (403: namespace outside the caller's scope),
   * ConflictError (409: locked, or a tenant owned by someone else) or TooManyRequestsError (429);
   * nothing is created then.
   */
  async submit(
    submitted: CreateRunRequest,
    actor: string,
    caller: RunCaller = plainCaller(actor),
  ): Promise<Run> {
    const { store, settings } = this.options;
    // A tenant's entityRef is stored (on the run and the tenant) as entity pages list runs by it: 400 when unusable.
    const request = withNormalizedTenantEntityRef(submitted);
    const plan = await planRun(
      request,
      this.options.clusters,
      this.options.settings.deployerNamespace,
    );
    // A chart source (a rollback's: its revision's) that breaks kubechart.helm.chartDirectories or
    // allowedRepositories is a 400 naming the rule.
    await this.checkChartSources(request);
    const recent = await store.countRunsByActorSince(
      actor,
      new Date(Date.now() - 60_000),
    );
    if (recent >= settings.runsPerUserPerMinute) {
      throw new TooManyRequestsError(
        `${actor} started ${recent} runs in the last minute; the limit is ${settings.runsPerUserPerMinute} per minute. Try again shortly.`,
      );
    }
    const exec: RunExecution = {
      scope: await resolveRunScope(request, caller, { store, settings }),
      // What a kept approved run's requester may own when it starts, at most (see requesterNow).
      requesterRefs: caller.ownershipRefs,
      naming: tenantNamingOf(caller),
    };
    if (request.kind === 'rollback' && request.fromRunId !== undefined)
      exec.boundRevision = await this.boundRevision(request, request.fromRunId);
    if (
      request.kind !== 'tenant' &&
      request.kind !== 'tenant-delete' &&
      exec.scope.tenant
    ) {
      // The tenant whose namespace the run deploys to, as it is now: an approved run starts only
      // while it still is (see startKeptApproved).
      exec.tenantAtRequest = tenantSnapshot(
        (await store.getTenants(exec.scope.tenant)).find(
          t => t.cluster === request.cluster,
        ),
      );
    }
    /** A tenant run's tenant record as the request found it. */
    let tenantFound: TenantRecord | undefined;
    if (request.kind === 'tenant' || request.kind === 'tenant-delete') {
      const existing = await this.tenantRecord(request);
      tenantFound = existing;
      await this.checkTenantRequest(request, existing, caller, actor);
      exec.tenantAdmin = caller.isTenantAdmin;
      // What an approved run (or the transaction that records this one) checks the tenant against.
      exec.tenantAtRequest = tenantSnapshot(existing);
      if (
        request.kind === 'tenant' &&
        existing &&
        existing.status !== 'deleted'
      ) {
        const previous = existing.lastRunId
          ? await store.getRun(existing.lastRunId)
          : undefined;
        exec.changes = describeTenantChanges(
          existing,
          previous?.kind === 'tenant' ? previous.input : undefined,
          request,
        );
      }
    }
    // A chart, manifests or rollback run into a tenant's namespace is protected as that tenant is.
    const tenant =
      plan.tenant ??
      exec.scope.tenant ??
      (await this.tenantOfTarget(plan.target))?.code;
    const rule = this.options.approvals
      ? protectingRule(this.options.approvals, plan.target, tenant) ??
        (await this.clusterScopedGate(request, exec))
      : undefined;
    if (rule) {
      // An approved run whose input is kept starts on the deciding approval with the rights saved
      // here, which its requester may since have lost. So `tenantAdmin` stays set only when the
      // request needed kubechart.tenants.admin; such a request is not kept (`requestApproval`): the
      // requester submits it again (POST /runs/:id/execute) and is checked with their rights then.
      if (
        (request.kind === 'tenant' || request.kind === 'tenant-delete') &&
        exec.tenantAdmin
      )
        exec.tenantAdmin = await this.needsTenantsAdmin(
          request,
          tenantFound,
          caller,
          actor,
        );
      return this.requestApproval(request, plan, actor, exec, rule);
    }
    return this.start(request, plan, actor, exec);
  }

  /**
   * The gate of a run that may apply or remove cluster-scoped objects other than a Namespace (a CRD,
   * RBAC, a PersistentVolume: each reaches into every namespace) on a cluster an approval rule covers,
   * whatever namespace it targets (see `clusterScopedRule`). A manifests run is judged by its objects;
   * a chart or rollback run, whose objects are known only once rendered, by what its scope allows; a
   * tenant delete, or a tenant run that prunes releases, by what the cluster allows, as it uninstalls
   * the releases' allowed cluster-scoped objects with the engine's identity whatever its caller may
   * apply, and their records are read only as it runs (fail closed). Throws NotAllowedError (403) when
   * none of the covering rules names an approver.
   */
  private async clusterScopedGate(
    request: CreateRunRequest,
    exec: RunExecution,
  ): Promise<ApprovalRule | undefined> {
    const { approvals, settings } = this.options;
    if (!approvals?.rules.length) return undefined;
    const removes =
      request.kind === 'tenant-delete' ||
      (request.kind === 'tenant' &&
        request.pruneReleases === true &&
        !!exec.changes?.droppedReleases.length);
    if (request.kind === 'tenant' && !removes) return undefined;
    const allowed = (
      removes
        ? settings.allowedClusterScopedKinds[request.cluster] ?? []
        : exec.scope.allowedClusterScopedKinds
    ).filter(k => !isNamespaceKind(k));
    if (!allowed.length) return undefined;
    let reaching: string[] = allowed;
    if (request.kind === 'manifests') {
      const objects = await parseManifestsInTurns(request.manifests, {
        maxObjects: MAX_POLICY_OBJECTS,
      });
      const isNamespaced = await this.discovery.lookup(
        request.cluster,
        objects,
      );
      reaching = objects
        .filter(
          o =>
            isNamespaced(String(o.apiVersion), String(o.kind)) !== true &&
            !isNamespaceKind(groupKind(String(o.apiVersion), String(o.kind))),
        )
        .map(o => `${o.kind}/${o.metadata?.name}`);
    }
    const rule = clusterScopedRule(approvals, request.cluster, reaching);
    if (rule && !rule.approvers.length) {
      throw new NotAllowedError(
        `This run may ${
          removes ? 'remove' : 'change'
        } cluster-scoped objects (${reaching.join(', ')}) on cluster ${
          request.cluster
        }, which reach into every namespace, including those approval rules protect there (approval gate: ${
          rule.name
        }); none of these rules names an approver other than owner (the owner of this run's namespace is not the owner of the namespaces it reaches), so nobody can approve it and it was not started. Name groups or users as approvers in those rules.`,
      );
    }
    return rule;
  }

  /**
   * A rollback requested from a run of the release's history (`fromRunId`) returns only to the
   * release record that run recorded for its revision (its digest, `approvedRevisionOf`, as an
   * approved rollback returns only to the record of its plan): 400 when that run did not leave this
   * release at this revision; 409 when it recorded no digest, or the release's record of the revision
   * is another one now (revision numbers restart once a release is uninstalled and installed again,
   * and the record is a Secret the namespace's users may rewrite). Nothing is recorded then. The
   * record is read as approval plans read it (`readingClient`); the run checks it again before helm runs.
   */
  private async boundRevision(
    request: Extract<CreateRunRequest, { kind: 'rollback' }>,
    runId: string,
  ): Promise<{ runId: string; digest: string }> {
    const { store } = this.options;
    const { cluster, namespace, release, revision } = request;
    const from = await store.getRun(runId);
    if (
      !from ||
      from.target.cluster !== cluster ||
      from.target.namespace !== namespace ||
      from.target.release !== release ||
      from.helmRevision !== revision
    ) {
      throw new InputError(
        `fromRunId ${runId} is not a run that left release ${release} in ${namespace} on cluster ${cluster} at revision ${revision}; nothing was rolled back`,
      );
    }
    const digest = await store.getReleaseRecordDigest(runId);
    if (!digest) {
      throw new ConflictError(
        `Release ${release} was not rolled back: run ${runId} recorded no digest of its release record of revision ${revision} (it ended before KubeChart recorded one, or the record could not be read then), so revision ${revision} cannot be told to be the one it installed; nothing was rolled back. Check the revision in the release's history and roll back to it by number, without fromRunId.`,
      );
    }
    let current: string | undefined;
    try {
      const record = await readHelmRelease(
        await this.readingClient(cluster, namespace),
        namespace,
        release,
        revision,
      );
      current = record && approvedRevisionOf(record);
    } catch (e) {
      throw new ConflictError(
        `Release ${release} was not rolled back: revision ${revision} of release ${release} in ${namespace} cannot be read (${
          isError(e) ? e.message : String(e)
        }), so it cannot be told to be the revision run ${runId} installed; nothing was rolled back`,
      );
    }
    if (current !== digest) {
      throw new ConflictError(
        `${unboundRevisionReason(
          request,
          runId,
          current !== undefined,
        )}; nothing was rolled back. Choose the revision again from the release's history.`,
      );
    }
    return { runId, digest };
  }

  /**
   * Whether a tenant or tenant-delete request passes its scope and tenant checks only because its
   * caller holds `kubechart.tenants.admin`: checked again as the same caller without it. Any refusal
   * counts (fail closed): the request then needs the permission.
   */
  private async needsTenantsAdmin(
    request: Extract<CreateRunRequest, { kind: 'tenant' | 'tenant-delete' }>,
    existing: TenantRecord | undefined,
    caller: RunCaller,
    actor: string,
  ): Promise<boolean> {
    const { store, settings } = this.options;
    const without: RunCaller = { ...caller, isTenantAdmin: false };
    try {
      await resolveRunScope(request, without, { store, settings });
      await this.checkTenantRequest(request, existing, without, actor);
      return false;
    } catch {
      return true;
    }
  }

  /** The record of a tenant or tenant-delete request's tenant on its cluster (undefined: none). */
  private async tenantRecord(
    request: Extract<CreateRunRequest, { kind: 'tenant' | 'tenant-delete' }>,
  ): Promise<TenantRecord | undefined> {
    return (await this.options.store.getTenants(request.tenant)).find(
      t => t.cluster === request.cluster,
    );
  }

  /**
   * What a tenant or tenant-delete request (its scope resolved) is refused for before anything is
   * recorded, as `caller`, in `submit` and in `previewAs` alike: a live tenant of another owner
   * (409), what it claims ({@link RunEngine.checkTenantClaims}: its owner, quota and entity), and the
   * tenant budgets (429). The budgets are checked again when the run is recorded, in the transaction
   * that writes the tenant (two requests at once), and when an approved run starts.
   */
  private async checkTenantRequest(
    request: Extract<CreateRunRequest, { kind: 'tenant' | 'tenant-delete' }>,
    existing: TenantRecord | undefined,
    caller: RunCaller,
    actor: string,
  ): Promise<void> {
    const { store, settings } = this.options;
    await refuseOthersTenant(request, existing, caller);
    await this.checkTenantClaims(request, existing, caller, actor);
    await checkTenantBudget(
      request,
      existing,
      tenantOwnerAfter(request, existing, actor),
      caller.isTenantAdmin,
      settings,
      owner => store.countActiveTenants({ owner }),
    );
  }

  /** Records a run, takes its locks (409 when held) and executes it in the background. */
  private async start(
    request: CreateRunRequest,
    plan: RunPlan,
    actor: string,
    exec: RunExecution,
    approvedRunId?: string,
  ): Promise<Run> {
    const { store, settings } = this.options;
    const lockStartedAt = performance.now();
    const lockWait = (outcome: 'acquired' | 'conflict') =>
      this.options.metrics?.lockAcquired(
        performance.now() - lockStartedAt,
        outcome,
      );
    const abandonedBefore = new Date(
      Date.now() - settings.releaseLocksAfterSeconds * 1000,
    );
    const runId = approvedRunId ?? randomUUID();
    // The tenant record as the transaction that claimed it found it (restored if the run is refused its namespace).
    const claimed: { before?: TenantRecord } = {};
    const tenant =
      request.kind === 'tenant' || request.kind === 'tenant-delete'
        ? this.tenantClaim(request, plan, actor, exec, runId, claimed)
        : undefined;
    // The run holds one of its actor's slots while it is active (429 when all are held).
    const actorSlots = {
      actor,
      keys: actorSlotKeys(actor, settings.runsPerUserAtOnce),
    };
    // With the tenants, who owns the target as the run starts: recorded on it, for drift.
    const assignedOwner =
      settings.namespaceOwners[plan.target.cluster]?.[plan.target.namespace];
    const created = approvedRunId
      ? store.startApprovedRun(
          approvedRunId,
          withNamespaceLock(plan.target, plan.lockKeys),
          { abandonedBefore, tenant, actorSlots, assignedOwner },
        )
      : store.createRun(
          {
            id: runId,
            kind: request.kind,
            status: 'pending',
            entityRef: request.entityRef,
            entityOwner: await this.entityOwnerOf(request, exec, actor),
            actor,
            template: request.template,
            target: plan.target,
            tenant: plan.tenant,
            input: plan.redactedInput,
          },
          withNamespaceLock(plan.target, plan.lockKeys),
          // A reconciled run keeps its locks until its backend stopped it, or until this long after its last heartbeat.
          { abandonedBefore, tenant, actorSlots, assignedOwner },
        );
    const run = await created.catch(async e => {
      if (e instanceof TenantFoundChanged && tenant) {
        const change = await describeTenantChange(
          { tenant: tenant.code, cluster: tenant.cluster },
          exec.tenantAtRequest,
          e.now,
          namingOf(exec, actor),
        );
        throw new TenantChangedError(change ?? e.message);
      }
      if (e instanceof ConflictError && !(e instanceof TenantChangedError))
        lockWait('conflict');
      throw e;
    });
    lockWait('acquired');
    this.options.listener?.onRunChanged?.(run);
    const work = this.executeLeased(run, request, exec, claimed).finally(() => {
      this.active.delete(run.id);
    });
    this.active.set(run.id, work);
    return run;
  }

  /**
   * The tenant record a tenant run writes in the transaction that records (or starts) it, with the
   * budgets a tenant that becomes live or changes owner must fit, counted in that transaction.
   */
  private tenantClaim(
    request: Extract<CreateRunRequest, { kind: 'tenant' | 'tenant-delete' }>,
    plan: RunPlan,
    actor: string,
    exec: RunExecution,
    runId: string,
    claimed: { before?: TenantRecord },
  ): TenantClaim {
    const { settings } = this.options;
    return {
      cluster: request.cluster,
      code: request.tenant,
      record: existing => {
        claimed.before = existing;
        // A new tenant without an owner is owned by whoever created it.
        const owner = tenantOwnerAfter(request, existing, actor);
        return {
          cluster: request.cluster,
          code: request.tenant,
          namespace: plan.target.namespace,
          // A deleted tenant's entity (and its history) is not inherited, nor one moved to another owner.
          // A tenant-delete run keeps the tenant's entity (`checkTenantClaims` refuses naming another).
          entityRef:
            request.kind === 'tenant-delete'
              ? existing?.entityRef
              : tenantEntityRefAfter(request, existing, owner),
          owner,
          displayName:
            (request.kind === 'tenant' ? request.displayName : undefined) ??
            existing?.displayName,
          status: request.kind === 'tenant' ? 'provisioning' : 'deleting',
          lastRunId: runId,
          // Releases dropped from the spec stay recorded as long as they are installed: kept, or
          // until the run prunes them (each is removed once its `uninstall:` step is done, see
          // `Executors.tenant`). A deleted tenant's releases went with its namespace.
          releases:
            request.kind === 'tenant'
              ? [
                  ...new Set([
                    ...(existing && existing.status !== 'deleted'
                      ? existing.releases
                      : []),
                    ...request.releases.map(r => r.name),
                  ]),
                ]
              : existing?.releases ?? [],
        };
      },
      check: async (existing, record, count) => {
        // Created, deleted or moved by another run since this one was requested: nothing is recorded.
        if (tenantChanged(exec.tenantAtRequest, existing))
          throw new TenantFoundChanged(existing);
        await checkTenantBudget(
          request,
          existing,
          record.owner!,
          exec.tenantAdmin === true,
          settings,
          count,
        );
      },
    };
  }

  /**
   * What a protected run would do, for its approval: the preview (given secret values removed from
   * the manifests wherever a chart copied them) and the deployed revision of each release it changes.
   * For a rollback whose revision cannot be read, why (`unreadable`): it has no plan to approve.
   */
  private async planParts(
    request: CreateRunRequest,
    plan: RunPlan,
    scope: RunScope,
  ): Promise<PlanParts & { unreadable?: string }> {
    // Rendered and checked with the scope the run executes with (its allowed cluster-scoped kinds included).
    const { preview, manifests, revision, unreadable } =
      await this.renderPreview(request, scope);
    const revisions: Record<string, number | null> = {};
    const names = releaseNames(request);
    const { cluster, namespace } = plan.target;
    // Helm keeps releases in Secrets, which the engine's own identity may not read: the namespace's
    // deployer reads them, as it does for the run itself. A namespace not created yet holds none.
    const exists =
      names.length > 0 &&
      !!(await this.client(cluster).read({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      }));
    const reader = exists
      ? await this.readingClient(cluster, namespace)
      : undefined;
    for (const name of names) {
      const deployed = reader
        ? await readLatestHelmRelease(reader, namespace, name).catch(
            async e => {
              // A record kubechart will not read (too large, corrupt): the cluster's state, not the
              // request, stands in the way; nothing is recorded (409, not a server error).
              if (e instanceof RunFailure)
                throw new ConflictError(
                  `No approval plan can be made for this run: ${e.message}`,
                );
              // Nor when the deployer may not read them (a namespace created outside KubeChart has
              // no deployer RoleBinding until a run there starts): approvers would see no revisions.
              if (kubeStatusCode(e) === 403)
                throw new ConflictError(
                  `No approval plan can be made for this run, and no approval was requested: ${await deployerReadRefusal(
                    this.client(cluster),
                    cluster,
                    namespace,
                    e,
                    this.options.settings,
                  )}`,
                );
              throw e;
            },
          )
        : undefined;
      revisions[name] = deployed?.version ?? null;
    }
    return { request, preview, revisions, manifests, revision, unreadable };
  }

  /** The live tenant whose namespace a target is, if any (tenant records know each tenant's cluster and namespace). */
  private async tenantOfTarget(
    target: RunPlan['target'],
  ): Promise<TenantRecord | undefined> {
    return (await this.options.store.getTenants()).find(
      t =>
        t.cluster === target.cluster &&
        t.namespace === target.namespace &&
        t.status !== 'deleted',
    );
  }

  /**
   * The owner of a run's target, for the `owner` approver: the owner of the tenant whose namespace it
   * is (for a tenant not created yet, the owner its tenant run asks for), else the owner the platform
   * assigned to the namespace. Never the owner of an entity the request names: the requester chooses
   * that. Undefined when no owner can be established, and `owner` then names nobody (fail closed).
   */
  private async targetOwner(
    request: CreateRunRequest,
    plan: RunPlan,
  ): Promise<string | undefined> {
    const tenant = await this.tenantOfTarget(plan.target);
    const assigned =
      this.options.settings.namespaceOwners[plan.target.cluster]?.[
        plan.target.namespace
      ];
    if (tenant) return tenant.owner ?? assigned;
    if (request.kind === 'tenant') return request.owner ?? assigned;
    return assigned;
  }

  /**
   * The owner a run's entity has as the run is recorded (`NewRun.entityOwner`): for a tenant or
   * tenant-delete run see `tenantRunEntityOwner`, else the entity's owner as the run's scope check
   * read it.
   */
  private async entityOwnerOf(
    request: CreateRunRequest,
    exec: RunExecution,
    actor: string,
  ): Promise<string | undefined> {
    if (!request.entityRef) return undefined;
    if (request.kind === 'tenant' || request.kind === 'tenant-delete')
      return tenantRunEntityOwner(
        {
          cluster: request.cluster,
          tenant: request.tenant,
          entityRef: request.entityRef,
        },
        tenantOwnerAfter(request, await this.tenantRecord(request), actor),
        this.options.requesters?.readEntity,
      );
    return exec.scope.entityOwner;
  }

  /** The refs whose members may approve under `rule`: `owner` is the owner of the run's target. */
  private async resolveApprovers(
    rule: ApprovalRule,
    request: CreateRunRequest,
    plan: RunPlan,
  ): Promise<string[]> {
    const refs = new Set<string>();
    for (const approver of rule.approvers) {
      if (approver !== OWNER_APPROVER) {
        refs.add(approver);
        continue;
      }
      const owner = await this.targetOwner(request, plan);
      if (owner) refs.add(owner);
    }
    return [...refs];
  }

  /**
   * A run against a protected target: its plan is rendered and checked with the run's scope, and the
   * run is recorded as `awaiting-approval` with the plan's hash; nothing is applied and no lock is
   * taken. A plan the preview refuses waits too: the preview is never a reason to skip approval
   * (fail closed), and the approvers see the refusal in its policy report.
   */
  private async requestApproval(
    request: CreateRunRequest,
    plan: RunPlan,
    actor: string,
    exec: RunExecution,
    rule: ApprovalRule,
  ): Promise<Run> {
    const { store } = this.options;
    const approvers = (await this.resolveApprovers(rule, request, plan)).filter(
      a => a !== actor,
    );
    if (approvers.length === 0) {
      // Fail closed: a protected target nobody can approve changes for is not changed.
      throw new NotAllowedError(
        `${plan.target.namespace} on ${
          plan.target.cluster
        } is protected by approval rule ${
          rule.name
        }, but no approver can be resolved for this run (the rule's approvers are ${rule.approvers.join(
          ', ',
        )}, and the requester cannot approve their own run)`,
      );
    }
    const parts = await this.planParts(request, plan, exec.scope);
    if (parts.unreadable !== undefined) {
      // Approvers would see no manifest, and approve a revision nobody has read: nothing is recorded.
      throw new ConflictError(
        `No approval plan can be made for this run: ${parts.unreadable}; no approval was requested`,
      );
    }
    const salt = newPlanSalt();
    // The approvers review the change from what the target last received, found by the target:
    // not by the entity the requester names (any run there may have named another one, or none),
    // nor among the cluster's newest runs only.
    const previousRunId = await store.findPreviousRun(plan.target, plan.tenant);
    // The input is kept for execution only when it holds no secret value, and (a tenant run) when it
    // needed no kubechart.tenants.admin (see `submit`); otherwise the requester submits it again.
    const needsRights =
      (request.kind === 'tenant' || request.kind === 'tenant-delete') &&
      exec.tenantAdmin === true;
    const kept =
      !needsRights &&
      canonicalJson(plan.redactedInput) === canonicalJson(planInput(request))
        ? request
        : undefined;
    let values: Record<string, unknown> | undefined;
    const declared = declaredSecretValues(request);
    if (request.kind === 'chart')
      values = redactDeclaredSecrets(
        redactValues(request.release.values ?? {}),
        declared,
      );
    if (request.kind === 'tenant')
      values = Object.fromEntries(
        request.releases.map(r => [
          r.name,
          redactDeclaredSecrets(redactValues(r.values ?? {}), declared),
        ]),
      );
    const run = await store.createAwaitingRun(
      {
        id: randomUUID(),
        kind: request.kind,
        status: 'awaiting-approval',
        entityRef: request.entityRef,
        entityOwner: await this.entityOwnerOf(request, exec, actor),
        actor,
        template: request.template,
        target: plan.target,
        tenant: plan.tenant,
        input: plan.redactedInput,
      },
      {
        rule: rule.name,
        required: rule.required,
        approvers,
        planHash: planHash(parts, salt),
        planSalt: salt,
        expiresAt: new Date(Date.now() + rule.expiresAfterMs),
        previousRunId,
        request: kept,
        // Whom the run's messages are for is the requester as checked now: not kept.
        exec: (({ naming: _naming, ...rest }) => rest)(exec),
      },
      {
        ...(parts.preview.manifest !== undefined
          ? { manifest: parts.preview.manifest }
          : {}),
        ...(parts.preview.policyReport
          ? { policyReport: parts.preview.policyReport }
          : {}),
        ...(values ? { values } : {}),
      },
      // However many requests one user opens, approvers' inboxes are not flooded with them.
      { maxOpenPerActor: this.options.settings.openApprovalsPerUser },
    );
    await this.options.notifier
      ?.approvalRequested(run, approvers)
      .catch(e =>
        this.options.logger.warn(
          `Approvers of run ${run.id} were not notified: ${e}`,
        ),
      );
    this.options.listener?.onRunChanged?.(run);
    return run;
  }

  /** Whether `decider` may approve or reject the run now, and if not, why. */
  async mayDecide(
    run: Pick<Run, 'actor' | 'approval'>,
    decider: ApprovalDecider,
  ): Promise<{ mayDecide: boolean; reason?: string }> {
    const approval = run.approval;
    if (!approval)
      return { mayDecide: false, reason: 'this run needs no approval' };
    if (approval.state !== 'awaiting')
      return { mayDecide: false, reason: `the approval is ${approval.state}` };
    if (isApprovalExpired(approval))
      return {
        mayDecide: false,
        reason: `the approval expired at ${approval.expiresAt}`,
      };
    return this.isApproverOf(run, approval, decider);
  }

  /** Whether `decider` is one of the run's approvers who has not decided yet (state and expiry aside). */
  private isApproverOf(
    run: Pick<Run, 'actor'>,
    approval: NonNullable<Run['approval']>,
    decider: ApprovalDecider,
  ): { mayDecide: boolean; reason?: string } {
    if (decider.userEntityRef === run.actor)
      return {
        mayDecide: false,
        reason: 'you requested this run; another approver must decide',
      };
    if (!decider.mayApprove)
      return {
        mayDecide: false,
        reason: 'you do not hold the kubechart.runs.approve permission',
      };
    if (!approval.approvers.some(a => decider.ownershipRefs.includes(a))) {
      return {
        mayDecide: false,
        reason: `only ${approval.approvers.join(' or ')} may approve this run`,
      };
    }
    if (approval.decisions.some(d => d.by === decider.userEntityRef))
      return { mayDecide: false, reason: 'you already decided on this run' };
    return { mayDecide: true };
  }

  /**
   * Records a decision on a run awaiting approval. NotAllowedError (403) unless the decider may
   * decide; ConflictError (409) when it is no longer awaiting. The decisive approval of a plan whose
   * input the backend kept starts the run; otherwise the requester submits the input again.
   */
  async decide(
    runId: string,
    decider: ApprovalDecider,
    decision: 'approve' | 'reject',
    comment: string,
  ): Promise<Run> {
    const run = await this.options.store.getRun(runId);
    if (!run) throw new NotFoundError(`Run ${runId} not found`);
    if (!comment.trim())
      throw new InputError('A comment is required to approve or reject a run');
    if (run.approval && run.approval.state !== 'awaiting')
      throw new ConflictError(
        `Run ${runId} is not awaiting approval (its approval is ${run.approval.state})`,
      );
    // Only one of its approvers learns that it expired (and ends it, 409): anyone else gets 403.
    const approver = run.approval
      ? this.isApproverOf(run, run.approval, decider)
      : undefined;
    if (approver && !approver.mayDecide)
      throw new NotAllowedError(
        `You may not decide on run ${runId}: ${approver.reason}`,
      );
    // Past its expiry (the scheduled task has not ended it yet): ended now, 409.
    if (run.approval && isApprovalExpired(run.approval))
      await this.endExpiredApproval(runId);
    const may = await this.mayDecide(run, decider);
    if (!may.mayDecide)
      throw new NotAllowedError(
        `You may not decide on run ${runId}: ${may.reason}`,
      );
    const entry = {
      by: decider.userEntityRef,
      decision,
      comment: scrubComment(comment),
    };
    const decided = await this.options.store
      .decideApproval(runId, entry)
      .catch(e => this.afterExpired(runId, e));
    this.approvalChanged(decided);
    await this.options.notifier
      ?.decisionTaken(decided, entry)
      .catch(e =>
        this.options.logger.warn(
          `The requester of run ${runId} was not notified: ${e}`,
        ),
      );
    if (decided.approval?.state === 'approved' && !decided.approval.resubmit) {
      return this.startKeptApproved(runId).catch(async e => {
        // E.g. the target is locked by another run: the scheduled approval task starts it later.
        // Or its plan or tenant changed: the run has failed, as the answer shows.
        this.options.logger.warn(
          `Approved run ${runId} did not start yet: ${e}`,
        );
        return (await this.options.store.getRun(runId)) ?? decided;
      });
    }
    return decided;
  }

  /**
   * Withdraws a run awaiting approval, or approved and not started, for its requester (`actor`, the
   * only one who may: NotAllowedError, 403, for anyone else): its gate ends as `withdrawn` and the
   * run fails saying so, in the transaction that locks the gate as decisions and starts do, so no
   * later approval or start applies it. ConflictError (409) when it has no open gate (started,
   * decided, ended), or its approval expired (ended as `expired` now).
   */
  async withdraw(runId: string, actor: string, comment?: string): Promise<Run> {
    const { store, notifier, logger } = this.options;
    const run = await store.getRun(runId);
    if (!run) throw new NotFoundError(`Run ${runId} not found`);
    if (run.actor !== actor)
      throw new NotAllowedError(
        `You may not withdraw run ${runId}: only ${run.actor}, who requested it, may withdraw it`,
      );
    const notOpen = (state: string | undefined) =>
      new ConflictError(
        state
          ? `Run ${runId} is not open for approval (its approval is ${state}); nothing was withdrawn`
          : `Run ${runId} needs no approval and is ${run.status}; nothing was withdrawn`,
      );
    if (
      !run.approval ||
      !(OPEN_APPROVAL_STATES as readonly string[]).includes(run.approval.state)
    )
      throw notOpen(run.approval?.state);
    // Past its expiry it ends as expired (what happened first), 409.
    if (isApprovalExpired(run.approval)) await this.endExpiredApproval(runId);
    const why = comment === undefined ? undefined : scrubComment(comment);
    const ended = await store.endApproval(
      runId,
      'withdrawn',
      `Withdrawn by ${actor}${why ? `: ${why}` : ''}; nothing was applied`,
    );
    // Decided, started or ended meanwhile: that stands.
    if (!ended) throw notOpen((await store.getRun(runId))?.approval?.state);
    this.approvalChanged(ended);
    await notifier
      ?.approvalWithdrawn?.(ended)
      .catch(e =>
        logger.warn(
          `The approvers of run ${runId} were not told it was withdrawn: ${e}`,
        ),
      );
    return ended;
  }

  /**
   * Starts an approved run whose input the backend kept, with the scope resolved when it was
   * requested; a tenant run is checked against its tenant and requester as they were then, and a
   * run into a tenant's namespace against that tenant as it was then (deleted or moved to another
   * owner since: the approval ends as `changed`, nothing is applied). A tenant run kept with
   * kubechart.tenants.admin (requested before such runs were no longer kept) is not started with
   * that saved right: its approval ends as `changed`. Its requester is checked as it is now, not as
   * its request found it (see {@link RunEngine.checkKeptRequester}).
   */
  private async startKeptApproved(runId: string): Promise<Run> {
    const record = await this.options.store.getApprovalRecord(runId);
    const run = await this.options.store.getRun(runId);
    if (!record?.request || !run)
      throw new ConflictError(`Run ${runId} has no kept input to start from`);
    const exec = record.exec as RunExecution;
    if (
      (run.kind === 'tenant' || run.kind === 'tenant-delete') &&
      exec.tenantAdmin === true
    ) {
      const ended = await this.options.store.endApproval(
        run.id,
        'changed',
        `Run ${run.id} was requested with kubechart.tenants.admin, which is checked again only when its requester submits it; nothing was applied. Submit the run again for a new approval.`,
      );
      if (ended) this.approvalChanged(ended);
      throw new ConflictError(
        ended?.failureReason ??
          `Run ${run.id} was requested with kubechart.tenants.admin; nothing was applied`,
      );
    }
    await this.checkApprovedTarget(run, exec);
    const scope = await this.checkKeptRequester(run, record.request, exec);
    return this.startApproved(
      run,
      record.request,
      { ...exec, scope },
      record.planHash,
      record.planSalt,
    );
  }

  /**
   * The requester of a kept approved run as it is now: nothing of theirs (no token) tells their
   * groups when the run starts on its deciding approval or the scheduled task, so they are read
   * from the catalog (`requesters`): the user and the groups it is a member of, of those it held
   * when it asked (a tenant run keeps them; a claim is never wider than at request time). No
   * kubechart.tenants.admin (a request that needed it is not kept); kubechart.runs.cluster-scoped as
   * the request held it. ServiceUnavailableError (503) when the catalog cannot be read: the run is
   * not started and stays approved, tried again by the scheduled task.
   */
  private async requesterNow(run: Run, exec: RunExecution): Promise<RunCaller> {
    const directory = this.options.requesters;
    let now: string[];
    try {
      now = directory ? await directory.ownershipRefs(run.actor) : [];
    } catch (e) {
      // The requester is gone from the catalog: the approval ends (see checkKeptRequester).
      if (e instanceof NotAllowedError) throw e;
      throw new ServiceUnavailableError(
        `Approved run ${run.id} did not start: what ${
          run.actor
        } owns now could not be read from the catalog (${
          isError(e) ? e.message : String(e)
        }); it is tried again`,
      );
    }
    const saved = exec.requesterRefs;
    // Entities as the catalog holds them (the plugin's view; the requester's is not known now).
    const readEntity = async (ref: string) => {
      try {
        return await directory?.readEntity(ref);
      } catch (e) {
        throw new ServiceUnavailableError(
          `Approved run ${
            run.id
          } did not start: the catalog could not be read (${
            isError(e) ? e.message : String(e)
          }); it is tried again`,
        );
      }
    };
    return {
      ownershipRefs: [
        run.actor,
        ...now.filter(r => r !== run.actor && (!saved || saved.includes(r))),
      ],
      mayApplyClusterScoped: exec.scope.allowedClusterScopedKinds.length > 0,
      isTenantAdmin: false,
      ...(directory
        ? {
            readEntity,
            entityExists: async (ref: string) => Boolean(await readEntity(ref)),
          }
        : {}),
    };
  }

  /**
   * Before a kept approved run starts: its requester, as it is now ({@link RunEngine.requesterNow}),
   * must still pass the checks of what it owns that its request passed: the scope of its target
   * (the tenant's or namespace's owner, the entity's owner) and, for a tenant run, who may change
   * that tenant and what it claims. And the cluster-scoped kinds it may apply are those the cluster
   * still allows (`kubechart.clusters.<name>.allowedClusterScopedKinds`), of those allowed then.
   * When one no longer holds, the approval ends as `changed` (the run fails, nothing applied; the
   * requester submits it again) and ConflictError says why. Returns the scope the run starts with.
   */
  private async checkKeptRequester(
    run: Run,
    request: CreateRunRequest,
    exec: RunExecution,
  ): Promise<RunScope> {
    const { store, settings } = this.options;
    let now: RunScope;
    try {
      const requester = await this.requesterNow(run, exec);
      const existing = await this.checkApprovedTenant(
        run,
        request,
        exec,
        requester,
      );
      now = await resolveRunScope(request, requester, { store, settings });
      if (request.kind === 'tenant' || request.kind === 'tenant-delete')
        await this.checkTenantClaims(request, existing, requester, run.actor);
    } catch (e) {
      if (!(e instanceof NotAllowedError || e instanceof ConflictError))
        throw e;
      const ended = await store.endApproval(
        run.id,
        'changed',
        `${run.actor}, who requested this run, may no longer make it: ${e.message}; nothing was applied. Submit the run again for a new approval.`,
      );
      // Ended already (its tenant changed, see checkApprovedTenant): that reason stands.
      if (!ended) throw e;
      this.approvalChanged(ended);
      throw new ConflictError(ended.failureReason ?? e.message);
    }
    const kinds = exec.scope.allowedClusterScopedKinds.filter(k =>
      now.allowedClusterScopedKinds.includes(k),
    );
    const applied = approvedKinds(run);
    const lost = exec.scope.allowedClusterScopedKinds.filter(
      k => !kinds.includes(k) && applied.has(k),
    );
    if (lost.length) {
      const ended = await store.endApproval(
        run.id,
        'changed',
        `kubechart.clusters.${
          run.target.cluster
        }.allowedClusterScopedKinds no longer allows ${lost.join(
          ', ',
        )}, which the approved plan of this run applies; nothing was applied. Submit the run again for a new approval.`,
      );
      if (ended) this.approvalChanged(ended);
      throw new ConflictError(
        ended?.failureReason ??
          `Run ${run.id}: ${lost.join(
            ', ',
          )} no longer allowed; nothing was applied`,
      );
    }
    // Otherwise what the plan holds of a kind no longer allowed is refused by the policy check.
    return { ...exec.scope, allowedClusterScopedKinds: kinds };
  }

  /**
   * Before an approved chart, manifests or rollback run into a tenant's namespace starts (kept or
   * submitted again): the tenant must be as it was when the run was requested, whose owner its
   * approvers were worked out from; deleted or moved to another owner since, the approval ends as
   * `changed` and nothing is applied.
   */
  private async checkApprovedTarget(
    run: Run,
    exec: RunExecution,
    naming: TenantNaming = namingOf(exec, run.actor),
  ): Promise<void> {
    if (run.kind === 'tenant' || run.kind === 'tenant-delete') return;
    const tenant = exec.scope.tenant;
    if (!tenant) return;
    const cluster = run.target.cluster;
    const now = (await this.options.store.getTenants(tenant)).find(
      t => t.cluster === cluster,
    );
    const changed = await describeTenantChange(
      { tenant, cluster },
      exec.tenantAtRequest,
      now,
      naming,
    );
    if (changed) await this.endChangedTenant(run, changed);
  }

  /**
   * Before an approved tenant or tenant-delete run starts: the tenant must be as it was when the run
   * was requested (not created, deleted or moved to another owner by another run since), else the
   * approval ends as `changed` and nothing is applied; and the requester (`caller`) must still be
   * allowed to change a live tenant (409 otherwise, the approval stays). Resolves the tenant record.
   */
  private async checkApprovedTenant(
    run: Run,
    request: CreateRunRequest,
    exec: RunExecution,
    caller: RunCaller,
  ): Promise<TenantRecord | undefined> {
    if (request.kind !== 'tenant' && request.kind !== 'tenant-delete')
      return undefined;
    const existing = (await this.options.store.getTenants(request.tenant)).find(
      t => t.cluster === request.cluster,
    );
    const changed = await describeTenantChange(
      request,
      exec.tenantAtRequest,
      existing,
      tenantNamingOf(caller),
    );
    if (changed) await this.endChangedTenant(run, changed);
    await refuseOthersTenant(request, existing, caller);
    return existing;
  }

  /** Ends an approved tenant run whose tenant changed since it was requested, and throws ConflictError. */
  private async endChangedTenant(run: Run, change: string): Promise<never> {
    const ended = await this.options.store.endApproval(
      run.id,
      'changed',
      `${change}; nothing was applied. Submit the run again for a new approval.`,
    );
    if (ended) this.approvalChanged(ended);
    throw new ConflictError(
      ended?.failureReason ?? `Run ${run.id}: ${change}; nothing was applied`,
    );
  }

  /**
   * What a tenant run claims, checked when it is submitted and again when an approved run's input
   * is: an owner the caller acts for (or a tenants admin), so nobody creates tenants in another
   * team's name; no other team's entity, whose deployment history its runs would enter; and no
   * entity whose deployment history is an earlier owner's, which the tenant's owner could then read.
   */
  private async checkTenantClaims(
    request: Extract<CreateRunRequest, { kind: 'tenant' | 'tenant-delete' }>,
    existing: TenantRecord | undefined,
    caller: RunCaller,
    actor: string,
  ) {
    const { store } = this.options;
    checkRequestedTenantOwner(request, existing, caller, actor);
    checkTenantQuota(request, caller.isTenantAdmin, this.options.settings);
    const owner = tenantOwnerAfter(request, existing, actor);
    if (request.entityRef) {
      await checkTenantEntity(
        {
          cluster: request.cluster,
          tenant: request.tenant,
          entityRef: request.entityRef,
        },
        existing,
        owner,
        caller,
        { store },
      );
      if (request.kind === 'tenant')
        await checkTenantEntityHistory(
          { tenant: request.tenant, entityRef: request.entityRef },
          existing,
          owner,
          caller,
          { store },
          `Tenant ${request.tenant} may not name ${request.entityRef}`,
        );
      // A tenant-delete run does not change the tenant's entity: naming another would hand the
      // tenant (while it is deleting, or failed) an entity the history checks above never looked at.
      const own = existing ? entityRefOfTenant(existing) : undefined;
      if (request.kind === 'tenant-delete' && request.entityRef !== own)
        throw new InputError(
          `Tenant ${request.tenant} may not name ${
            request.entityRef
          }: a tenant-delete run keeps the entity of the tenant it deletes (${
            own ?? 'none'
          }); nothing was deleted. Name that entity, or none.`,
        );
    } else if (request.kind === 'tenant') {
      // Without one it has the System named by its code (or the entity it named before, while it is
      // live and keeps its owner), which the tenant provider makes: another owner's tenant that has
      // it already would lose it to this one.
      const inherited = tenantEntityRefAfter(request, existing, owner);
      const implicit = entityRefOfTenant({
        code: request.tenant,
        entityRef: inherited,
      });
      if (implicit) {
        const refusal = inherited
          ? `Tenant ${request.tenant} may not name ${implicit}`
          : `Tenant ${request.tenant} may not have ${implicit} as its entity (the System named by its code)`;
        await checkTenantEntityUnclaimed(
          {
            cluster: request.cluster,
            tenant: request.tenant,
            entityRef: implicit,
          },
          owner,
          caller,
          { store },
          inherited ? refusal : undefined,
        );
        await checkTenantEntityHistory(
          { tenant: request.tenant, entityRef: implicit },
          existing,
          owner,
          caller,
          { store },
          refusal,
        );
        // The System named by its code may be another team's in the catalog already: read as the
        // plugin sees the catalog, which a caller's view (or a relayed run's lack of one) may not show.
        const catalog = this.options.requesters?.readEntity;
        if (!inherited && catalog)
          await checkTenantSystemInCatalog(
            {
              cluster: request.cluster,
              tenant: request.tenant,
              entityRef: implicit,
            },
            existing,
            caller,
            catalog,
            refusal,
          );
      }
    }
  }

  /**
   * `POST /runs/:id/execute`: the requester submits the input of an approved run again (it held
   * secret values the backend did not keep). The plan is rendered again and must be the approved one.
   */
  async executeApproved(
    runId: string,
    submitted: CreateRunRequest,
    actor: string,
    caller: RunCaller = plainCaller(actor),
  ): Promise<Run> {
    const { store, settings } = this.options;
    const request = withNormalizedTenantEntityRef(submitted);
    const run = await store.getRun(runId);
    const record = await store.getApprovalRecord(runId);
    if (!run || !record)
      throw new NotFoundError(`Run ${runId} not found or needs no approval`);
    if (run.actor !== actor)
      throw new NotAllowedError(
        `Only ${run.actor}, who requested run ${runId}, may submit its input`,
      );
    if (record.state !== 'approved')
      throw new ConflictError(
        `Run ${runId} is not approved (its approval is ${record.state})`,
      );
    if (isApprovalExpired(record)) await this.endExpiredApproval(runId);
    await this.checkChartSources(request);
    // The run's target as it was approved (the request, compared below, must be the same one).
    await this.checkApprovedTarget(
      run,
      record.exec as RunExecution,
      tenantNamingOf(caller),
    );
    const exec: RunExecution = {
      ...(record.exec as RunExecution),
      scope: await resolveRunScope(request, caller, { store, settings }),
      tenantAdmin: caller.isTenantAdmin,
      naming: tenantNamingOf(caller),
    };
    if (request.kind === 'tenant' || request.kind === 'tenant-delete') {
      // The tenant may have changed hands, the requester may have left the owning group since the
      // request, the entity may have changed hands.
      const existing = await this.checkApprovedTenant(
        run,
        request,
        exec,
        caller,
      );
      await this.checkTenantClaims(request, existing, caller, actor);
    }
    return this.startApproved(
      run,
      request,
      exec,
      record.planHash,
      record.planSalt,
    );
  }

  private async startApproved(
    run: Run,
    request: CreateRunRequest,
    exec: RunExecution,
    approvedHash: string,
    salt: string,
  ): Promise<Run> {
    const plan = await planRun(
      request,
      this.options.clusters,
      this.options.settings.deployerNamespace,
    );
    if (
      request.kind !== run.kind ||
      canonicalJson(plan.target) !== canonicalJson(run.target)
    ) {
      throw new InputError(
        `The submitted input is a ${request.kind} run on ${plan.target.cluster}/${plan.target.namespace}, not the approved ${run.kind} run on ${run.target.cluster}/${run.target.namespace}`,
      );
    }
    const parts = await this.planParts(request, plan, exec.scope);
    // Rendering took a while: expired meanwhile, it is not started (checked again as it starts).
    if (run.approval && isApprovalExpired(run.approval))
      await this.endExpiredApproval(run.id);
    // A rollback whose revision cannot be read now has no plan to compare (an approval requested
    // before such plans were refused may have none either): not started.
    if (
      parts.unreadable !== undefined ||
      planHash(parts, salt) !== approvedHash
    ) {
      const ended = await this.options.store.endApproval(
        run.id,
        'changed',
        `The plan changed after approval (${
          parts.unreadable ?? describePlanChange(run.manifest, parts)
        }); nothing was applied. Submit the change again for a new approval.`,
      );
      if (ended) this.approvalChanged(ended);
      throw new ConflictError(
        ended?.failureReason ??
          `Run ${run.id}: the plan changed after approval; nothing was applied`,
      );
    }
    // The run installs each release only from the chart (digest) the approved plan was rendered from.
    const approvedCharts = Object.fromEntries(
      (parts.preview.policyReport?.charts ?? []).map(c => [
        c.release,
        c.digest,
      ]),
    );
    // And applies only what renders at install as the plan did (the same objects, normalised): the plan
    // is an offline first install, helm renders again against the cluster. These come from the render
    // just compared with the approved plan, so they are what the approvers saw. A rollback returns
    // only to the release record the approved plan was read from (its digest is part of the plan).
    let approved: RunExecution = exec;
    if (request.kind === 'chart' || request.kind === 'tenant')
      approved = {
        ...exec,
        approvedCharts,
        approvedManifests: parts.manifests ?? {},
      };
    else if (request.kind === 'rollback')
      approved = { ...exec, approvedRevision: parts.revision };
    return this.start(request, plan, run.actor, approved, run.id).catch(e =>
      // The transaction that starts it found the tenant changed (another run created or moved it),
      // or the approval expired.
      e instanceof TenantChangedError
        ? this.endChangedTenant(run, e.change)
        : this.afterExpired(run.id, e),
    );
  }

  /**
   * Ends an approval past its expiry as `expired` (the run fails, nothing applied), as the
   * scheduled task would, and throws ConflictError (409) saying when it expired.
   */
  private async endExpiredApproval(runId: string): Promise<never> {
    const { store } = this.options;
    const record = await store.getApprovalRecord(runId);
    const reason = record
      ? expiredApprovalReason({ ...record, approvals: approvalCount(record) })
      : `The approval of run ${runId} expired; nothing was applied`;
    const ended = await store.endApproval(runId, 'expired', reason);
    if (ended) {
      this.approvalChanged(ended);
      throw new ApprovalExpiredError(runId, ended.failureReason ?? reason);
    }
    // Ended meanwhile (by the scheduled task, another decision or a start).
    const now = await store.getRun(runId);
    if (now?.approval?.state === 'expired')
      throw new ApprovalExpiredError(runId, now.failureReason ?? reason);
    throw new ConflictError(
      `Run ${runId} is no longer open for approval (its approval is ${now?.approval?.state})`,
    );
  }

  /**
   * Tells the listener of a run its approval changed (decided, or ended: rejected, withdrawn,
   * expired, changed), and counts a run it ended in the metrics: only the store call that ended the
   * approval answers a run it ended, so each is counted once (never executed, the engine's end of
   * an execution does not count it).
   */
  private approvalChanged(run: Run): void {
    if (run.status === 'failed') this.options.metrics?.runFinished(run);
    this.options.listener?.onRunChanged?.(run);
  }

  /** Rethrows `e`; when the store ended the approval as expired, tells the listener first. */
  private async afterExpired(runId: string, e: unknown): Promise<never> {
    if (e instanceof ApprovalExpiredError) {
      const ended = await this.options.store
        .getRun(runId)
        .catch(() => undefined);
      if (ended) this.approvalChanged(ended);
    }
    throw e;
  }

  /**
   * The scheduled approval work: ends gates past their expiry (the run fails, nothing applied) and
   * starts approved runs whose input was kept but whose target was locked, or whose requester had
   * as many runs active as it may, when they were approved. Every approved run waiting is tried,
   * the oldest first; its plan is rendered again (a helm process) only when it may start now.
   */
  async tendApprovals(): Promise<{ expired: number; started: number }> {
    const { store, logger, settings } = this.options;
    let expired = 0;
    for (const id of await store.findExpiredApprovals(new Date())) {
      const record = await store.getApprovalRecord(id);
      const approvals = record ? approvalCount(record) : 0;
      const ended = await store.endApproval(
        id,
        'expired',
        record
          ? expiredApprovalReason({ ...record, approvals })
          : `The approval of run ${id} expired; nothing was applied`,
      );
      if (ended) {
        expired++;
        this.approvalChanged(ended);
      }
    }
    let started = 0;
    // Approved runs only (however many newer requests await decisions), every page of them: the
    // oldest first, as it expires first and gets the slot its requester frees first, so that no
    // number of newer ones waiting for their requesters' slots keeps it from starting.
    const waiting: Awaited<ReturnType<typeof store.listOpenApprovals>> = [];
    for (;;) {
      const page = await store.listOpenApprovals(APPROVED_PAGE_SIZE, {
        state: 'approved',
        before: waiting[waiting.length - 1],
      });
      waiting.push(...page);
      if (page.length < APPROVED_PAGE_SIZE) break;
    }
    const abandonedBefore = new Date(
      Date.now() - settings.releaseLocksAfterSeconds * 1000,
    );
    for (const run of waiting.reverse()) {
      if (run.approval?.state !== 'approved' || run.approval.resubmit) continue;
      // Rendering its plan again costs a helm process from the shared pool: not while its
      // namespace is locked or its requester holds every slot it may (a lock or slot that the
      // transaction starting it would take over counts as free). That transaction still decides.
      const mayStart = await store.mightStart(
        withNamespaceLock(run.target, []),
        {
          abandonedBefore,
          actorSlots: {
            actor: run.actor,
            keys: actorSlotKeys(run.actor, settings.runsPerUserAtOnce),
          },
        },
      );
      if (!mayStart) continue;
      try {
        await this.startKeptApproved(run.id);
        started++;
      } catch (e) {
        // Locked, or its requester has as many runs active as it may: started on a later round.
        if (!(e instanceof ConflictError || e instanceof TooManyRequestsError))
          logger.warn(`Approved run ${run.id} did not start: ${e}`);
      }
    }
    return { expired, started };
  }

  /** Resolves when every run this instance executes has finished (tests, shutdown). */
  async waitIdle(): Promise<void> {
    while (this.active.size > 0) {
      await Promise.allSettled([...this.active.values()]);
    }
  }

  /** Resolves when the given run, executed by this instance, has finished. */
  async waitFor(runId: string): Promise<void> {
    await this.active.get(runId)?.catch(() => undefined);
  }

  private async execute(
    run: Run,
    request: CreateRunRequest,
    exec: RunExecution,
    claimed: { before?: TenantRecord } = {},
  ): Promise<void> {
    const { store, logger, listener } = this.options;
    const executionStartedAt = Date.now();
    const ctx = new RunContext(run.id, this.fencedRunStore, logger, events =>
      listener?.onEvents?.(run.id, events),
    );
    let status: 'succeeded' | 'failed' = 'failed';
    let failureReason: string | undefined;
    let foreignNamespace = false;
    try {
      listener?.onRunChanged?.({ ...run, status: 'running' });
      ctx.status(`${run.kind} run started by ${run.actor}`);
      await this.executors.run(
        run,
        request,
        ctx,
        request.kind === 'tenant'
          ? await this.claimedTenantChanges(request, exec, claimed.before)
          : exec,
      );
      status = 'succeeded';
    } catch (e) {
      foreignNamespace = e instanceof ForeignNamespaceError;
      failureReason = ctx.redact(this.failureReason(e, run));
      ctx.status(`Run failed: ${failureReason}`, 'error');
    }
    // From when it started executing: a run that waited for approval did not run while it waited.
    const elapsed = Date.now() - executionStartedAt;
    if (status === 'succeeded')
      ctx.status(`Run succeeded in ${(elapsed / 1000).toFixed(1)}s`);
    await ctx.flush();
    const changes = ctx.clusterChanges;
    const patch: RunPatch = {
      ...(failureReason ? { failureReason } : {}),
      // What this run changed in clusters, recorded on it for the history and the audit trail.
      ...(changes ? { applied: recordedChanges(changes) } : {}),
    };
    let recorded = false;
    try {
      await this.finishLeased(run.id, status, patch);
      recorded = true;
    } catch (e) {
      // Lost its lease (another instance reconciled it), or the database failed: the stale-run
      // check records its end.
      logger.error(`Could not record the end of run ${run.id}: ${e}`);
    }
    const endedAt = Date.now();
    // The end is recorded: nothing that follows may keep the listener, and with it the run's
    // run-finished audit event, from hearing of it. What fails is logged; the scheduled outcome pass
    // settles the tenant and emits the event when they were not.
    if (recorded) {
      try {
        await this.recordTenantEnd(
          run,
          status,
          patch,
          foreignNamespace,
          claimed,
        );
      } catch (e) {
        logger.error(
          `Run ${run.id} ended as ${status}, but its tenant could not be updated; the scheduled outcome pass settles it: ${e}`,
        );
      }
    }
    let finished: Run | undefined;
    try {
      finished = await store.getRun(run.id);
    } catch (e) {
      logger.error(
        `Run ${run.id} could not be read back after its end${
          recorded ? `; its listener is told what was recorded (${status})` : ''
        }: ${e}`,
      );
      if (recorded) {
        // Claimed by this instance when it started executing (`run` is the record before that).
        const startedAt = new Date(executionStartedAt).toISOString();
        finished = asEnded(
          {
            ...run,
            startedAt: run.startedAt ?? startedAt,
            transitions: [
              ...run.transitions,
              { status: 'running', at: startedAt },
            ],
          },
          status,
          patch,
          endedAt,
        );
      }
    }
    try {
      // Counted where the end was recorded: a run another instance reconciled counts there.
      if (finished && recorded) this.options.metrics?.runFinished(finished);
      if (finished) listener?.onRunChanged?.(finished);
    } catch (e) {
      logger.error(`Listener failed on the end of run ${run.id}: ${e}`);
    }
  }

  /**
   * What the end of a tenant or tenant-delete run leaves its tenant (recorded after the run's end, with
   * `patch`). One that failed having changed nothing gives the tenant back what it had, as the outcome
   * pass would ({@link tenantUnchangedByFailedRun}).
   */
  private async recordTenantEnd(
    run: Run,
    status: 'succeeded' | 'failed',
    patch: RunPatch,
    foreignNamespace: boolean,
    claimed: { before?: TenantRecord },
  ): Promise<void> {
    const { store } = this.options;
    const before = claimed.before;
    if (
      foreignNamespace &&
      run.kind === 'tenant' &&
      !(before && before.status !== 'deleted')
    ) {
      // Refused a namespace KubeChart did not create, the tenant never became this run's: it is
      // left not live, so its requester gets no scope in that namespace through it.
      await store.upsertTenant({
        cluster: run.target.cluster,
        code: run.input.tenant as string,
        namespace: run.target.namespace,
        entityRef: before?.entityRef,
        owner: before?.owner,
        displayName: before?.displayName,
        releases: before?.releases ?? [],
        status: 'deleted',
        lastRunId: run.id,
      });
    } else if (run.kind === 'tenant' || run.kind === 'tenant-delete') {
      const tenant = run.input.tenant as string;
      const existing = (await store.getTenants(tenant)).find(
        t => t.cluster === run.target.cluster,
      );
      if (existing?.lastRunId === run.id && status === 'failed') {
        const { createdAt: _c, updatedAt: _u, ...current } = existing;
        // The run as its end was recorded: it ran (this instance executed it).
        const ended = asEnded(
          {
            ...run,
            transitions: [
              ...run.transitions,
              { status: 'running', at: run.startedAt ?? run.createdAt },
            ],
          },
          status,
          patch,
        );
        const unchanged = await tenantUnchangedByFailedRun(
          store,
          ended,
          current,
        );
        if (unchanged) {
          await store.upsertTenant(unchanged);
          return;
        }
      }
      await store.upsertTenant({
        cluster: run.target.cluster,
        code: tenant,
        namespace: run.target.namespace,
        entityRef: existing?.entityRef ?? run.entityRef,
        owner: existing?.owner,
        displayName: existing?.displayName,
        status: tenantStatusAfter(run.kind, status),
        lastRunId: run.id,
        releases: existing?.releases ?? [],
      });
    }
  }

  /**
   * What a tenant run changes on its tenant, from the record it claimed (not the one it was requested
   * on: an approved run starts later, when the tenant may have releases it did not have then). Its
   * prune uninstalls the releases that record holds and its spec does not, of those it dropped when
   * it was requested (and approved): one added since stays installed and recorded.
   */
  private async claimedTenantChanges(
    request: Extract<CreateRunRequest, { kind: 'tenant' }>,
    exec: RunExecution,
    before: TenantRecord | undefined,
  ): Promise<RunExecution> {
    if (!before || before.status === 'deleted')
      return { ...exec, changes: undefined };
    const previous = before.lastRunId
      ? await this.options.store.getRun(before.lastRunId)
      : undefined;
    const changes = describeTenantChanges(
      before,
      previous?.kind === 'tenant' ? previous.input : undefined,
      request,
    );
    const requested = exec.changes?.droppedReleases;
    const added = requested
      ? changes.droppedReleases.filter(r => !requested.includes(r))
      : [];
    if (added.length) {
      const dropped = changes.droppedReleases.filter(r => !added.includes(r));
      changes.droppedReleases = dropped;
      changes.lines = [
        ...changes.lines.filter(
          l => !l.startsWith('releases removed from the spec: '),
        ),
        ...(dropped.length
          ? [`releases removed from the spec: ${dropped.join(', ')}`]
          : []),
        `releases added since this run was requested, kept: ${added.join(
          ', ',
        )}`,
      ];
    }
    return { ...exec, changes };
  }

  /**
   * Claims the run (status running, a new lease epoch) and executes it under that lease: its
   * writes, helm calls and Kubernetes writes stop when the lease is lost.
   */
  private async executeLeased(run: Run, ...rest: unknown[]): Promise<void> {
    let lease;
    try {
      lease = await this.options.store.claimRun(run.id, this.instanceId);
    } catch (e) {
      this.options.logger.warn(`Run ${run.id} was not started: ${e}`);
      return;
    }
    const execute = this.execute as (r: Run, ...a: unknown[]) => Promise<void>;
    try {
      await this.leases.hold(lease, () => execute.call(this, run, ...rest));
    } catch (e) {
      // `execute` throws only before the run's end is recorded (everything after it is guarded):
      // its lease expires and the stale-run check of an instance reconciles it.
      this.options.logger.error(
        `Run ${run.id} stopped before its end was recorded; the stale-run check reconciles it: ${e}`,
      );
    }
  }

  /**
   * Records the end of a run this instance executed, only while it holds the run's lease. When the
   * lease was lost (another instance reconciled the run), the reconciled status stands and the
   * run's locks are released now that this instance has stopped working on it.
   */
  private async finishLeased(
    runId: string,
    status: 'succeeded' | 'failed',
    patch: RunPatch,
  ): Promise<void> {
    try {
      await this.options.store.finishRun(runId, status, patch, {
        lease: this.leases.leaseOf(runId),
      });
    } catch (e) {
      this.leases.releaseLater(runId);
      if (e instanceof LeaseLostError) {
        this.options.logger.warn(
          `Run ${runId} was reconciled by another backend instance while this one executed it; its reconciled status stands`,
        );
        // What it changed is known only here: recorded on the run unless something already is.
        if (patch.applied) {
          await this.options.store
            .recordApplied(runId, patch.applied)
            .catch(err =>
              this.options.logger.warn(
                `What run ${runId} changed could not be recorded: ${err}`,
              ),
            );
        }
      }
      throw e;
    }
  }

  private failureReason(e: unknown, run: Run): string {
    if (
      e instanceof HelmCommandError ||
      e instanceof RunFailure ||
      e instanceof InputError ||
      e instanceof NotFoundError
    ) {
      return e.message;
    }
    if (kubeStatusCode(e) !== undefined || isUnreachable(e)) {
      return describeKubeError(e, run.target.cluster);
    }
    return isError(e) ? e.message : String(e);
  }

  /**
   * Reconciles runs left `pending`/`running` with a stale heartbeat (their backend died or froze),
   * saying what was observed; see {@link recoverStaleRuns}.
   */
  async recoverStaleRuns(): Promise<number> {
    const { store, settings, logger, clusters, listener } = this.options;
    return recoverStaleRuns({
      store,
      settings,
      logger,
      clusters,
      client: cluster => this.client(cluster),
      scopedClient: (cluster, namespace) =>
        this.readingClient(cluster, namespace),
      instanceId: this.instanceId,
      isActive: id => this.active.has(id),
      onRunChanged: run => {
        this.options.metrics?.runFinished(run);
        listener?.onRunChanged?.(run);
      },
    });
  }
}

/**
 * The tenant budgets a tenant run must fit (429 naming the setting): `kubechart.limits.maxTenants`
 * when the tenant becomes live (new or re-created), and `maxTenantsPerOwner` when it becomes live or
 * moves to `owner`, unless the caller is a tenants admin. `count` counts live tenants (of an owner).
 */
async function checkTenantBudget(
  request: CreateRunRequest,
  existing: TenantRecord | undefined,
  owner: string,
  tenantAdmin: boolean,
  settings: EngineSettings,
  count: (owner?: string) => Promise<number>,
): Promise<void> {
  if (request.kind !== 'tenant') return;
  const live = !!existing && existing.status !== 'deleted';
  if (!live && (await count()) >= settings.maxTenants) {
    throw new TooManyRequestsError(
      `The tenant limit of ${settings.maxTenants} is reached; delete a tenant or ask the platform team to raise kubechart.limits.maxTenants.`,
    );
  }
  if ((!live || existing.owner !== owner) && !tenantAdmin) {
    const owned = await count(owner);
    if (owned >= settings.maxTenantsPerOwner) {
      throw new TooManyRequestsError(
        `${owner} owns ${owned} tenants; the limit is ${settings.maxTenantsPerOwner} per owner (kubechart.limits.maxTenantsPerOwner). Delete one of them or ask the platform team.`,
      );
    }
  }
}
