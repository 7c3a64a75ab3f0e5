import type { RunDrift, RunKind } from '@kubechart/plugin-kubechart-common';

/** The latest succeeded run of one kind of change on one target. */
export type AppliedRun = {
  id: string;
  kind: RunKind;
  /** The action that recorded the run (`POST /runs/record`); absent for runs kubechart executed. */
  action?: string;
  cluster: string;
  namespace: string;
  release?: string;
  /** Epoch ms. */
  createdAt: number;
};

/** A stored drift record; `actor` decides who may read it when the run has no entity. */
export type DriftRecord = RunDrift & { actor: string };

/** Filters of {@link DriftStore.list}. */
export type DriftFilter = {
  entityRef?: string;
  cluster?: string;
  namespace?: string;
};

/** Persistence of drift records: one per run that is the latest applied on its target. */
export interface DriftStore {
  /**
   * Per target, the latest succeeded run that changed it: for each cluster, namespace and release,
   * the latest `chart`/`rollback` run; for each namespace, the latest `tenant`/`tenant-delete` run
   * and the latest `manifests` run. Runs kubechart executed and runs an action recorded are apart:
   * each target has its latest of either (a recorded run never supersedes an engine run).
   */
  latestAppliedRuns(): Promise<AppliedRun[]>;
  get(runId: string): Promise<DriftRecord | undefined>;
  list(filter: DriftFilter): Promise<DriftRecord[]>;
  /** Stores one record (replacing the run's previous one). */
  put(record: DriftRecord): Promise<void>;
  /**
   * The result of a drift pass: stores `records` and deletes every other record (runs no longer the
   * latest on their target, or whose check failed), in one transaction, so a reader sees the records
   * from before the pass or those after it, never a superseded run's record beside its successor's.
   * Resolves the deleted records.
   */
  replaceAll(records: DriftRecord[]): Promise<DriftRecord[]>;
}
