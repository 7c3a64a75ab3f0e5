import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { InputError, ResponseError } from '@backstage/errors';
import type {
  AppendRunEventsRequest,
  ApprovalsPage,
  ClusterHealth,
  ClusterSummary,
  CreateRunRequest,
  CreateRunResponse,
  FinishRunRequest,
  RecordRunRequest,
  PolicyReport,
  ReleaseSpec,
  Run,
  RunDiff,
  RunEvent,
  RunPreview,
  RunsPage,
  Tenant,
  TenantHealth,
} from '@kubechart/plugin-kubechart-common';
import { InputLimitError, REQUEST_BODY_LIMITS } from '../yaml/limits';
import { assertJsonTextWithinLimits } from '../yaml/parseJsonLimited';
import { parseManifestsInTurns } from '../yaml/manifestsInTurns';
import { RECORDED_RUN_LIMITS } from './recordedRunLimits';

/** Body of `POST /policy/check`: a chart release or multi-document YAML, checked without applying. @public */
export type PolicyCheckRequest =
  | { cluster?: string; namespace: string; release: ReleaseSpec }
  | { cluster?: string; namespace: string; manifests: string };

/** Answer of `POST /policy/check`: the report and the rendered (redacted) manifest. @public */
export type PolicyCheckResponse = { report: PolicyReport; manifest: string };

/** Filters of {@link KubechartRunsService.listRuns}. @public */
export type ListRunsQuery = {
  entityRef?: string;
  kind?: string;
  status?: string;
  actor?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
};

/**
 * Handle on a run recorded by a platform team's own action. What it would send beyond what a recorded
 * run may hold ({@link RECORDED_RUN_LIMITS}: events, characters and objects of the manifest) or
 * beyond what the backend reads in one request body ({@link REQUEST_BODY_LIMITS}) it refuses with an
 * `InputError` naming the limit, sending nothing; the run stays open for `fail`. The characters of
 * event messages are the backend's to count (413), once their secrets are removed.
 * @public
 */
export interface RecordedRun {
  readonly id: string;
  log(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
  step(
    step: string,
    stepStatus: 'started' | 'succeeded' | 'skipped' | 'failed',
    message?: string,
  ): Promise<void>;
  succeed(
    result?: Omit<FinishRunRequest, 'status' | 'failureReason'>,
  ): Promise<void>;
  fail(reason: string): Promise<void>;
}

/**
 * Talks to the kubechart backend on behalf of a user or service: start runs, read and follow them,
 * and record runs executed elsewhere so they appear in deployment history.
 * @public
 */
export interface KubechartRunsService {
  createRun(
    request: CreateRunRequest,
    options: { credentials: BackstageCredentials },
  ): Promise<CreateRunResponse>;
  /** Validates a run and renders what it would apply, with the policy report; changes nothing. */
  previewRun(
    request: CreateRunRequest,
    options: { credentials: BackstageCredentials },
  ): Promise<RunPreview>;
  getRun(
    id: string,
    options: { credentials: BackstageCredentials },
  ): Promise<Run>;
  listRuns(
    query: ListRunsQuery,
    options: { credentials: BackstageCredentials },
  ): Promise<RunsPage>;
  getEvents(
    id: string,
    options: { credentials: BackstageCredentials; after?: number },
  ): Promise<RunEvent[]>;
  /**
   * Calls `onEvent` for every event until the run finishes; resolves with the finished run.
   * Safe to call again after a restart: pass `after` to skip events already seen.
   */
  followRun(
    id: string,
    options: {
      credentials: BackstageCredentials;
      onEvent?: (event: RunEvent) => void | Promise<void>;
      after?: number;
      pollIntervalMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<Run>;
  recordRun(
    request: RecordRunRequest,
    options: { credentials: BackstageCredentials },
  ): Promise<RecordedRun>;
  /**
   * Submits the input of an approved run again (`approval.resubmit`: it holds secret values the
   * backend does not keep, or needed the requester's `kubechart.tenants.admin`, checked again now).
   * The backend renders it again and starts it only if it is the approved plan.
   */
  executeRun(
    id: string,
    request: CreateRunRequest,
    options: { credentials: BackstageCredentials },
  ): Promise<CreateRunResponse>;
  /** Approves or rejects a run awaiting approval, with a required comment (users only; never the requester). */
  decideRun(
    id: string,
    decision: 'approve' | 'reject',
    comment: string,
    options: { credentials: BackstageCredentials },
  ): Promise<Run>;
  /**
   * Withdraws a run the caller requested while it awaits approval, or is approved and not started
   * (`POST /runs/:id/withdraw`): it ends as failed, approval `withdrawn`, nothing applied. Refused for
   * anyone but its requester (403) and once it started or was decided or ended (409).
   */
  withdrawRun(
    id: string,
    options: { credentials: BackstageCredentials; comment?: string },
  ): Promise<Run>;
  /**
   * Runs awaiting approval the caller may decide on, and the caller's own open requests, as list items
   * (no values, manifest or policy report; {@link KubechartRunsService.getRun} has them).
   * `truncated` is true when the backend could not list every such run; `nextCursor`, when there
   * is one, passed as `cursor` reads the next page.
   */
  listApprovals(options: {
    credentials: BackstageCredentials;
    cursor?: string;
  }): Promise<ApprovalsPage & { truncated: boolean }>;
  /** Every tenant that exists (deleted tenants are left out). */
  listTenants(options: {
    credentials: BackstageCredentials;
  }): Promise<Tenant[]>;
  /** Unified diff of values and manifests between two runs the caller may read. */
  getRunDiff(
    from: string,
    to: string,
    options: { credentials: BackstageCredentials },
  ): Promise<RunDiff>;
  /** Renders and checks a chart or manifests against the policy; changes nothing. */
  checkPolicy(
    request: PolicyCheckRequest,
    options: { credentials: BackstageCredentials },
  ): Promise<PolicyCheckResponse>;
  listClusters(options: {
    credentials: BackstageCredentials;
  }): Promise<ClusterSummary[]>;
  /** Health of one cluster; an unreachable cluster is an answer with status `error`, not a thrown error. */
  getClusterHealth(
    cluster: string,
    options: { credentials: BackstageCredentials },
  ): Promise<ClusterHealth>;
  /**
   * Health of one tenant; one whose cluster's health cache does not follow the cluster is an answer
   * with status `unknown` and why (`message`), not a thrown error.
   */
  getTenantHealth(
    tenant: string,
    options: { credentials: BackstageCredentials },
  ): Promise<TenantHealth>;
}

const TERMINAL = new Set(['succeeded', 'failed']);

/**
 * `ResponseError` says only "Request failed with 400 Bad Request"; a template author needs the
 * backend's reason (e.g. helm's message) in the task log, so it is appended to the message. The
 * status, body and cause stay on the error for callers that inspect them.
 */
function withServerMessage(error: ResponseError): ResponseError {
  const reason = error.body?.error?.message;
  if (reason && !error.message.includes(reason)) {
    error.message = `${error.message}: ${reason}`;
  }
  return error;
}

/** HTTP implementation of {@link KubechartRunsService}. @public */
export class KubechartRunsClient implements KubechartRunsService {
  constructor(
    private readonly deps: {
      auth: AuthService;
      discovery: DiscoveryService;
      fetch?: typeof fetch;
    },
  ) {}

  private async request<T>(
    method: string,
    path: string,
    credentials: BackstageCredentials,
    body?: unknown,
    /** Statuses besides 2xx whose JSON body is the answer (e.g. 503 for an unreachable cluster's health). */
    answerStatuses: number[] = [],
    /** Whether a body of one of `answerStatuses` is the answer (else it is an error). */
    isAnswer: (body: unknown) => boolean = b => b !== undefined,
  ): Promise<T> {
    const baseUrl = await this.deps.discovery.getBaseUrl('kubechart');
    const { token } = await this.deps.auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: 'kubechart',
    });
    const res = await (this.deps.fetch ?? fetch)(`${baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    if (!res.ok && !answerStatuses.includes(res.status)) {
      throw withServerMessage(await ResponseError.fromResponse(res as any));
    }
    if (!res.ok) {
      const answer = await res
        .clone()
        .json()
        .catch(() => undefined);
      if (!isAnswer(answer))
        throw withServerMessage(await ResponseError.fromResponse(res as any));
      return answer as T;
    }
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  createRun(
    request: CreateRunRequest,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<CreateRunResponse>(
      'POST',
      '/runs',
      credentials,
      request,
    );
  }

  previewRun(
    request: CreateRunRequest,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<RunPreview>(
      'POST',
      '/runs/preview',
      credentials,
      request,
    );
  }

  getRun(id: string, { credentials }: { credentials: BackstageCredentials }) {
    return this.request<Run>(
      'GET',
      `/runs/${encodeURIComponent(id)}`,
      credentials,
    );
  }

  listRuns(
    query: ListRunsQuery,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) qs.set(k, String(v));
    }
    return this.request<RunsPage>('GET', `/runs?${qs}`, credentials);
  }

  executeRun(
    id: string,
    request: CreateRunRequest,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<CreateRunResponse>(
      'POST',
      `/runs/${encodeURIComponent(id)}/execute`,
      credentials,
      request,
    );
  }

  decideRun(
    id: string,
    decision: 'approve' | 'reject',
    comment: string,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<Run>(
      'POST',
      `/runs/${encodeURIComponent(id)}/${decision}`,
      credentials,
      { comment },
    );
  }

  withdrawRun(
    id: string,
    {
      credentials,
      comment,
    }: { credentials: BackstageCredentials; comment?: string },
  ) {
    return this.request<Run>(
      'POST',
      `/runs/${encodeURIComponent(id)}/withdraw`,
      credentials,
      comment !== undefined ? { comment } : {},
    );
  }

  async listApprovals({
    credentials,
    cursor,
  }: {
    credentials: BackstageCredentials;
    cursor?: string;
  }) {
    const qs = cursor ? `?${new URLSearchParams({ cursor })}` : '';
    const body = await this.request<ApprovalsPage>(
      'GET',
      `/approvals${qs}`,
      credentials,
    );
    // `truncated` is the backend's word that the list is cut: an empty list is then not "none".
    // `nextCursor` reads on.
    const next = body.nextCursor;
    return {
      items: body.items,
      truncated: body.truncated === true,
      ...(typeof next === 'string' && next ? { nextCursor: next } : {}),
    };
  }

  /** One page of a run's events after `after`; `more` when the run holds events past it. */
  private async eventsPage(
    id: string,
    credentials: BackstageCredentials,
    after: number | undefined,
  ) {
    const qs = after !== undefined ? `?after=${after}` : '';
    const r = await this.request<{ items: RunEvent[]; more?: boolean }>(
      'GET',
      `/runs/${encodeURIComponent(id)}/events${qs}`,
      credentials,
    );
    return { items: r.items, more: r.more === true && r.items.length > 0 };
  }

  async getEvents(
    id: string,
    options: { credentials: BackstageCredentials; after?: number },
  ) {
    // The backend answers a page at a time (at most 1 MiB or 5,000 events): read on while it has more.
    const out: RunEvent[] = [];
    let after = options.after;
    for (;;) {
      const page = await this.eventsPage(id, options.credentials, after);
      out.push(...page.items);
      if (!page.more) return out;
      after = page.items[page.items.length - 1].seq;
    }
  }

  async followRun(
    id: string,
    options: {
      credentials: BackstageCredentials;
      onEvent?: (event: RunEvent) => void | Promise<void>;
      after?: number;
      pollIntervalMs?: number;
      signal?: AbortSignal;
    },
  ): Promise<Run> {
    let after = options.after ?? 0;
    for (;;) {
      options.signal?.throwIfAborted();
      // Read the run before the events, so events written before it finished are not missed.
      const run = await this.getRun(id, options);
      for (let more = true; more; ) {
        const page = await this.eventsPage(id, options.credentials, after);
        for (const e of page.items) {
          await options.onEvent?.(e);
          after = Math.max(after, e.seq);
        }
        more = page.more;
      }
      if (TERMINAL.has(run.status)) {
        return run;
      }
      await new Promise(r => setTimeout(r, options.pollIntervalMs ?? 1000));
    }
  }

  async listTenants({ credentials }: { credentials: BackstageCredentials }) {
    const r = await this.request<{ items: Tenant[] }>(
      'GET',
      '/tenants',
      credentials,
    );
    return r.items;
  }

  getRunDiff(
    from: string,
    to: string,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<RunDiff>(
      'GET',
      `/runs/${encodeURIComponent(from)}/diff/${encodeURIComponent(to)}`,
      credentials,
    );
  }

  checkPolicy(
    request: PolicyCheckRequest,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<PolicyCheckResponse>(
      'POST',
      '/policy/check',
      credentials,
      request,
    );
  }

  async listClusters({ credentials }: { credentials: BackstageCredentials }) {
    const r = await this.request<{ items: ClusterSummary[] }>(
      'GET',
      '/clusters',
      credentials,
    );
    return r.items;
  }

  getClusterHealth(
    cluster: string,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<ClusterHealth>(
      'GET',
      `/clusters/${encodeURIComponent(cluster)}/health`,
      credentials,
      undefined,
      [503],
    );
  }

  getTenantHealth(
    tenant: string,
    { credentials }: { credentials: BackstageCredentials },
  ) {
    return this.request<TenantHealth>(
      'GET',
      `/tenants/${encodeURIComponent(tenant)}/health`,
      credentials,
      undefined,
      [503],
      // A 503 of another cause (the catalog cannot be read) is an error, not an unknown health.
      (b: any) =>
        typeof b?.tenant === 'string' && typeof b?.status === 'string',
    );
  }

  async recordRun(
    request: RecordRunRequest,
    { credentials }: { credentials: BackstageCredentials },
  ): Promise<RecordedRun> {
    assertBodyWithinLimits(
      request,
      'The request to record a run',
      'Nothing was sent',
    );
    const { id } = await this.request<{ id: string }>(
      'POST',
      '/runs/record',
      credentials,
      request,
    );
    const path = `/runs/${encodeURIComponent(id)}`;
    // The events this handle sent (it alone writes them). Only their number is checked here: the
    // backend counts the characters of messages once it has removed their secrets, and answers 413.
    let held = 0;
    const append = async (events: AppendRunEventsRequest['events']) => {
      const { maxEvents } = RECORDED_RUN_LIMITS;
      if (held + events.length > maxEvents)
        throw new InputError(
          `Recorded run ${id} holds ${held} events; with this one it would hold ${
            held + events.length
          }, more than the ${maxEvents} a recorded run may store (RECORDED_RUN_LIMITS.maxEvents). Nothing was sent`,
        );
      const body = { events };
      assertBodyWithinLimits(
        body,
        `The events of recorded run ${id}`,
        'Nothing was sent',
      );
      await this.request<void>('POST', `${path}/events`, credentials, body);
      held += events.length;
    };
    const finish = async (body: FinishRunRequest) => {
      const nothingSent = 'Nothing was sent; the run is still open';
      const { maxManifestCharacters } = RECORDED_RUN_LIMITS;
      if (
        body.manifest !== undefined &&
        body.manifest.length > maxManifestCharacters
      )
        throw new InputError(
          `The manifest of recorded run ${id} holds ${body.manifest.length} characters; a recorded run may report at most ${maxManifestCharacters} (RECORDED_RUN_LIMITS.maxManifestCharacters). ${nothingSent}`,
        );
      assertBodyWithinLimits(
        body,
        `The finish of recorded run ${id}`,
        nothingSent,
      );
      if (body.manifest !== undefined) {
        const max = RECORDED_RUN_LIMITS.maxManifestObjects;
        try {
          // Stops at the first object over the limit; what cannot be read is the backend's to refuse.
          await parseManifestsInTurns(body.manifest, { maxObjects: max });
        } catch (e) {
          if (e instanceof InputLimitError && e.limit === 'maxObjects')
            throw new InputError(
              `The manifest of recorded run ${id} holds more than ${max} objects (each item of a List counted); a recorded run may report at most ${max} (RECORDED_RUN_LIMITS.maxManifestObjects). ${nothingSent}`,
            );
        }
      }
      return this.request<void>('POST', `${path}/finish`, credentials, body);
    };
    return {
      id,
      log: (message, level = 'info') => append([{ message, level }]),
      step: (step, stepStatus, message) =>
        append([
          {
            step,
            stepStatus,
            message: message ?? `${step} ${stepStatus}`,
            level: stepStatus === 'failed' ? 'error' : 'info',
          },
        ]),
      succeed: result => finish({ status: 'succeeded', ...result }),
      fail: reason => finish({ status: 'failed', failureReason: reason }),
    };
  }
}

/**
 * Checks a request body the way the kubechart backend reads it ({@link REQUEST_BODY_LIMITS}: bytes
 * as UTF-8, nesting and values of its JSON text), so that what the backend would refuse is refused
 * before it is sent: an `InputError` naming `what`, the bound and `after`.
 */
function assertBodyWithinLimits(body: unknown, what: string, after: string) {
  const bound = 'the most the kubechart backend reads in one request body';
  try {
    assertJsonTextWithinLimits(JSON.stringify(body), {
      what,
      limits: REQUEST_BODY_LIMITS,
    });
  } catch (e) {
    if (!(e instanceof InputLimitError)) throw e;
    const { maxBytes, maxDepth, maxNodes } = REQUEST_BODY_LIMITS;
    const detail = {
      maxBytes: `is larger than ${maxBytes} bytes`,
      maxDepth: `nests deeper than ${maxDepth} levels`,
      maxNodes: `holds more than ${maxNodes} values`,
    }[e.limit as 'maxBytes' | 'maxDepth' | 'maxNodes'];
    throw new InputError(
      `${what} ${detail} as JSON, ${bound} (REQUEST_BODY_LIMITS.${e.limit}). ${after}`,
    );
  }
}

/**
 * Service giving backend modules (e.g. a scaffolder module) a {@link KubechartRunsService}.
 * @public
 */
export const kubechartRunsServiceRef = createServiceRef<KubechartRunsService>({
  id: 'kubechart.runs',
  scope: 'plugin',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: { auth: coreServices.auth, discovery: coreServices.discovery },
      factory: ({ auth, discovery }) =>
        new KubechartRunsClient({ auth, discovery }),
    }),
});
