import type {
  CreateRunRequest,
  PolicyReport,
  Run,
  RunEvent,
  RunPreview,
} from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';

/**
 * A scripted approval: the run waits `polls` reads of `getRun`, gets `decisions`, then is approved
 * (started by the backend, or waiting for the input again when `resubmit`) or rejected.
 */
type ScriptedApproval = {
  polls: number;
  decisions: Array<{
    by: string;
    decision: 'approve' | 'reject';
    comment: string;
  }>;
  resubmit: boolean;
};

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
  readonly executed: Array<{ id: string; request: CreateRunRequest }> = [];
  outcome: Outcome = { status: 'succeeded' };
  /** When set, runs start awaiting approval as scripted. */
  approval?: ScriptedApproval;
  private readonly waiting = new Map<string, { polls: number; final: Run }>();
  private readonly finalAfterExecute = new Map<string, Run>();

  async executeRun(id: string, request: CreateRunRequest) {
    this.executed.push({ id, request });
    const final = this.finalAfterExecute.get(id);
    if (!final) throw new Error(`run ${id} is not approved`);
    this.runs.set(id, final);
    return { id, status: 'pending' as const };
  }

  /** What the actions withdrew, in order. */
  readonly withdrawn: Array<{ id: string; comment?: string }> = [];
  /** When set, `withdrawRun` is refused with it (e.g. the run was decided meanwhile). */
  withdrawRefusal?: Error;

  async withdrawRun(id: string, options: { comment?: string }) {
    if (this.withdrawRefusal) throw this.withdrawRefusal;
    this.withdrawn.push({ id, comment: options.comment });
    this.waiting.delete(id);
    const run = await this.getRun(id);
    const withdrawn: Run = {
      ...run,
      status: 'failed',
      failureReason: `Withdrawn by ${run.actor}; nothing was applied`,
      approval: run.approval && { ...run.approval, state: 'withdrawn' },
    };
    this.runs.set(id, withdrawn);
    return withdrawn;
  }

  async decideRun(): Promise<never> {
    throw new Error('not used by the actions');
  }

  async listApprovals(): Promise<never> {
    throw new Error('not used by the actions');
  }
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
    if (this.approval) {
      const final = this.runs.get(id)!;
      const approval = {
        rule: 'production',
        state: 'awaiting' as const,
        required: 1,
        approvers: ['group:default/platform-team'],
        planHash: 'sha256:0',
        requestedAt: at,
        expiresAt: at,
        decisions: [],
        resubmit: this.approval.resubmit,
      };
      this.waiting.set(id, {
        polls: this.approval.polls,
        final: { ...final, approval },
      });
      this.runs.set(id, { ...final, status: 'awaiting-approval', approval });
    }
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
    const waiting = this.waiting.get(id);
    if (waiting && this.approval && waiting.polls-- <= 0) {
      this.waiting.delete(id);
      const at = new Date().toISOString();
      const decisions = this.approval.decisions.map(d => ({ ...d, at }));
      const rejected = decisions.find(d => d.decision === 'reject');
      const approval = {
        ...waiting.final.approval!,
        decisions,
        state: rejected ? ('rejected' as const) : ('approved' as const),
      };
      if (rejected) {
        this.runs.set(id, {
          ...waiting.final,
          approval,
          status: 'failed',
          failureReason: `Rejected by ${rejected.by}: ${rejected.comment}`,
        });
      } else if (this.approval.resubmit) {
        this.runs.set(id, { ...waiting.final, approval, status: 'approved' });
        this.finalAfterExecute.set(id, {
          ...waiting.final,
          approval: { ...approval, state: 'executed' },
        });
      } else {
        this.runs.set(id, {
          ...waiting.final,
          approval: { ...approval, state: 'executed' },
        });
      }
    }
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
