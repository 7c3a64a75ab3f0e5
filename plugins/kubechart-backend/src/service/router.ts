import {
  AuditorService,
  AuthService,
  BackstageCredentials,
  HttpAuthService,
  LifecycleService,
  LoggerService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  BasicPermission,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import {
  CreateRunRequest,
  MetricsSummary,
  PolicyReport,
  Run,
  RunListItem,
  RunsPage,
  Tenant,
  kubechartClustersReadPermission,
  kubechartRunsApprovePermission,
  kubechartRunsCreatePermission,
  kubechartRunsReadPermission,
  kubechartRunsRollbackPermission,
  kubechartTenantsReadPermission,
} from '@kubechart/plugin-kubechart-common';
import {
  HelmCli,
  PolicyEngine,
  collectManifestSecretValues,
  collectSecretValues,
  REQUEST_BODY_LIMITS,
  parseJsonLimited,
  MAX_POLICY_OBJECTS,
  parseManifestsInTurns,
} from '@kubechart/plugin-kubechart-node';
import {
  RefusalWindow,
  entityRefKey,
} from '@kubechart/plugin-audit-log-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { DriftStore } from '../database/DriftStore';
import {
  OPEN_APPROVAL_STATES,
  RunFilter,
  RunStore,
  TenantRecord,
} from '../database/RunStore';
import { addDriftRoutes } from '../drift/driftRoutes';
import { ReleaseHistory } from '../drift/reapply';
import {
  CatalogEntityReader,
  grantedToService,
  resolveRunCaller,
} from '../engine/caller';
import { APPROVALS_PAGE_SIZE, collectVisibleApprovals } from './approvalInbox';
import { ApprovalDecider, RunEngine } from '../engine/RunEngine';
import { RunScope, resolveRunScope } from '../engine/scope';
import { redactPlan } from '../lib/redactPlan';
import { TooManyRequestsError } from '../engine/errors';
import { EngineSettings } from '../engine/settings';
import { HealthService } from '../health/HealthService';
import {
  DEFAULT_ON_BEHALF_OF_SERVICES,
  DEFAULT_RELAYING_PLUGINS,
  EffectiveActor,
  effectiveActor as actorOf,
  passedOnBy as passedOnByOf,
  refusePassedOnDecision,
  refuseRelayedEntityRef,
  refuseUnrelayedTemplate,
  relayingPlugin,
  withActionRelays,
} from './identity';
import { entityRefFilter } from '../database/entityRefs';
import { catalogEntityOwners } from '@kubechart/plugin-audit-log-node';
import { CATALOG_READ_TIMEOUT_MS } from '../engine/entityScope';
import { ReadScope, ReadScopes } from './readScope';
import {
  VisibleNamespaces,
  clusterHealthFor,
  namespacesNamed,
} from './clusterHealthScope';
import {
  Audited,
  addRecordedRunRoutes,
  auditMetaOf,
  principalRef,
  withAuditMeta,
} from './runsRecorded';
import { DryRunLimiter, FailedRequestWindow } from './dryRunLimiter';
import { DIFFS_PER_CALLER_AT_ONCE, runDiff } from './runDiff';
import type { RunMetrics } from './metrics';
import { RefusedAttempt, policySummary } from './runAudit';
import { scrubComment } from '../approvals/comments';
import type { ActionRefusalAuditor } from '../actions/actionRefusals';
import {
  createRunSchema,
  eventsQuery,
  listApprovalsQuery,
  tenantHealthQuery,
  listRunsQuery,
  decideRunSchema,
  parse,
  policyCheckSchema,
  withdrawRunSchema,
} from './schemas';

/**
 * Runs one page of `GET /runs` looks at, at most, for a caller who may read only some runs (and
 * no `entityRef`): a page never scans the whole history, however few of its runs the caller reads.
 */
export const RUNS_LOOKED_AT = 1000;
/** Runs read from the store at once for such a page (one more than its limit when that is more). */
const RUNS_READ_AT_ONCE = 200;
/** Failures the metrics summary lists (the store's summary lists as many for everyone). */
const RECENT_FAILURES = 10;
/** Groups of runs (by entity, status and kind) filtered per permission request in a scoped summary. */
const SUMMARY_GROUPS_PER_REQUEST = 1000;

export type RouterOptions = {
  engine: RunEngine;
  store: RunStore;
  health: HealthService;
  helm: HelmCli;
  policy: PolicyEngine;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  logger: LoggerService;
  /** Ownership refs of users, for the scope of their runs (optional: without it a user owns only as itself). */
  userInfo?: UserInfoService;
  /** The catalog, read with the caller's credentials: runs for an entity deploy where it may (optional: without it they are refused). */
  catalog?: CatalogEntityReader;
  /** With the catalog: the plugin's credentials, to tell an entity hidden from a caller from one that does not exist. */
  auth?: Pick<AuthService, 'getOwnServiceCredentials'>;
  /** Engine settings: namespace owners and allowed kinds scope recorded runs; how long a silent action's locks are kept. */
  settings: EngineSettings;
  /** Service principals whose `onBehalfOf` is honoured (`kubechart.onBehalfOf.allowedServices`). */
  onBehalfOfServices?: string[];
  /** Plugins that may pass a user's credentials on (`kubechart.onBehalfOf.relayingPlugins`). */
  relayingPlugins?: string[];
  /** How often a followed event stream polls the database (ms). */
  followPollMs?: number;
  /**
   * How long a followed event stream stays open at most (ms; `kubechart.limits.followStreamMaxSeconds`,
   * default 15 minutes); it then ends with a `reconnect` line, and the client asks again.
   */
  followMaxMs?: number;
  onRunChanged?: (run: Run) => void;
  /** Operations metrics of recorded runs (engine runs report through the engine). */
  metrics?: RunMetrics;
  /** Stops with the backend: refusals only counted so far are recorded then. */
  lifecycle?: Pick<LifecycleService, 'addShutdownHook'>;
  /** Drift records and release history for `GET /runs/:id/drift`, `GET /drift`, `POST /runs/:id/reapply` (optional). */
  drift?: { store: DriftStore; history: ReleaseHistory };
  /** Refusals of the plugin's tools (MCP), recorded with the REST API's, in one window per caller. */
  actionRefusals?: Pick<ActionRefusalAuditor, 'recordWith'>;
};

const TERMINAL = new Set(['succeeded', 'failed']);

/** How long a followed event stream stays open at most, unless `followMaxMs` says otherwise. */
const FOLLOW_MAX_MS = 15 * 60_000;
/**
 * How often a followed event stream that has nothing new to send checks again that its caller may
 * read the run (it checks before it sends anything new in any case).
 */
const FOLLOW_IDLE_RECHECK_MS = 30_000;
/** When a stream refused as the backend holds `maxOpenStreams` of them may be asked for again. */
const STREAM_RETRY_AFTER_SECONDS = 30;

/** Largest JSON body of a route that carries manifests, values or a run's log (`takesLargeBody`). */
const LARGE_BODY_BYTES = REQUEST_BODY_LIMITS.maxBytes;
/** Largest JSON body of any other route (a comment, a release name), and of a route that does not exist. */
const SMALL_BODY_BYTES = 100 * 1024;
/**
 * Most values (objects, arrays, strings, numbers…) in a JSON body, counted on its text before it
 * is parsed. Generous for the values of twenty releases; `JSON.parse` of that many takes tens of
 * milliseconds, of the million the size limit would otherwise let through half a second. Shared
 * with clients (`REQUEST_BODY_LIMITS`): the scaffolder actions check what they send against it.
 */
export const MAX_BODY_NODES = REQUEST_BODY_LIMITS.maxNodes;

/**
 * The routes whose bodies may be large: run requests (a manifest of up to 1,000,000 characters,
 * values), policy checks, a recorded run's input, its events (1,000 of up to 10,000 characters)
 * and its finish (a manifest of up to 5,000,000). Matched as express matches routes, without
 * regard to case and with an optional trailing slash.
 */
const LARGE_BODY_ROUTES = [
  /^\/runs\/?$/i,
  /^\/runs\/(preview|record)\/?$/i,
  /^\/runs\/[^/]+\/(execute|events|finish)\/?$/i,
  /^\/policy\/check\/?$/i,
];

function takesLargeBody(req: Request) {
  return (
    req.method === 'POST' &&
    LARGE_BODY_ROUTES.some(route => route.test(req.path))
  );
}

const sizeText = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;

/**
 * Reads a JSON body as text, refusing one over `limit` bytes with a 413 that says so (body-parser
 * says only "request entity too large").
 */
function jsonBodyReader(limit: number): express.RequestHandler {
  const read = express.text({
    type: ['application/json', 'application/*+json'],
    limit,
  });
  const tooLarge = `Request body refused: larger than ${sizeText(
    limit,
  )}, the most this route accepts (${sizeText(
    LARGE_BODY_BYTES,
  )} for run requests, recorded runs and policy checks)`;
  return (req, res, next) =>
    read(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large')
        (error as Error).message = tooLarge;
      next(error);
    });
}

/** The tenant as a caller sees it, with its last run only when that caller may read the run. */
function toTenant(t: TenantRecord, lastRun?: Run): Tenant {
  return {
    code: t.code,
    cluster: t.cluster,
    namespace: t.namespace,
    createdAt: t.createdAt,
    status: t.status,
    lastRunId: lastRun?.id,
    lastRunStatus: lastRun?.status,
    releases: t.releases,
    ...(t.entityRef ? { entityRef: t.entityRef } : {}),
    ...(t.owner ? { owner: t.owner } : {}),
    ...(t.displayName ? { displayName: t.displayName } : {}),
  };
}

/** Sums each item's count (1 by default) by its key. */
function tally<T>(
  items: T[],
  key: (item: T) => string,
  count: (item: T) => number = () => 1,
) {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + count(i);
  return out;
}

function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return 0;
  return sorted[
    Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  ];
}

/** The kubechart REST API. Every route checks a permission; every mutation is audited. */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { engine, store, health, policy, permissions, auditor } = options;
  // A call of kubechart's own actions is taken as passed on by the plugin that invoked the action.
  const httpAuth = withActionRelays(options.httpAuth);
  const relayingPlugins = options.relayingPlugins ?? DEFAULT_RELAYING_PLUGINS;
  const router = Router();
  // JSON bodies are read as text and parsed within depth, node and size bounds, checked on the
  // text before anything walks them (zod, merges, redaction): `JSON.parse` alone takes seconds on
  // megabytes of `[[[[`, and half a second on a million `{}`.
  const readBody = {
    large: jsonBodyReader(LARGE_BODY_BYTES),
    small: jsonBodyReader(SMALL_BODY_BYTES),
  };
  router.use((req, res, next) =>
    (takesLargeBody(req) ? readBody.large : readBody.small)(req, res, next),
  );
  router.use((req, _res, next) => {
    if (typeof req.body === 'string')
      req.body = req.body.trim()
        ? parseJsonLimited(req.body, {
            what: 'Request body',
            limits: {
              maxNodes: MAX_BODY_NODES,
              maxDepth: REQUEST_BODY_LIMITS.maxDepth,
            },
          })
        : {};
    next();
  });
  const scopes = new ReadScopes(
    httpAuth,
    permissions,
    relayingPlugins,
    options.catalog && options.auth
      ? catalogEntityOwners(
          options.catalog,
          options.auth,
          CATALOG_READ_TIMEOUT_MS,
        )
      : undefined,
  );
  /**
   * The tenants `scope` may read (`kubechart.tenants.read`), in their order: decided on their entity
   * as any item is, and under a conditional decision only while that entity has the owner the
   * tenant's last run recorded for it (`Run.entityOwner`: the owner it had when the tenant was made
   * or last changed). So a tenant's history and health stay with the owner they were made for, as a
   * run's do: whoever registers the entity ref again reads none of it. Where the last run does not
   * tell that owner (it named no entity or another one, e.g. an update that kept the tenant's
   * entityRef without naming it, or recorded no owner), only while the entity is owned by the
   * tenant's own `owner` (fail closed: whoever owns the entity then is of the tenant's owner).
   */
  const readableTenants = async (
    scope: ReadScope,
    tenants: TenantRecord[],
  ): Promise<TenantRecord[]> => {
    const permitted = await scopes.filter(scope, tenants);
    if (scope.all || scope.serviceRef || permitted.length === 0)
      return permitted;
    const items = await Promise.all(
      permitted.map(async tenant => {
        const last = tenant.lastRunId
          ? await store.getRun(tenant.lastRunId)
          : undefined;
        const recorded =
          last?.entityOwner !== undefined &&
          !!last.entityRef &&
          !!tenant.entityRef &&
          (entityRefKey(last.entityRef) ?? last.entityRef) ===
            (entityRefKey(tenant.entityRef) ?? tenant.entityRef);
        // Else the tenant's own owner; a tenant no run wrote (seeded) is decided on its entity alone.
        let entityOwner = last?.entityOwner;
        if (!recorded)
          entityOwner = tenant.lastRunId
            ? (tenant.owner && entityRefKey(tenant.owner)) || ''
            : undefined;
        return {
          tenant,
          entityRef: tenant.entityRef,
          ...(entityOwner !== undefined ? { entityOwner } : {}),
        };
      }),
    );
    return (await scopes.filter(scope, items)).map(i => i.tenant);
  };
  /**
   * Whether `credentials` are a service's whose token does not grant `permission` among its access
   * restrictions (see `NEEDS_SERVICE_GRANT` of readScope.ts): the permission framework allows it
   * everything, so what it reads of tenants beyond their list is kept from it.
   */
  const serviceNotGranted = (
    credentials: BackstageCredentials,
    permission: { name: string },
  ) =>
    (credentials.principal as { type?: string }).type === 'service' &&
    !grantedToService(credentials, permission.name);
  /** Whether `credentials` may read a tenant, as `GET /tenants` lists it (`RunCaller.mayReadTenant`). */
  const tenantReadableBy =
    (credentials: BackstageCredentials) => async (tenant: TenantRecord) => {
      const scope = await scopes.scopeOf(
        credentials,
        kubechartTenantsReadPermission,
      );
      return !!scope && (await readableTenants(scope, [tenant])).length > 0;
    };
  /** Whether `credentials` may read every tenant (`RunCaller.mayReadEveryTenant`). */
  const everyTenantReadableBy =
    (credentials: BackstageCredentials) => async () =>
      (await scopes.scopeOf(credentials, kubechartTenantsReadPermission))
        ?.all === true;
  /** The caller a run request is checked as (`POST /runs`, its preview, an approved run's execute). */
  const runCallerOf = (credentials: BackstageCredentials, actor: string) =>
    resolveRunCaller({
      credentials,
      actor,
      permissions,
      userInfo: options.userInfo,
      catalog: options.catalog,
      auth: options.auth,
      mayReadTenant: tenantReadableBy(credentials),
      mayReadEveryTenant: everyTenantReadableBy(credentials),
    });
  const { settings } = options;
  /** Open run event streams by caller. */
  const following = new Map<string, number>();
  /** Open run event streams, whoever holds them. */
  let openStreams = 0;
  /** Run diffs under way by caller. */
  const diffing = new Map<string, number>();
  const dryRuns = new DryRunLimiter({
    atOnce: settings.previewsPerUserAtOnce,
    perMinute: settings.previewsPerUserPerMinute,
  });
  const onBehalfOfServices =
    options.onBehalfOfServices ?? DEFAULT_ON_BEHALF_OF_SERVICES;
  /** Who a request acts as (see `effectiveActor` of ./identity), with this backend's settings. */
  const effectiveActor = (
    credentials: BackstageCredentials,
    onBehalfOf: string | undefined,
    services: string[],
  ) => actorOf(credentials, onBehalfOf, services, relayingPlugins);
  const refusals = new RefusalWindow(
    settings.refusedAttemptsAuditedPerMinute,
    recordUnrecorded,
    {
      onFirstSkipped: actor =>
        options.logger.warn(
          `${actor} was refused more than ${settings.refusedAttemptsAuditedPerMinute} times in a minute (kubechart.limits.refusedAttemptsAuditedPerMinute); further refusals this minute are counted in the next one the audit trail records`,
        ),
    },
  );
  options.lifecycle?.addShutdownHook(() => refusals.flush());
  const failedRunRequests = new FailedRequestWindow(
    settings.refusedAttemptsAuditedPerMinute,
  );
  options.actionRefusals?.recordWith(auditRefused);

  /** The refusals of a caller that were only counted, when no later refusal of its carried the count. */
  async function recordUnrecorded(actor: string, count: number, since: Date) {
    try {
      const event = await auditor.createEvent({
        eventId: 'refusals-not-recorded',
        severityLevel: 'medium',
        meta: { actor, outcome: 'refused', refusedNotRecorded: count },
      });
      await event.fail({
        error: new Error(
          `${count} refused attempts of ${actor} since ${since.toISOString()} were not recorded one by one (kubechart.limits.refusedAttemptsAuditedPerMinute: ${
            settings.refusedAttemptsAuditedPerMinute
          })`,
        ),
      });
    } catch (e) {
      options.logger.error(
        `${count} refused attempts of ${actor} since ${since.toISOString()} could not be recorded: ${e}`,
      );
    }
  }

  /**
   * Checks a permission and resolves the caller's credentials (403 on DENY). With `attempt`, the
   * change the request asked for: a refusal is recorded in the audit trail as that event, failed.
   */
  async function authorize(
    req: Request,
    permission: BasicPermission,
    attempt?: RefusedAttempt,
  ): Promise<BackstageCredentials> {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    // A user's credentials passed on by a plugin not allowed to act as a user: refused first.
    try {
      relayingPlugin(credentials, relayingPlugins);
    } catch (e) {
      if (attempt && e instanceof NotAllowedError)
        await auditRefused(req, attempt, e);
      throw e;
    }
    const [decision] = await permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      const error = new NotAllowedError(`Not allowed: ${permission.name}`);
      if (attempt) await auditRefused(req, attempt, error);
      throw error;
    }
    return credentials;
  }

  /**
   * A change refused before it could start (the permission framework said no, or the run is not
   * the caller's to see): the trail shows who tried what.
   */
  async function auditRefused(
    req: Request,
    attempt: RefusedAttempt,
    error: Error,
  ): Promise<void> {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const principal = credentials.principal as {
      type: string;
      userEntityRef?: string;
      subject?: string;
    };
    const actor =
      principal.type === 'user'
        ? principal.userEntityRef!
        : `service:${principal.subject}`;
    // The plugin that passed the user's credentials on, allowed or not.
    const passedOnBy = passedOnByOf(credentials);
    // A caller refused in a loop would otherwise grow the trail at will: one by one up to the limit
    // a minute, then counted in the next one recorded.
    const notRecorded = refusals.take(actor);
    if (notRecorded === undefined) return;
    const event = await auditor.createEvent({
      eventId: attempt.eventId,
      request: req,
      severityLevel: 'medium',
      meta: {
        ...attempt.meta,
        actor,
        ...(passedOnBy ? { relayedBy: passedOnBy } : {}),
        outcome: 'refused',
        ...(notRecorded ? { refusedNotRecorded: notRecorded } : {}),
      },
    });
    await event.fail({ error });
  }

  /**
   * Who a request that names `onBehalfOf` acts as (see `effectiveActor`). An `onBehalfOf` that is not
   * honoured is refused (403) and recorded in the audit trail as `attempt`, failed, as other refusals are.
   */
  async function actingAs(
    req: Request,
    credentials: BackstageCredentials,
    onBehalfOf: string | undefined,
    attempt: RefusedAttempt,
  ): Promise<EffectiveActor> {
    try {
      return effectiveActor(credentials, onBehalfOf, onBehalfOfServices);
    } catch (e) {
      if (e instanceof NotAllowedError)
        await auditRefused(
          req,
          { ...attempt, meta: { ...attempt.meta, onBehalfOf } },
          e,
        );
      throw e;
    }
  }

  /** Records a dry run the chart policy would refuse: the refusal is part of the trail. */
  async function auditDryRunRefusal(
    req: Request,
    eventId: string,
    meta: Record<string, any>,
    report: PolicyReport | undefined,
  ) {
    if (!report?.blocking) return;
    const event = await auditor.createEvent({
      eventId,
      request: req,
      severityLevel: 'medium',
      meta: { ...meta, outcome: 'refused', policy: policySummary(report) },
    });
    await event.fail({
      error: new Error(
        `Chart policy (${report.mode}) would refuse this: ${report.summary.errors} error(s)`,
      ),
    });
  }

  async function getRunOr404(id: string): Promise<Run> {
    const run = await store.getRun(id);
    if (!run) throw new NotFoundError(`Run ${id} not found`);
    return run;
  }

  async function audited<T>(
    req: Request,
    eventId: string,
    meta: Record<string, any>,
    fn: () => Promise<T>,
    resultMeta?: (r: T) => Record<string, any>,
    severityLevel: 'medium' | 'high' = 'medium',
  ): Promise<T> {
    const event = await auditor.createEvent({
      eventId,
      request: req,
      severityLevel,
      meta,
    });
    try {
      const r = await fn();
      await event.success({ meta: resultMeta?.(r) ?? {} });
      return r;
    } catch (error) {
      await event.fail({ error: error as Error, meta: auditMetaOf(error) });
      throw error;
    }
  }

  /**
   * `audited` for a request that asks for a run as `actor` (`POST /runs`, `POST /runs/record`). Each
   * is audited before the engine judges it, so requests bound to be refused (out of scope, bad
   * input) would grow the trail at will: once the actor had `refusedAttemptsAuditedPerMinute` of
   * them refused this minute, the next ones are refused with 429 before any event is created, and
   * recorded as refusals are (one by one up to the limit, then counted).
   */
  const auditedRunRequest =
    (actor: string): Audited =>
    async (req, eventId, meta, fn, resultMeta) => {
      try {
        failedRunRequests.check(actor, 'run requests');
      } catch (e) {
        await auditRefused(req, { eventId, meta }, e as Error);
        throw e;
      }
      return audited(req, eventId, meta, fn, resultMeta).catch(e => {
        failedRunRequests.failed(actor, e);
        throw e;
      });
    };

  router.post('/runs', async (req, res) => {
    const body = parse(
      createRunSchema,
      req.body,
      'run request',
    ) as CreateRunRequest;
    const attempt: RefusedAttempt = {
      eventId: 'run-create',
      meta: {
        kind: body.kind,
        cluster: body.cluster,
        requestedEntityRef: body.entityRef ?? null,
      },
    };
    const credentials = await authorize(
      req,
      body.kind === 'rollback'
        ? kubechartRunsRollbackPermission
        : kubechartRunsCreatePermission,
      attempt,
    );
    const acting = await actingAs(req, credentials, body.onBehalfOf, attempt);
    const { actor } = acting;
    const relayedBy = acting.relayedBy ?? acting.passedOnBy;
    const run = await auditedRunRequest(actor)(
      req,
      'run-create',
      {
        kind: body.kind,
        cluster: body.cluster,
        // Named as the event's target (`entityRef`) only once the run was recorded for it, that is
        // once the engine found the caller may run there: naming someone else's entity in a refused
        // request adds nothing to that entity's audit history.
        requestedEntityRef: body.entityRef ?? null,
        actor,
        ...(relayedBy ? { relayedBy } : {}),
      },
      async () => {
        refuseRelayedEntityRef(acting, body.entityRef);
        refuseUnrelayedTemplate(acting, body.template);
        return engine.submit(
          body,
          actor,
          await runCallerOf(credentials, actor),
        );
      },
      r => ({ runId: r.id, entityRef: r.entityRef ?? null }),
    );
    res.status(202).json({ id: run.id, status: run.status });
  });

  router.post('/runs/preview', async (req, res) => {
    const body = parse(
      createRunSchema,
      req.body,
      'run request',
    ) as CreateRunRequest;
    const credentials = await authorize(
      req,
      body.kind === 'rollback'
        ? kubechartRunsRollbackPermission
        : kubechartRunsCreatePermission,
    );
    const acting = await actingAs(req, credentials, body.onBehalfOf, {
      eventId: 'run-preview',
      meta: {
        kind: body.kind,
        cluster: body.cluster,
        requestedEntityRef: body.entityRef ?? null,
      },
    });
    const { actor, relayedBy } = acting;
    const relayed = acting.relayedBy ?? acting.passedOnBy;
    // The engine removes the caller's secret values wherever the chart copied them. A tenant run's
    // preview is refused as `POST /runs` refuses it, with the same checks, as the same caller, and
    // the refusal is recorded as a failed `run-preview` as the run's is a failed `run-create`.
    const preview = await dryRuns.run(actor, async () => {
      if (body.kind !== 'tenant' && body.kind !== 'tenant-delete')
        return engine.preview(body);
      try {
        refuseRelayedEntityRef(acting, body.entityRef);
        return await engine.previewAs(
          body,
          actor,
          await runCallerOf(credentials, actor),
        );
      } catch (e) {
        if (
          e instanceof NotAllowedError ||
          e instanceof NotFoundError ||
          e instanceof ConflictError ||
          e instanceof TooManyRequestsError ||
          e instanceof InputError
        )
          await auditRefused(
            req,
            {
              eventId: 'run-preview',
              meta: {
                kind: body.kind,
                cluster: body.cluster,
                requestedEntityRef: body.entityRef ?? null,
                ...(relayedBy ? { onBehalfOf: actor } : {}),
              },
            },
            e,
          );
        throw e;
      }
    });
    await auditDryRunRefusal(
      req,
      'run-preview',
      {
        kind: body.kind,
        cluster: body.cluster,
        // A preview is not scoped to the entity it names: not the event's target.
        requestedEntityRef: body.entityRef ?? null,
        actor,
        ...(relayed ? { relayedBy: relayed } : {}),
      },
      preview.policyReport,
    );
    res.json(preview);
  });

  /**
   * Throws NotAllowedError unless `actor` may run on `target` (for `entityRef`, when one is named),
   * scoped as a manifests run to the same target would be by `POST /runs`: for its entity when it
   * names one, else by namespace. Chart and rollback runs are scoped alike.
   */
  async function checkRunScope(
    credentials: BackstageCredentials,
    actor: string,
    { target, entityRef }: { target: Run['target']; entityRef?: string },
  ): Promise<RunScope> {
    const caller = await runCallerOf(credentials, actor);
    const request: CreateRunRequest = {
      kind: 'manifests',
      cluster: target.cluster,
      namespace: target.namespace,
      manifests: '-',
      ...(entityRef ? { entityRef } : {}),
    };
    return resolveRunScope(request, caller, {
      store,
      settings: options.settings,
    });
  }

  // Runs executed by a caller's own action, recorded in history; locked by namespace, fenced by lease.
  addRecordedRunRoutes(router, {
    store,
    instanceId: engine.instanceId,
    settings: options.settings,
    onBehalfOfServices,
    relayingPlugins,
    authorize: (req, attempt) =>
      authorize(req, kubechartRunsCreatePermission, attempt),
    auditRefused,
    readableRun: (req, id) => readableRun(req, id),
    checkScope: checkRunScope,
    protectingRule: async target => (await engine.approvalRuleOf(target))?.name,
    outsideNamespace: (run, objects) =>
      engine.outsideNamespace(
        run.target.cluster,
        run.target.namespace,
        objects,
      ),
    audited,
    auditedRunRequest,
    onRunChanged: options.onRunChanged,
    onRunFinished: run => options.metrics?.runFinished(run),
  });

  router.get('/runs', async (req, res) => {
    const scope = await scopes.resolve(req, kubechartRunsReadPermission);
    const q = parse(listRunsQuery, req.query, 'query');
    const filter: RunFilter = {
      // As runs store it and the catalog reads it: every spelling of the entity is one decision
      // (with `entityRef`, the page's) and one history.
      entityRef: q.entityRef ? entityRefFilter(q.entityRef) : undefined,
      kind: q.kind as Run['kind'] | undefined,
      status: q.status as Run['status'] | undefined,
      actor: q.actor,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    };
    const page = { cursor: q.cursor, limit: q.limit ?? 25 };
    res.json(
      scope.all
        ? await store.listRuns(filter, page)
        : await readableRunsPage(scope, filter, page),
    );
  });

  /**
   * A page of `GET /runs` for a caller who may read only some runs. It tells nothing of the runs the
   * caller may not read: its items are runs the caller reads, its `nextCursor` names the last of them
   * or a time (never a run it left out), and whether runs the caller may not read match the filters
   * changes nothing in it but, past {@link RUNS_LOOKED_AT} of them, `truncated` and where
   * `nextCursor` reads on.
   *
   * With `entityRef`, one decision on that entity decides every run of the page: all the entity's
   * runs, paged as the store pages them, or a NotAllowedError (403), whether it has runs or not.
   * Otherwise runs are read a page at a time, newest first, and filtered until one more than
   * `limit` are found (then the page has a `nextCursor` after its last item), the list ends, or
   * {@link RUNS_LOOKED_AT} runs were looked at. Then the rest of the millisecond of the last run
   * looked at is looked at too, and the page (maybe empty) says `truncated` and has a `nextCursor` that reads on from the runs created before that
   * millisecond: it names a time, which paging with `to` and watching `truncated` tells already.
   * Following `nextCursor` reaches every run the caller may read, however many it may not read lie
   * between, with at most {@link RUNS_LOOKED_AT} runs (and those of one millisecond) looked at a page.
   */
  async function readableRunsPage(
    scope: ReadScope,
    filter: RunFilter,
    page: { cursor?: string; limit: number },
  ): Promise<RunsPage> {
    // A service not granted kubechart.runs.read: the runs it started or recorded as itself.
    if (scope.serviceRef)
      return filter.actor === undefined || filter.actor === scope.serviceRef
        ? store.listRuns({ ...filter, actor: scope.serviceRef }, page)
        : { items: [] };
    if (filter.entityRef) {
      const readable = await scopes.filter(scope, [
        { entityRef: filter.entityRef },
      ]);
      // Refused, not an empty history the caller would take for "no deployments yet". The decision
      // is on the entity alone, so the refusal is the same whether the entity has runs or not.
      if (!readable.length)
        throw new NotAllowedError(
          `You may not read the runs of ${filter.entityRef}: ${scope.permission.name} is granted to you for some entities only, and not for this one`,
        );
      // The runs made while the entity had the owner it has now (see ReadScopes.filter).
      return store.listRuns(
        scope.all
          ? filter
          : {
              ...filter,
              entityOwner: await scopes.ownerNow(filter.entityRef),
            },
        page,
      );
    }
    const items: RunListItem[] = [];
    /** Keeps the runs of `read` the caller may read: the page, once one more than it holds is found. */
    const keep = async (read: RunListItem[]) => {
      for (const run of await scopes.filter(scope, read)) {
        // One more than the page holds: only then is there a next page to read.
        if (items.length === page.limit)
          return {
            items,
            nextCursor: store.runsCursorAfter(items[items.length - 1]),
          };
        items.push(run);
      }
      return undefined;
    };
    let cursor = page.cursor;
    let last: RunListItem | undefined;
    for (let looked = 0; looked < RUNS_LOOKED_AT; ) {
      const read = await store.listRuns(filter, {
        cursor,
        limit: Math.min(
          Math.max(RUNS_READ_AT_ONCE, page.limit + 1),
          RUNS_LOOKED_AT - looked,
        ),
      });
      looked += read.items.length;
      const full = await keep(read.items);
      if (full) return full;
      if (!read.nextCursor) return { items };
      cursor = read.nextCursor;
      last = read.items[read.items.length - 1];
    }
    // More runs follow the last one looked at. A cursor after it would name a run the caller may not
    // read, and none at all would leave older runs out of reach: the page reads on from before its
    // millisecond, once it looked at the rest of that millisecond's runs.
    const at = Date.parse(last!.createdAt);
    const sameMillisecond = {
      ...filter,
      from: new Date(at),
      to: new Date(at + 1),
    };
    for (let looked = 0; ; ) {
      const read = await store.listRuns(sameMillisecond, {
        cursor,
        limit: RUNS_READ_AT_ONCE,
      });
      looked += read.items.length;
      const full = await keep(read.items);
      if (full) return full;
      if (!read.nextCursor) break;
      if (looked >= RUNS_LOOKED_AT)
        // Never in practice (runs are created one request at a time); refused rather than read on
        // without bound or past runs never looked at.
        throw new InputError(
          `This page of runs cannot be read on past ${
            last!.createdAt
          }: more than ${RUNS_LOOKED_AT} runs were created in that millisecond; narrow the query (entityRef, kind, status or actor)`,
        );
      cursor = read.nextCursor;
    }
    return {
      items,
      nextCursor: store.runsCursorBefore(last!.createdAt),
      truncated: true,
    };
  }

  /**
   * The run when the caller may read it. 404 `Run <id> not found` when it does not exist and, the
   * same, when the caller may not read it (its entity is hidden from the caller; for a service not
   * granted `kubechart.runs.read`, a run it neither started nor recorded); 403 only when the policy
   * denies reading runs at all, or for a user's credentials passed on by a plugin not in
   * `relayingPlugins`. With `attempt`, a refusal (403, 404) is audited as that change. With
   * `relayedFor`, the user a service's honoured `onBehalfOf` names: that user's runs are readable too.
   */
  async function readableRun(
    req: Request,
    id: string,
    attempt?: RefusedAttempt,
    relayedFor?: string,
  ): Promise<Run> {
    try {
      const scope = await scopes.resolve(req, kubechartRunsReadPermission);
      const run = await getRunOr404(id);
      const readable =
        (await scopes.filter(scope, [run])).length > 0 ||
        // A service reads a run it recorded on behalf of a user too (it writes its events and
        // finish), and acting for a user, that user's runs (it submits their approved input again).
        (scope.serviceRef !== undefined &&
          (run.actor === relayedFor ||
            (await store.getRecordedBy(id)) === scope.serviceRef));
      if (!readable) throw new NotFoundError(`Run ${id} not found`);
      return run;
    } catch (e) {
      if (
        attempt &&
        (e instanceof NotAllowedError || e instanceof NotFoundError)
      )
        await auditRefused(req, attempt, e);
      throw e;
    }
  }

  /** Who decides on approvals through this request: the signed-in user only, never a service. */
  async function approvalDecider(
    req: Request,
  ): Promise<ApprovalDecider | undefined> {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const principal = credentials.principal as {
      type: string;
      userEntityRef?: string;
    };
    if (principal.type !== 'user' || !principal.userEntityRef) return undefined;
    // A user's credentials passed on by any plugin decide nothing: approvals take the user's own token.
    if (passedOnByOf(credentials)) return undefined;
    const userEntityRef = principal.userEntityRef;
    const ownership = options.userInfo
      ? (await options.userInfo.getUserInfo(credentials)).ownershipEntityRefs
      : [];
    const [decision] = await permissions.authorize(
      [{ permission: kubechartRunsApprovePermission }],
      { credentials },
    );
    return {
      userEntityRef,
      ownershipRefs: [...new Set([userEntityRef, ...ownership])],
      mayApprove: decision.result === AuthorizeResult.ALLOW,
    };
  }

  /** The run with, on an open approval, whether the caller (its decider, when already resolved) may decide on it. */
  async function withViewer<T extends RunListItem>(
    req: Request,
    run: T,
    resolved?: { decider: ApprovalDecider | undefined },
  ): Promise<T> {
    if (!run.approval) return run;
    const decider = resolved ? resolved.decider : await approvalDecider(req);
    const viewer = decider
      ? await engine.mayDecide(run, decider)
      : {
          mayDecide: false,
          reason: 'only a signed-in user may decide on approvals',
        };
    // The requester may take back an open request (`POST /runs/:id/withdraw`).
    const mayWithdraw =
      decider?.userEntityRef === run.actor &&
      (OPEN_APPROVAL_STATES as readonly string[]).includes(run.approval.state);
    return {
      ...run,
      approval: {
        ...run.approval,
        viewer: { ...viewer, ...(mayWithdraw ? { mayWithdraw } : {}) },
      },
    };
  }

  router.get('/runs/:id', async (req, res) => {
    res.json(await withViewer(req, await readableRun(req, req.params.id)));
  });

  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/runs/:id/${decision}`, async (req, res) => {
      // As the engine keeps it: the trail holds no secret the comment quotes.
      const comment =
        typeof req.body?.comment === 'string'
          ? scrubComment(req.body.comment.slice(0, 2000))
          : null;
      const run = await readableRun(req, req.params.id, {
        eventId: `run-${decision}`,
        meta: { runId: req.params.id, comment },
      });
      const decider = await approvalDecider(req);
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
      const actor = principalRef(credentials);
      const passedOnBy = passedOnByOf(credentials);
      // Refused attempts are part of the trail too (someone tried to approve what they may not),
      // under the run's entity, so that its owners see who decided or tried.
      const decided = await audited(
        req,
        `run-${decision}`,
        {
          runId: run.id,
          entityRef: run.entityRef ?? null,
          kind: run.kind,
          cluster: run.target.cluster,
          namespace: run.target.namespace,
          requester: run.actor,
          decider: decider?.userEntityRef ?? null,
          ...(passedOnBy ? { relayedBy: passedOnBy } : {}),
          comment,
        },
        async () => {
          const body = parse(decideRunSchema, req.body, `${decision} request`);
          try {
            relayingPlugin(credentials, relayingPlugins);
            refusePassedOnDecision(credentials);
            if (!decider)
              throw new NotAllowedError(
                'Only a signed-in user may approve or reject a run; a service cannot',
              );
            return await engine.decide(run.id, decider, decision, body.comment);
          } catch (e) {
            if (e instanceof NotAllowedError)
              throw withAuditMeta(e, { outcome: 'refused', actor });
            throw e;
          }
        },
        r => ({ status: r.status, approval: r.approval?.state ?? null }),
        'high',
      );
      res.json(await withViewer(req, decided, { decider }));
    });
  }

  // The requester takes back a run awaiting approval, or approved and not started (a template task
  // cancelled, a change found wrong): with the rights it asked with, as the requester only. Unlike a
  // decision, a step or tool passing the requester's credentials on may: it changes nothing.
  router.post('/runs/:id/withdraw', async (req, res) => {
    const body = parse(withdrawRunSchema, req.body ?? {}, 'withdraw request');
    const comment = body.comment ? scrubComment(body.comment) : null;
    const attempt: RefusedAttempt = {
      eventId: 'run-withdraw',
      meta: { runId: req.params.id, comment },
    };
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const acting = await actingAs(req, credentials, body.onBehalfOf, attempt);
    const run = await readableRun(
      req,
      req.params.id,
      attempt,
      acting.relayedBy ? acting.actor : undefined,
    );
    await authorize(
      req,
      run.kind === 'rollback'
        ? kubechartRunsRollbackPermission
        : kubechartRunsCreatePermission,
      attempt,
    );
    const { actor } = acting;
    const relayedBy = acting.relayedBy ?? acting.passedOnBy;
    const withdrawn = await audited(
      req,
      'run-withdraw',
      {
        runId: run.id,
        entityRef: run.entityRef ?? null,
        kind: run.kind,
        cluster: run.target.cluster,
        namespace: run.target.namespace,
        requester: run.actor,
        actor,
        ...(relayedBy ? { relayedBy } : {}),
        comment,
      },
      async () => {
        try {
          return await engine.withdraw(run.id, actor, body.comment);
        } catch (e) {
          if (e instanceof NotAllowedError)
            throw withAuditMeta(e, { outcome: 'refused', actor });
          throw e;
        }
      },
      r => ({ status: r.status, approval: r.approval?.state ?? null }),
      'high',
    );
    res.json(await withViewer(req, withdrawn));
  });

  router.post('/runs/:id/execute', async (req, res) => {
    const body = parse(
      createRunSchema,
      req.body,
      'run request',
    ) as CreateRunRequest;
    const credentials = await authorize(
      req,
      body.kind === 'rollback'
        ? kubechartRunsRollbackPermission
        : kubechartRunsCreatePermission,
      {
        eventId: 'run-execute-approved',
        meta: { runId: req.params.id, kind: body.kind, cluster: body.cluster },
      },
    );
    // An onBehalfOf not honoured is refused first: its refusal tells nothing of the run.
    const acting = await actingAs(req, credentials, body.onBehalfOf, {
      eventId: 'run-execute-approved',
      meta: { runId: req.params.id, kind: body.kind, cluster: body.cluster },
    });
    // Only a caller who may read the run learns more of it (who requested it, where its approval
    // stands) than `GET /runs/:id` would tell it: anyone else gets that answer, 403 or 404.
    const approved = await readableRun(
      req,
      req.params.id,
      {
        eventId: 'run-execute-approved',
        meta: { runId: req.params.id, kind: body.kind, cluster: body.cluster },
      },
      acting.relayedBy ? acting.actor : undefined,
    );
    const { actor } = acting;
    const relayedBy = acting.relayedBy ?? acting.passedOnBy;
    const run = await audited(
      req,
      'run-execute-approved',
      {
        runId: req.params.id,
        entityRef: approved.entityRef ?? null,
        kind: body.kind,
        cluster: body.cluster,
        actor,
        ...(relayedBy ? { relayedBy } : {}),
      },
      async () => {
        refuseRelayedEntityRef(acting, body.entityRef);
        return engine.executeApproved(
          req.params.id,
          body,
          actor,
          await runCallerOf(credentials, actor),
        );
      },
      r => ({ status: r.status }),
      'high',
    );
    res.status(202).json({ id: run.id, status: run.status });
  });

  router.get('/approvals', async (req, res) => {
    const q = parse(listApprovalsQuery, req.query, 'query');
    const scope = await scopes.resolve(req, kubechartRunsReadPermission);
    const decider = await approvalDecider(req);
    // Filtered page by page: the platform's newest open requests may all be others'.
    const { items, truncated, nextCursor } = await collectVisibleApprovals(
      cursor =>
        store.listOpenApprovals(APPROVALS_PAGE_SIZE, cursor ? { cursor } : {}),
      async page => {
        const visible: RunListItem[] = [];
        for (const run of await scopes.filter(scope, page)) {
          // The caller's groups and permission are read once for the whole list, not once per run.
          const viewed = await withViewer(req, run, { decider });
          // Approvers see what they may decide on; requesters see their own open requests.
          if (
            viewed.approval?.viewer?.mayDecide ||
            (decider && run.actor === decider.userEntityRef)
          )
            visible.push(viewed);
        }
        return visible;
      },
      { after: run => store.runsCursorAfter(run) },
      { cursor: q.cursor },
    );
    // `truncated`: the caller may see more than the items listed, or the scan stopped at its bound;
    // `nextCursor` reads on.
    res.json({
      items,
      ...(truncated ? { truncated: true } : {}),
      ...(nextCursor ? { nextCursor } : {}),
    });
  });

  if (options.drift) {
    addDriftRoutes(router, {
      drift: options.drift.store,
      history: options.drift.history,
      scopes,
      readableRun,
      authorize,
      auditedRunRequest: credentials =>
        auditedRunRequest(
          effectiveActor(credentials, undefined, onBehalfOfServices).actor,
        ),
      checkScope: (credentials, run) =>
        checkRunScope(
          credentials,
          effectiveActor(credentials, undefined, onBehalfOfServices).actor,
          run,
        ),
      submit: async (credentials, request) => {
        const { actor } = effectiveActor(
          credentials,
          undefined,
          onBehalfOfServices,
        );
        return engine.submit(
          request,
          actor,
          await runCallerOf(credentials, actor),
        );
      },
    });
  }

  router.get('/runs/:id/events', async (req, res) => {
    // Listened for before anything is awaited: a client that leaves during the checks below takes
    // no stream slot and starts no poll loop.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const left = () =>
      gone.signal.aborted || res.destroyed || !!req.socket?.destroyed;
    const q = parse(eventsQuery, req.query, 'query');
    const run = await readableRun(req, req.params.id);
    let after = q.after ?? 0;
    /** The most events one answer (or one page of a followed stream's backlog) holds. */
    const pageCount = 5000;
    /**
     * The most bytes of JSON one answer holds (its envelope included), whatever the count: a message
     * may run to 10,000 characters, and a recorded run's writer may append any number of them.
     */
    const pageBytes = 1024 * 1024;
    /** Bytes kept for the answer's envelope: `{"items":[…],"status":"awaiting-approval","more":true}`. */
    const envelopeBytes = 256;
    /**
     * Rows read from the store at once. A message is at most 10,000 characters, so one read holds at
     * most some 5 MB of text however the events are shaped; the first read is smaller, and later
     * ones are sized by what the events so far weighed.
     */
    const firstRead = 100;
    const mostRead = 500;
    /**
     * The events after `from` that fit one page: at most `pageCount`, and no more than `pageBytes`
     * of JSON, yet always at least one. `more` when the run holds events past the page's last one;
     * `json` is each event serialised, as measured.
     */
    const readPage = async (from: number) => {
      const items: Awaited<ReturnType<RunStore['getEvents']>> = [];
      const json: string[] = [];
      let bytes = envelopeBytes;
      let cursor = from;
      let chunk = firstRead;
      for (;;) {
        // One more than wanted, to know whether the run holds more.
        const limit = Math.min(chunk, pageCount - items.length) + 1;
        const rows = await store.getEvents(run.id, { after: cursor, limit });
        for (const e of rows) {
          const s = JSON.stringify(e);
          const size = Buffer.byteLength(s) + 1; // and its comma
          if (
            items.length >= pageCount ||
            (items.length > 0 && bytes + size > pageBytes)
          ) {
            return { items, json, more: true };
          }
          items.push(e);
          json.push(s);
          bytes += size;
          cursor = e.seq;
        }
        if (rows.length < limit) return { items, json, more: false };
        const mean = (bytes - envelopeBytes) / items.length;
        chunk = Math.min(
          mostRead,
          Math.max(1, Math.ceil((pageBytes - bytes) / mean)),
        );
      }
    };
    if (q.follow !== 'true') {
      // One page: a client reads on with `?after=` the last item's `seq` while `more` is set.
      const { items, more } = await readPage(after);
      res.json({
        items,
        status: run.status,
        ...(more ? { more: true } : {}),
      });
      return;
    }
    // Each open stream polls the database until its run ends (which a run awaiting approval may not
    // do for days): a caller holds a bounded number of them, so none can take the connection pool.
    // Keyed on the caller itself (a user's entity ref or `service:<subject>`), as it acts without onBehalfOf.
    const { actor: caller } = effectiveActor(
      await httpAuth.credentials(req, { allow: ['user', 'service'] }),
      undefined,
      onBehalfOfServices,
    );
    if (left()) return;
    const open = following.get(caller) ?? 0;
    if (open >= settings.followStreamsPerCaller) {
      throw new TooManyRequestsError(
        `${caller} already follows ${open} run event streams, the most one caller may hold open at once (kubechart.limits.followStreamsPerCaller); close one, or read GET /runs/${run.id}/events without follow`,
      );
    }
    // However many callers (or tokens of one) ask, this backend holds a bounded number of them.
    if (openStreams >= settings.maxOpenStreams) {
      res.setHeader('Retry-After', String(STREAM_RETRY_AFTER_SECONDS));
      throw new ServiceUnavailableError(
        `This backend already holds ${openStreams} run event streams open, the most it holds at once (kubechart.limits.maxOpenStreams); ask again in ${STREAM_RETRY_AFTER_SECONDS} seconds, or read GET /runs/${run.id}/events without follow`,
      );
    }
    following.set(caller, open + 1);
    openStreams++;
    // Given back once: as the client leaves (it may open another at once), or as the stream ends
    // however it does (the run ended, read access withdrawn, the lifetime up, an error).
    let holds = true;
    const release = () => {
      if (!holds) return;
      holds = false;
      openStreams--;
      const n = (following.get(caller) ?? 1) - 1;
      if (n > 0) following.set(caller, n);
      else following.delete(caller);
    };
    res.on('close', release);
    // A stream lives a bounded time (the client asks again, and is checked again, when it is up).
    const expired = new AbortController();
    const lifetime = setTimeout(
      () => expired.abort(),
      options.followMaxMs ?? FOLLOW_MAX_MS,
    );
    try {
      // Live stream: NDJSON by default, Server-Sent Events when asked for.
      const sse = (req.headers.accept ?? '').includes('text/event-stream');
      res.status(200);
      res.setHeader(
        'Content-Type',
        sse ? 'text/event-stream' : 'application/x-ndjson',
      );
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      /** Writes one serialised message; false when the socket wants to drain first. */
      const writeJson = (json: string) =>
        res.write(sse ? `data: ${json}\n\n` : `${json}\n`);
      const write = (obj: unknown) => writeJson(JSON.stringify(obj));
      const stopped = () => gone.signal.aborted || expired.signal.aborted;
      /** Resolves once the socket took what was written, the client went away, or the lifetime is up. */
      const drained = () =>
        new Promise<void>(resolve => {
          if (res.destroyed || res.writableEnded || stopped()) {
            resolve();
            return;
          }
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            expired.signal.removeEventListener('abort', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
          expired.signal.addEventListener('abort', done);
        });
      /**
       * Undefined while the caller may still read the run, as a read of it decides (the run's entity
       * may have changed hands, the caller may have left its owners); else the stream's last line.
       */
      const refusal = async () => {
        try {
          await readableRun(req, run.id);
          return undefined;
        } catch (e) {
          if (e instanceof NotFoundError || e instanceof NotAllowedError)
            return { type: 'end', reason: 'forbidden' };
          // Not known (the catalog or the permission backend failing): the client asks again, and its
          // new request is answered with the reason.
          options.logger.warn(
            `Event stream of run ${run.id} ended: read access could not be checked again: ${e}`,
          );
          return { type: 'reconnect', after };
        }
      };
      const poll = options.followPollMs ?? 500;
      /** The line the stream ends with, when it ends for a reason of its own. */
      let last: unknown;
      let checkedAt = Date.now();
      for (let first = true; !stopped(); first = false) {
        const current = await store.getRun(run.id);
        let page = await readPage(after);
        const ended = !current || TERMINAL.has(current.status);
        // Read access is checked again before anything new goes out, and now and then on a quiet stream.
        if (
          !first &&
          (page.items.length > 0 ||
            ended ||
            Date.now() - checkedAt >= FOLLOW_IDLE_RECHECK_MS)
        ) {
          last = await refusal();
          if (last) break;
          checkedAt = Date.now();
        }
        // The backlog goes out a page at a time, each taken by the socket before the next is read,
        // so a run of many large events neither holds the event loop nor piles up in memory.
        for (;;) {
          let ready = true;
          for (let i = 0; i < page.items.length; i++) {
            ready = writeJson(`{"type":"event","event":${page.json[i]}}`);
            after = page.items[i].seq;
          }
          if (!ready && !stopped()) await drained();
          if (!page.more || stopped()) break;
          page = await readPage(after);
        }
        if (stopped()) break;
        if (ended) {
          last = {
            type: 'end',
            status: current?.status,
            failureReason: current?.failureReason,
          };
          break;
        }
        await new Promise(r => setTimeout(r, poll));
      }
      if (!gone.signal.aborted) {
        if (!last && res.writableNeedDrain) {
          // Its lifetime is up and the client reads nothing: not waited for.
          res.destroy();
        } else {
          write(last ?? { type: 'reconnect', after });
          res.end();
        }
      }
    } finally {
      clearTimeout(lifetime);
      release();
    }
  });

  router.get('/runs/:id/diff/:other', async (req, res) => {
    const [a, b] = await Promise.all([
      readableRun(req, req.params.id),
      readableRun(req, req.params.other),
    ]);
    // A diff takes the event loop in steps until it ends (up to DIFF_TIMEOUT_MS): one caller has a
    // few under way at most, keyed on the caller itself as event streams are.
    const { actor: caller } = effectiveActor(
      await httpAuth.credentials(req, { allow: ['user', 'service'] }),
      undefined,
      onBehalfOfServices,
    );
    const open = diffing.get(caller) ?? 0;
    if (open >= DIFFS_PER_CALLER_AT_ONCE) {
      throw new TooManyRequestsError(
        `${caller} already has ${open} run diffs under way, the most one caller may have at once; wait for them to finish`,
      );
    }
    diffing.set(caller, open + 1);
    try {
      res.json(await runDiff(a, b));
    } finally {
      const left = (diffing.get(caller) ?? 1) - 1;
      if (left > 0) diffing.set(caller, left);
      else diffing.delete(caller);
    }
  });

  router.post('/policy/check', async (req, res) => {
    const credentials = await authorize(req, kubechartRunsCreatePermission);
    const body = parse(policyCheckSchema, req.body, 'policy check');
    const { actor, passedOnBy } = effectiveActor(
      credentials,
      undefined,
      onBehalfOfServices,
    );
    const { manifest, report, secrets } = await dryRuns.run(actor, async () => {
      if ('manifests' in body) {
        // Bounded: a refused input is a 400 naming the limit. Parsed once, for the secrets and the check.
        const objects = await parseManifestsInTurns(body.manifests, {
          maxObjects: MAX_POLICY_OBJECTS,
        });
        // Its Secrets' values are removed wherever else they appear.
        const given = collectManifestSecretValues(objects);
        return {
          manifest: body.manifests,
          // The run-scope rule the preview applies: whether an install would be blocked.
          report: await engine.checkManifests(objects, body),
          secrets: given,
        };
      }
      const checked = await engine.checkChart(body.release, body);
      return {
        ...checked,
        secrets: collectSecretValues(body.release.values ?? {}),
      };
    });
    await auditDryRunRefusal(
      req,
      'policy-check',
      {
        cluster: body.cluster ?? null,
        namespace: body.namespace,
        actor,
        ...(passedOnBy ? { relayedBy: passedOnBy } : {}),
      },
      report,
    );
    res.json(await redactPlan(manifest, report, secrets));
  });

  router.get('/policy/rules', async (req, res) => {
    await scopes.resolve(req, kubechartRunsReadPermission);
    res.json({ mode: policy.mode, items: policy.listRules() });
  });

  router.get('/clusters', async (req, res) => {
    await authorize(req, kubechartClustersReadPermission);
    res.json({ items: await health.listClusters() });
  });

  router.get('/clusters/:name/health', async (req, res) => {
    const credentials = await authorize(req, kubechartClustersReadPermission);
    const cluster = req.params.name;
    const h = await health.clusterHealth(cluster);
    const visible = await visibleNamespaces(
      req,
      credentials,
      cluster,
      namespacesNamed(h),
    );
    res
      .status(h.status === 'error' ? 503 : 200)
      .json(clusterHealthFor(h, visible));
  });

  /**
   * The namespaces of `cluster` whose workloads and alerts a caller sees in its health (see
   * {@link clusterHealthFor}): every one after an ALLOW of `kubechart.tenants.read`; otherwise, of
   * the namespaces the answer names (`named`), those of the tenants the caller may read (as
   * `GET /tenants` filters them) and those assigned in `kubechart.clusters.<cluster>.namespaces`
   * that the caller may deploy to, decided as a run's scope is (`resolveRunScope`).
   */
  async function visibleNamespaces(
    req: Request,
    credentials: BackstageCredentials,
    cluster: string,
    named: Set<string>,
  ): Promise<VisibleNamespaces> {
    const visible = new Set<string>();
    // A service's token passes every permission check unless it carries access restrictions, so
    // any plugin's own token would read every tenant's workload failures and warning messages:
    // it sees them only when its token grants kubechart.tenants.read (node alerts otherwise).
    if (serviceNotGranted(credentials, kubechartTenantsReadPermission))
      return visible;
    const tenantScope = await scopeOrNone(req, kubechartTenantsReadPermission);
    if (tenantScope?.all) return 'all';
    if (named.size === 0) return visible;
    if (tenantScope) {
      const tenants = (await store.getTenants()).filter(
        t =>
          t.cluster === cluster &&
          t.status !== 'deleted' &&
          named.has(t.namespace),
      );
      for (const t of await readableTenants(tenantScope, tenants))
        visible.add(t.namespace);
    }
    const assigned = [...named].filter(
      ns => !visible.has(ns) && settings.namespaceOwners[cluster]?.[ns],
    );
    if (assigned.length === 0) return visible;
    const { actor } = effectiveActor(
      credentials,
      undefined,
      onBehalfOfServices,
    );
    const caller = await resolveRunCaller({
      credentials,
      actor,
      permissions,
      userInfo: options.userInfo,
    });
    for (const namespace of assigned) {
      try {
        await resolveRunScope(
          { kind: 'manifests', cluster, namespace, manifests: '-' },
          caller,
          { store, settings },
        );
        visible.add(namespace);
      } catch (e) {
        if (!(e instanceof NotAllowedError)) throw e;
      }
    }
    return visible;
  }

  router.get('/tenants', async (req, res) => {
    const scope = await scopes.resolve(req, kubechartTenantsReadPermission);
    const tenants = await readableTenants(
      scope,
      (await store.getTenants()).filter(t => t.status !== 'deleted'),
    );
    res.json({ items: await withReadableLastRuns(req, tenants) });
  });

  /**
   * `tenants` each with its last run when the caller may read that run (`kubechart.runs.read`, a
   * service its own runs only): a tenant may be readable where its last run is not.
   */
  async function withReadableLastRuns(
    req: Request,
    tenants: TenantRecord[],
  ): Promise<Tenant[]> {
    const runScope = await scopeOrNone(req, kubechartRunsReadPermission);
    const lastRuns: Run[] = [];
    if (runScope)
      for (const t of tenants) {
        const last = t.lastRunId ? await store.getRun(t.lastRunId) : undefined;
        if (last) lastRuns.push(last);
      }
    const readable = new Map(
      (runScope ? await scopes.filter(runScope, lastRuns) : []).map(r => [
        r.id,
        r,
      ]),
    );
    return tenants.map(t =>
      toTenant(t, t.lastRunId ? readable.get(t.lastRunId) : undefined),
    );
  }

  /**
   * The tenant's records (one per cluster) the caller may read; 404 when none is readable, as when
   * none exists: a 403 would tell that another owner's tenant has that code.
   */
  async function readableTenant(req: Request, code: string) {
    const scope = await scopes.resolve(req, kubechartTenantsReadPermission);
    const tenants = await readableTenants(
      scope,
      (await store.getTenants(code)).filter(t => t.status !== 'deleted'),
    );
    if (tenants.length === 0)
      throw new NotFoundError(`Tenant ${code} not found`);
    return tenants;
  }

  router.get('/tenants/:code', async (req, res) => {
    const tenants = await readableTenant(req, req.params.code);
    // The runs of this tenant on the clusters where the caller may read it (the same code on another
    // cluster can be another owner's tenant), and of those only the runs the caller may read.
    const runScope = await scopeOrNone(req, kubechartRunsReadPermission);
    const perCluster = runScope
      ? await Promise.all(
          tenants.map(t =>
            store.listRuns(
              { tenant: t.code, cluster: t.cluster },
              { limit: 10 },
            ),
          ),
        )
      : [];
    const runs = runScope
      ? await scopes.filter(
          runScope,
          perCluster.flatMap(p => p.items),
        )
      : [];
    runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const [tenant] = await withReadableLastRuns(req, [tenants[0]]);
    res.json({
      ...tenant,
      clusters: tenants.map(t => t.cluster),
      recentRuns: runs.slice(0, 10).map(r => ({
        id: r.id,
        kind: r.kind,
        status: r.status,
        createdAt: r.createdAt,
        failureReason: r.failureReason,
      })),
    });
  });

  // One tenant's health: the code on the cluster asked for (`?cluster=`), or on the one cluster the
  // caller may read it on. A code on several is refused without one, never answered with the health
  // of whichever tenant comes first (another cluster's, perhaps another owner's).
  router.get('/tenants/:code/health', async (req, res) => {
    const credentials = await authorize(req, kubechartClustersReadPermission);
    const { cluster } = parse(tenantHealthQuery, req.query, 'query');
    // As in a cluster's health: a tenant's quota, URLs and workloads only to a service granted it.
    if (serviceNotGranted(credentials, kubechartTenantsReadPermission))
      throw new NotFoundError(`Tenant ${req.params.code} not found`);
    const tenants = await readableTenant(req, req.params.code);
    const onCluster = cluster
      ? tenants.filter(t => t.cluster === cluster)
      : tenants;
    if (onCluster.length === 0) {
      throw new NotFoundError(
        `Tenant ${req.params.code} not found on cluster ${cluster}`,
      );
    }
    if (onCluster.length > 1) {
      throw new InputError(
        `Tenant ${req.params.code} is on clusters ${onCluster
          .map(t => t.cluster)
          .join(', ')}: say which with ?cluster=`,
      );
    }
    const [tenant] = onCluster;
    const h = await health.tenantHealth(tenant);
    // As the cluster's health when unreachable: the answer is not the tenant's state.
    res.status(h.status === 'unknown' ? 503 : 200).json(h);
  });

  /** The caller's scope under `permission`, or undefined when the policy denies it. */
  async function scopeOrNone(
    req: Request,
    permission: typeof kubechartTenantsReadPermission,
  ) {
    try {
      return await scopes.resolve(req, permission);
    } catch (e) {
      if (e instanceof NotAllowedError) return undefined;
      throw e;
    }
  }

  /**
   * Counts of runs and tenants, durations and failures. A caller who may read everything gets the
   * platform's; a caller under a conditional decision gets those of the runs and tenants it may read
   * (runs grouped by entity in one scan, the groups filtered like `GET /runs`), and a caller denied
   * `tenants.read` no tenant counts.
   */
  router.get('/metrics/summary', async (req, res) => {
    const scope = await scopes.resolve(req, kubechartRunsReadPermission);
    const tenantScope = await scopeOrNone(req, kubechartTenantsReadPermission);
    let runsByStatus: Record<string, number>;
    let runsByKind: Record<string, number>;
    let durations: number[];
    let failures: RunListItem[];
    let tenantsByStatus: Record<string, number> = {};
    // Shared with other callers asking at the same time (see DatabaseRunStore.summary): not changed here.
    if (scope.all) {
      const s = await store.summary();
      ({ runsByStatus, runsByKind, recentFailures: failures } = s);
      durations = [...s.tenantRunDurations];
      if (tenantScope?.all) tenantsByStatus = s.tenantsByStatus;
    } else {
      const s = await store.summaryByEntity();
      // a slice at a time: one permission request per slice, however many entities have runs
      const runs: typeof s.runs = [];
      for (let i = 0; i < s.runs.length; i += SUMMARY_GROUPS_PER_REQUEST) {
        runs.push(
          ...(await scopes.filter(
            scope,
            s.runs.slice(i, i + SUMMARY_GROUPS_PER_REQUEST),
          )),
        );
      }
      runsByStatus = tally(
        runs,
        r => r.status,
        r => r.count,
      );
      runsByKind = tally(
        runs,
        r => r.kind,
        r => r.count,
      );
      durations = (await scopes.filter(scope, s.tenantRunDurations)).map(
        d => d.ms,
      );
      // The newest failures the caller may read, among at most RUNS_LOOKED_AT failed runs (the
      // platform's newest ten could all be others', and a caller's own failure older).
      failures = (
        await readableRunsPage(
          scope,
          { status: 'failed' },
          { limit: RECENT_FAILURES },
        )
      ).items;
    }
    if (tenantScope && !(scope.all && tenantScope.all)) {
      tenantsByStatus = tally(
        await readableTenants(tenantScope, await store.getTenants()),
        t => t.status,
      );
    }
    const d = durations.sort((x, y) => x - y);
    const summary: MetricsSummary = {
      scope: scope.all ? 'platform' : 'readable',
      runs: { byStatus: runsByStatus, byKind: runsByKind },
      tenants: {
        byStatus: tenantsByStatus,
        total: Object.entries(tenantsByStatus)
          .filter(([k]) => k !== 'deleted')
          .reduce((a, [, n]) => a + n, 0),
      },
      provisioningDurationMs: {
        min: d[0] ?? 0,
        avg: d.length ? Math.round(d.reduce((a, b) => a + b, 0) / d.length) : 0,
        p95: percentile(d, 95),
        max: d[d.length - 1] ?? 0,
        count: d.length,
      },
      recentFailures: failures.map(r => ({
        id: r.id,
        kind: r.kind,
        at: r.finishedAt ?? r.createdAt,
        reason: r.failureReason ?? '',
        entityRef: r.entityRef,
      })),
    };
    res.json(summary);
  });

  return router;
}
