import type {
  PolicyReport,
  Run,
  RunEvent,
  RunKind,
  RunStatus,
  RunsPage,
  RunTarget,
} from '@kubechart/plugin-kubechart-common';

/** A run about to be created. */
export type NewRun = {
  id: string;
  kind: RunKind;
  status: RunStatus;
  entityRef?: string;
  actor: string;
  template?: string;
  action?: string;
  target: RunTarget;
  tenant?: string;
  /** Already redacted. */
  input: Record<string, unknown>;
};

/** Fields of a run that change while it executes; everything passed must already be redacted. */
export type RunPatch = {
  status?: RunStatus;
  values?: Record<string, unknown>;
  manifest?: string;
  helmRevision?: number;
  policyReport?: PolicyReport;
  failureReason?: string;
};

/** A new event; `seq` is assigned by the store. Message must already be redacted. */
export type NewRunEvent = Omit<RunEvent, 'seq' | 'runId' | 'at'> & { at?: string };

/** Filters of listRuns. */
export type RunFilter = {
  entityRef?: string;
  kind?: RunKind;
  status?: RunStatus;
  actor?: string;
  from?: Date;
  to?: Date;
  tenant?: string;
  cluster?: string;
};

/** Tenant row. */
export type TenantRecord = {
  cluster: string;
  code: string;
  namespace: string;
  entityRef?: string;
  owner?: string;
  displayName?: string;
  status: 'provisioning' | 'active' | 'failed' | 'deleting' | 'deleted';
  lastRunId?: string;
  releases: string[];
  createdAt: string;
  updatedAt: string;
};

/** Persistence of runs, events, locks and tenants. */
export interface RunStore {
  /**
   * Inserts the run and takes every lock key in one transaction. Throws ConflictError naming the
   * active run when a key is held.
   */
  createRun(run: NewRun, lockKeys: string[]): Promise<Run>;
  getRun(id: string): Promise<Run | undefined>;
  listRuns(filter: RunFilter, page: { cursor?: string; limit: number }): Promise<RunsPage>;
  /** Applies a patch; a status change appends a transition. */
  updateRun(id: string, patch: RunPatch, owner?: string): Promise<void>;
  /**
   * Sets the final status and releases the run's locks. With `onlyIfActive`, does nothing (and
   * resolves false) when the run already finished, e.g. reconciled by another replica.
   */
  finishRun(id: string, status: 'succeeded' | 'failed', patch?: RunPatch, options?: { onlyIfActive?: boolean }): Promise<boolean>;
  heartbeat(ids: string[]): Promise<void>;
  /** Runs `running`/`pending` whose heartbeat is older than `before`. */
  findStaleRuns(before: Date): Promise<Run[]>;
  appendEvents(runId: string, events: NewRunEvent[]): Promise<RunEvent[]>;
  getEvents(runId: string, options?: { after?: number; limit?: number }): Promise<RunEvent[]>;
  countRunsByActorSince(actor: string, since: Date): Promise<number>;
  upsertTenant(tenant: Omit<TenantRecord, 'createdAt' | 'updatedAt'>): Promise<void>;
  getTenants(code?: string): Promise<TenantRecord[]>;
  countActiveTenants(): Promise<number>;
  /** Durations (ms) of finished tenant runs, and counts for the metrics summary. */
  summary(): Promise<{
    runsByStatus: Record<string, number>;
    runsByKind: Record<string, number>;
    tenantsByStatus: Record<string, number>;
    tenantRunDurations: number[];
    recentFailures: Run[];
  }>;
}
