import { createApiRef } from '@backstage/frontend-plugin-api';
import type {
  ApprovalsPage,
  ClusterHealth,
  ClusterSummary,
  CreateRunRequest,
  CreateRunResponse,
  DecideRunRequest,
  WithdrawRunRequest,
  MetricsSummary,
  Run,
  RunDiff,
  RunEvent,
  RunDrift,
  RunKind,
  RunStatus,
  RunsPage,
  Tenant,
  TenantHealth,
} from '@kubechart/plugin-kubechart-common';

/**
 * Query of {@link KubechartApi.listRuns}; every field is optional.
 * @public
 */
export type ListRunsQuery = {
  entityRef?: string;
  kind?: RunKind;
  status?: RunStatus;
  actor?: string;
  /** ISO timestamp; only runs created at or after it. */
  from?: string;
  /** ISO timestamp; only runs created before it. */
  to?: string;
  cursor?: string;
  limit?: number;
};

/**
 * Query of {@link KubechartApi.listDrift}: an entity, or a cluster (and namespace).
 * @public
 */
export type ListDriftQuery = {
  entityRef?: string;
  cluster?: string;
  namespace?: string;
};

/**
 * Longest comment the backend accepts on an approval decision.
 * @public
 */
export const APPROVAL_COMMENT_MAX_LENGTH = 2000;

/**
 * Client of the kubechart backend.
 * @public
 */
export interface KubechartApi {
  listRuns(query: ListRunsQuery): Promise<RunsPage>;
  getRun(id: string): Promise<Run>;
  /** Events with `seq` greater than `after` (all events when omitted). */
  getRunEvents(id: string, after?: number): Promise<RunEvent[]>;
  getRunDiff(id: string, otherId: string): Promise<RunDiff>;
  createRun(request: CreateRunRequest): Promise<CreateRunResponse>;
  /**
   * Approves a run awaiting approval, with a required comment (non-empty, at most
   * {@link APPROVAL_COMMENT_MAX_LENGTH} characters); resolves to the run as it is now. Rejects with
   * a `ResponseError`: 403 with the reason the caller may not decide, 409 when the run no longer
   * awaits approval.
   */
  approveRun(id: string, comment: DecideRunRequest['comment']): Promise<Run>;
  /** Rejects a run awaiting approval; like {@link KubechartApi.approveRun}. */
  rejectRun(id: string, comment: DecideRunRequest['comment']): Promise<Run>;
  /**
   * Withdraws a run the caller requested while it awaits approval or is approved and not started,
   * with an optional comment; resolves to the run as it is now (failed, approval `withdrawn`).
   * Rejects with a `ResponseError`: 403 for anyone but its requester, 409 once it started or ended.
   */
  withdrawRun(
    id: string,
    comment?: WithdrawRunRequest['comment'],
  ): Promise<Run>;
  /**
   * Runs awaiting an approval the caller may give, or that the caller asked for (`GET /approvals`),
   * as list items: without values, manifest or policy report ({@link KubechartApi.getRun} has them).
   * `truncated` is true when the backend could not list every such run; `nextCursor`, when there
   * is one, passed as `cursor` reads the next page.
   */
  listApprovals(options?: {
    cursor?: string;
  }): Promise<ApprovalsPage & { truncated: boolean }>;
  listClusters(): Promise<ClusterSummary[]>;
  /**
   * Health of one cluster. An unreachable cluster resolves to a health of status `error`
   * (the backend answers 503 with that body) rather than rejecting.
   */
  getClusterHealth(name: string): Promise<ClusterHealth>;
  listTenants(): Promise<Tenant[]>;
  getTenant(code: string): Promise<Tenant>;
  /**
   * Health of one tenant. One whose cluster the backend does not follow resolves to a health of
   * status `unknown`, with why (`message`), as of when it last did (the backend answers 503 with
   * that body) rather than rejecting. `cluster` is the tenant's cluster: needed when the code is on
   * several clusters the caller may read (the backend refuses to pick one).
   */
  getTenantHealth(code: string, cluster?: string): Promise<TenantHealth>;
  getMetricsSummary(): Promise<MetricsSummary>;
  /** Drift of a run that is the latest applied on its target (404 when it has no drift record). */
  getRunDrift(id: string): Promise<RunDrift>;
  /** Drift of the latest applied runs of an entity, or on a cluster (and namespace). */
  listDrift(query: ListDriftQuery): Promise<RunDrift[]>;
  /**
   * Applies a run again as a new run (a release: rolled back to the run's revision; manifests: the
   * stored manifest). `release` names the release of a tenant run with several.
   */
  reapplyRun(
    id: string,
    options?: { release?: string },
  ): Promise<CreateRunResponse>;
}

/**
 * Reference to the {@link KubechartApi}.
 * @public
 */
export const kubechartApiRef = createApiRef<KubechartApi>().with({
  id: 'plugin.kubechart.service',
  pluginId: 'kubechart',
});
