import type {
  CreateRunRequest,
  PolicyReport,
  Run,
  RunEvent,
  RunPreview,
} from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';

type Outcome = {
  status: 'succeeded' | 'failed';
  failureReason?: string;
  helmRevision?: number;
  policyReport?: PolicyReport;
  events?: Array<
    Pick<RunEvent, 'type' | 'level' | 'message' | 'step' | 'stepStatus'>
  >;
};

/**
 * An in-memory stand-in for the kubechart engine as seen through {@link KubechartRunsService}:
 * records what the actions ask for and finishes each run with a scripted outcome.
 */
export class FakeKubechartRuns implements KubechartRunsService {
  readonly created: CreateRunRequest[] = [];
  readonly previewed: CreateRunRequest[] = [];
  readonly credentialsSeen: unknown[] = [];
  private readonly runs = new Map<string, Run>();
  private readonly events = new Map<string, RunEvent[]>();
  outcome: Outcome = { status: 'succeeded' };
  preview: Omit<RunPreview, 'kind' | 'target'> = {};

  async createRun(
    request: CreateRunRequest,
    { credentials }: { credentials: unknown },
  ) {
    this.created.push(request);
    this.credentialsSeen.push(credentials);
    const id = `run-${this.created.length}`;
    const at = new Date().toISOString();
    this.runs.set(id, {
      id,
      kind: request.kind,
      status: this.outcome.status,
      actor: 'user:default/guest',
      entityRef: request.entityRef,
      target: { cluster: request.cluster, namespace: 'ns' },
      input: {},
      transitions: [{ status: this.outcome.status, at }],
      createdAt: at,
      failureReason: this.outcome.failureReason,
      helmRevision: this.outcome.helmRevision,
      policyReport: this.outcome.policyReport,
    });
    this.events.set(
      id,
      (this.outcome.events ?? []).map((e, i) => ({
        ...e,
        seq: i + 1,
        runId: id,
        at,
      })),
    );
    return { id, status: 'pending' as const };
  }

  async previewRun(request: CreateRunRequest) {
    this.previewed.push(request);
    return {
      kind: request.kind,
      target: { cluster: request.cluster, namespace: 'ns' },
      ...this.preview,
    } as RunPreview;
  }

  async getRun(id: string) {
    const run = this.runs.get(id);
    if (!run) throw new Error(`no run ${id}`);
    return run;
  }

  async listRuns() {
    return { items: [...this.runs.values()] };
  }

  async getEvents(id: string, options: { after?: number }) {
    return (this.events.get(id) ?? []).filter(
      e => e.seq > (options.after ?? 0),
    );
  }

  async followRun(
    id: string,
    options: {
      onEvent?: (e: RunEvent) => void | Promise<void>;
      after?: number;
    },
  ) {
    for (const e of await this.getEvents(id, options))
      await options.onEvent?.(e);
    return this.getRun(id);
  }

  async listTenants() {
    return [];
  }

  async recordRun(): Promise<never> {
    throw new Error('not used by the actions');
  }

  // The read-only operations below belong to the actions registry (MCP tools), not to these
  // template actions; a test that reaches one fails with this message.
  async getRunDiff(): Promise<never> {
    throw new Error('not used by the template actions');
  }

  async checkPolicy(): Promise<never> {
    throw new Error('not used by the template actions');
  }

  async listClusters(): Promise<never> {
    throw new Error('not used by the template actions');
  }

  async getClusterHealth(): Promise<never> {
    throw new Error('not used by the template actions');
  }

  async getTenantHealth(): Promise<never> {
    throw new Error('not used by the template actions');
  }
}
