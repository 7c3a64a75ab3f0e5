import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
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
  RunDrift,
  RunEvent,
  RunListItem,
  RunsPage,
  Tenant,
  TenantHealth,
} from '@kubechart/plugin-kubechart-common';
import type {
  KubechartApi,
  ListDriftQuery,
  ListRunsQuery,
} from './KubechartApi';

/** Lists come back either as a bare array or wrapped as `{ items }`. */
type ListBody<T> = T[] | { items: T[] };

function unwrapList<T>(body: ListBody<T>): T[] {
  return Array.isArray(body) ? body : body.items ?? [];
}

function isClusterHealth(body: unknown): body is ClusterHealth {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ClusterHealth).cluster === 'string' &&
    typeof (body as ClusterHealth).status === 'string'
  );
}

function isTenantHealth(body: unknown): body is TenantHealth {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as TenantHealth).tenant === 'string' &&
    typeof (body as TenantHealth).status === 'string'
  );
}

/**
 * Default {@link KubechartApi} implementation, talking to the `kubechart` backend plugin.
 * @public
 */
export class KubechartClient implements KubechartApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async listRuns(query: ListRunsQuery): Promise<RunsPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') {
        params.set(key, String(value));
      }
    }
    const qs = params.toString();
    return this.request<RunsPage>(`/runs${qs ? `?${qs}` : ''}`);
  }

  async getRun(id: string): Promise<Run> {
    return this.request<Run>(`/runs/${encodeURIComponent(id)}`);
  }

  async getRunEvents(id: string, after?: number): Promise<RunEvent[]> {
    // The backend answers in pages of bounded size, with `more` while the run holds more: read on
    // from the last event of each page.
    const events: RunEvent[] = [];
    let from = after;
    for (;;) {
      const qs = from !== undefined ? `?after=${from}` : '';
      const body = await this.request<ListBody<RunEvent> & { more?: boolean }>(
        `/runs/${encodeURIComponent(id)}/events${qs}`,
      );
      const page = unwrapList(body);
      events.push(...page);
      if (Array.isArray(body) || !body.more || !page.length) return events;
      from = page[page.length - 1].seq;
    }
  }

  async getRunDiff(id: string, otherId: string): Promise<RunDiff> {
    return this.request<RunDiff>(
      `/runs/${encodeURIComponent(id)}/diff/${encodeURIComponent(otherId)}`,
    );
  }

  async createRun(request: CreateRunRequest): Promise<CreateRunResponse> {
    return this.request<CreateRunResponse>('/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  async approveRun(id: string, comment: string): Promise<Run> {
    return this.decide(id, 'approve', { comment });
  }

  async rejectRun(id: string, comment: string): Promise<Run> {
    return this.decide(id, 'reject', { comment });
  }

  async withdrawRun(id: string, comment?: string): Promise<Run> {
    const body: WithdrawRunRequest = comment ? { comment } : {};
    return this.request<Run>(`/runs/${encodeURIComponent(id)}/withdraw`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async listApprovals(
    options: { cursor?: string } = {},
  ): Promise<ApprovalsPage & { truncated: boolean }> {
    const qs = options.cursor
      ? `?${new URLSearchParams({ cursor: options.cursor })}`
      : '';
    const body = await this.request<RunListItem[] | ApprovalsPage>(
      `/approvals${qs}`,
    );
    // `truncated` is the backend's word that the list is cut: an empty list is then not "none".
    // `nextCursor` reads on.
    const nextCursor = Array.isArray(body) ? undefined : body.nextCursor;
    return {
      items: unwrapList(body),
      truncated: !Array.isArray(body) && body.truncated === true,
      ...(typeof nextCursor === 'string' && nextCursor ? { nextCursor } : {}),
    };
  }

  async listClusters(): Promise<ClusterSummary[]> {
    return unwrapList(
      await this.request<ListBody<ClusterSummary>>('/clusters'),
    );
  }

  async getClusterHealth(name: string): Promise<ClusterHealth> {
    const response = await this.send(
      `/clusters/${encodeURIComponent(name)}/health`,
    );
    if (response.status === 503) {
      // An unreachable cluster is reported as a health of status `error`, not as a failure.
      const body = await response
        .clone()
        .json()
        .catch(() => undefined);
      if (isClusterHealth(body)) {
        return body;
      }
    }
    return this.parse<ClusterHealth>(response);
  }

  async listTenants(): Promise<Tenant[]> {
    return unwrapList(await this.request<ListBody<Tenant>>('/tenants'));
  }

  async getTenant(code: string): Promise<Tenant> {
    return this.request<Tenant>(`/tenants/${encodeURIComponent(code)}`);
  }

  async getTenantHealth(code: string, cluster?: string): Promise<TenantHealth> {
    const response = await this.send(
      `/tenants/${encodeURIComponent(code)}/health${
        cluster ? `?cluster=${encodeURIComponent(cluster)}` : ''
      }`,
    );
    if (response.status === 503) {
      // A tenant whose cluster the backend does not follow is reported as a health of status
      // `unknown`, with why, not as a failure.
      const body = await response
        .clone()
        .json()
        .catch(() => undefined);
      if (isTenantHealth(body)) {
        return body;
      }
    }
    return this.parse<TenantHealth>(response);
  }

  async getMetricsSummary(): Promise<MetricsSummary> {
    return this.request<MetricsSummary>('/metrics/summary');
  }

  async getRunDrift(id: string): Promise<RunDrift> {
    return this.request<RunDrift>(`/runs/${encodeURIComponent(id)}/drift`);
  }

  async listDrift(query: ListDriftQuery): Promise<RunDrift[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value) params.set(key, value);
    }
    return unwrapList(
      await this.request<ListBody<RunDrift>>(`/drift?${params.toString()}`),
    );
  }

  async reapplyRun(
    id: string,
    options: { release?: string } = {},
  ): Promise<CreateRunResponse> {
    return this.request<CreateRunResponse>(
      `/runs/${encodeURIComponent(id)}/reapply`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(options),
      },
    );
  }

  private async decide(
    id: string,
    decision: 'approve' | 'reject',
    body: DecideRunRequest,
  ): Promise<Run> {
    return this.request<Run>(`/runs/${encodeURIComponent(id)}/${decision}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    return this.parse<T>(await this.send(path, init));
  }

  private async send(path: string, init?: RequestInit): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('kubechart');
    return this.fetchApi.fetch(`${baseUrl}${path}`, init);
  }

  private async parse<T>(response: Response): Promise<T> {
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}
