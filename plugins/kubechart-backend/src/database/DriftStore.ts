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
  /**
   * When the run started (epoch ms; when it was created, for one recorded as finished without
   * starting): the order runs changed their target in. An approved run starts long after it was
   * requested, and runs on one target start one at a time (its lock).
   */
  appliedAt: number;
  /**
   * Who owned the target when the run started (`ownerOfTarget`; '' nobody); absent when not
   * recorded (a run started before KubeChart recorded it).
   */
  targetOwner?: string;
};

/** A stored drift record; `actor` decides who may read it when the run has no entity. */
export type DriftRecord = RunDrift & { actor: string };

/** Filters of {@link DriftStore.list}. */
export type DriftFilter = {
  entityRef?: string;
  cluster?: string;
  namespace?: string;
};

/** Of a stored record, what says who may read it (see `ReadScopes.filter`), and nothing it holds. */
export type DriftHead = {
  runId: string;
  entityRef?: string;
  /** The owner its run's entity had (`Run.entityOwner`), when recorded. */
  entityOwner?: string;
  actor: string;
};

/** Persistence of drift records: one per run that is the latest applied on its target. */
export interface DriftStore {
  /**
   * Per target, the latest succeeded run that changed it (the one that started last): for each cluster, namespace and release,
   * the latest `chart`/`rollback` run; for each namespace, the latest `tenant`/`tenant-delete` run
   * and the latest `manifests` run. Runs kubechart executed and runs an action recorded are apart:
   * each target has its latest of either (a recorded run never supersedes an engine run).
   */
  latestAppliedRuns(): Promise<AppliedRun[]>;
  get(runId: string): Promise<DriftRecord | undefined>;
  /**
   * The newest 500 records `filter` matches (by check time), those `readable` keeps of them when
   * given: it is asked with their {@link DriftHead}s, and only the records it keeps are read whole.
   */
  list(
    filter: DriftFilter,
    readable?: (heads: DriftHead[]) => Promise<DriftHead[]>,
  ): Promise<DriftRecord[]>;
  /**
   * Records `owner` as who owned the run's target when it started, on a run that has none recorded
   * (one that ran before KubeChart recorded it): the owner its target has when drift first compares
   * it. Resolves whether it was recorded (false when the run had an owner recorded already).
   */
  adoptTargetOwner(runId: string, owner: string): Promise<boolean>;
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
