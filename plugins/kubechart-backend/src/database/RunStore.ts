import type {
  ApprovalDecision,
  CreateRunRequest,
  PolicyReport,
  RunApproval,
  Run,
  RunEvent,
  RunKind,
  RunListItem,
  RunStatus,
  RunsPage,
  RunTarget,
} from '@kubechart/plugin-kubechart-common';
import { ConflictError } from '@backstage/errors';
import { TooManyRequestsError } from '../engine/errors';

/** A run about to be created. */
export type NewRun = {
  id: string;
  kind: RunKind;
  status: RunStatus;
  entityRef?: string;
  /**
   * With `entityRef`: the owner the entity has as the run is made (its catalog owner; for a tenant
   * run, the owner the run leaves the tenant with). Stored as `Run.entityOwner`; absent, the run is
   * stored as one whose entity had no owner (read only by callers who may read every run).
   */
  entityOwner?: string;
  actor: string;
  template?: string;
  action?: string;
  /** Runs recorded through `POST /runs/record`: the principal that recorded it (user ref or `service:<subject>`). */
  recordedBy?: string;
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
  /** What the run changed in clusters (see `Run.applied`). */
  applied?: string[];
  /** The objects a tenant run applied besides its releases (see {@link RunStore.getBaseline}). */
  baseline?: BaselineObject[];
  /**
   * A tenant-delete run the stale-run check ended as failed: when it found the tenant's namespace gone.
   * Drift counts the run as the end of the tenant's runs, as one that succeeded.
   */
  namespaceGoneAt?: string;
  /**
   * Chart and rollback runs: the digest (`approvedRevisionOf`) of the release record of the revision
   * the run left the release at, as the run read it. A rollback from the run's history row returns
   * only to that record. Kept for the engine; the run the API shows says only whether it was
   * recorded (`Run.rollbackBound`).
   */
  releaseRecordDigest?: string;
};

/**
 * An object a tenant run applied to the tenant's namespace besides its releases, as applied (redacted
 * like manifests): the quota, limits and default-deny policy, which KubeChart owns whole (`wholeSpec`:
 * a key anyone adds to their spec is taken out by the next tenant run), and tenant resource providers'
 * objects (only the fields they set are KubeChart's).
 */
export type BaselineObject = {
  object: Record<string, any>;
  wholeSpec: boolean;
};

/** A new event; `seq` is assigned by the store. Message must already be redacted. */
export type NewRunEvent = Omit<RunEvent, 'seq' | 'runId' | 'at'> & {
  at?: string;
};

/** Filters of listRuns. */
export type RunFilter = {
  entityRef?: string;
  /**
   * With `entityRef`: only the runs made while the entity had this owner (an entity ref key, see
   * `Run.entityOwner`), and those recorded before owners were kept; '' (no owner) only the latter.
   */
  entityOwner?: string;
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

/** A tenant record as written; the store sets its times. */
export type NewTenantRecord = Omit<TenantRecord, 'createdAt' | 'updatedAt'>;

/**
 * The tenant record a tenant run writes when it is recorded or started, in the same transaction
 * (see {@link RunStore.createRun}): nothing is recorded when `check` refuses it.
 */
export type TenantClaim = {
  cluster: string;
  code: string;
  /** The record to write, from the one stored (read in the transaction). */
  record: (existing: TenantRecord | undefined) => NewTenantRecord;
  /**
   * Throws to refuse the record, e.g. a budget it would break. It runs after `record`, serialised
   * with every other claim's check on the database; `count` counts the tenants not deleted (with
   * `owner`, those it owns) as the transaction sees them, without this claim's record.
   */
  check?: (
    existing: TenantRecord | undefined,
    record: NewTenantRecord,
    count: (owner?: string) => Promise<number>,
  ) => Promise<void>;
};

/**
 * The run slots of the actor a run is started for (see `actorSlotKeys`): a run takes a free one, in
 * the transaction that takes its other locks, and holds it as a lock until it finishes, so that an
 * actor has at most `keys.length` runs active at once across every backend instance.
 */
export type ActorSlots = { actor: string; keys: string[] };

/** The options of {@link RunStore.createRun} and {@link RunStore.startApprovedRun}. */
export type StartRunOptions = {
  abandonedBefore?: Date;
  tenant?: TenantClaim;
  actorSlots?: ActorSlots;
  /**
   * The owner `kubechart.clusters.<name>.namespaces` assigns the run's namespace, if any: with the
   * tenants, who owns the run's target when it starts ({@link ownerOfTarget}), recorded on the run
   * in the transaction that starts it.
   */
  assignedOwner?: string;
};

/**
 * Who owns a target: the owner of the live tenant whose namespace it is, else the owner
 * `kubechart.clusters.<name>.namespaces` assigns the namespace (`assigned`), else '' (nobody). Drift
 * compares a run only while its target has the owner recorded when the run started.
 */
export function ownerOfTarget(
  tenants: TenantRecord[],
  target: { cluster: string; namespace: string },
  assigned: string | undefined,
): string {
  const tenant = tenants.find(
    t =>
      t.cluster === target.cluster &&
      t.namespace === target.namespace &&
      t.status !== 'deleted',
  );
  return (tenant ? tenant.owner ?? assigned : assigned) ?? '';
}

/**
 * The right of one backend instance to write a run: the run's lease epoch when it claimed it. A
 * write with a lease succeeds only while the row still carries that epoch (a fencing token).
 */
export type RunLease = { runId: string; epoch: number };

/** The run's lease was taken away (another instance reconciled the run); nothing was written. */
export class LeaseLostError extends Error {
  constructor(readonly runId: string, detail: string) {
    super(
      `Run ${runId} is no longer executed by this backend instance: ${detail}`,
    );
    this.name = 'LeaseLostError';
  }
}

/** Limits {@link RunStore.appendEvents} holds a run's stored events to (a recorded run's). */
export type RunEventLimits = {
  /** Most events the run may store. */
  events: number;
  /** Most characters the messages of its events may hold together. */
  characters: number;
};

/**
 * Appending the events would take the run beyond one of its {@link RunEventLimits}; nothing was
 * written. `held` is what it stores, `sent` what was to be added, `max` the limit, in `unit`s.
 */
export class RunEventLimitError extends Error {
  constructor(
    readonly runId: string,
    readonly unit: 'events' | 'characters',
    readonly held: number,
    readonly sent: number,
    readonly max: number,
  ) {
    super(
      `Run ${runId} holds ${held} ${unit}; with the ${sent} sent it would hold ${
        held + sent
      }, more than the ${max} it may store`,
    );
    this.name = 'RunEventLimitError';
  }
}

/**
 * Whether an approval gate is past its expiry at `now`: its `expiresAt` is not after `now`. Checked
 * where a decision is recorded and where an approved run starts, not only by the scheduled task.
 */
export function isApprovalExpired(
  approval: { expiresAt: string | number | Date },
  now: number = Date.now(),
): boolean {
  return new Date(approval.expiresAt).getTime() <= now;
}

/** The failure reason of a run whose approval expired (the gate ends as `expired`; nothing applied). */
export function expiredApprovalReason(approval: {
  state: string;
  expiresAt: string;
  required: number;
  /** Approvals recorded so far. */
  approvals: number;
}): string {
  return approval.state === 'approved'
    ? `The approval expired at ${approval.expiresAt} before the approved run started; nothing was applied`
    : `The approval request expired at ${approval.expiresAt} with ${approval.approvals} of ${approval.required} approvals; nothing was applied`;
}

/**
 * An approval acted on (decided, or its run started) after it expired (409): the gate has been ended
 * as `expired`, the run failed with `reason`, and nothing was applied.
 */
export class ApprovalExpiredError extends ConflictError {
  // Keeps the name `ConflictError`, which the error handler answers with 409.
  constructor(readonly runId: string, reason: string) {
    super(reason);
  }
}

/** A run holding one of its actor's slots, as {@link RunsAtOnceError} names it. */
export type SlotHolder = {
  runId: string;
  /**
   * Set when the run was reconciled (failed) after its backend stopped reporting: that backend may
   * still be executing it, so it keeps its slot until it stops, or until `freedAt` (ISO time; absent
   * when nothing but its stopping frees it), when the slot is taken over. Not "active" to a user,
   * who sees the run failed.
   */
  reconciled?: { freedAt?: string };
};

/**
 * A run refused because its actor already has as many runs active as it may have at once (429):
 * nothing was recorded. Names the configured `limit` and every run holding one of the actor's slots
 * (more than `limit` when the limit was lowered since they started), and tells a run reconciled
 * after its backend stopped reporting, which the user sees failed, from one still active.
 */
export class RunsAtOnceError extends TooManyRequestsError {
  constructor(actor: string, limit: number, holders: SlotHolder[]) {
    const active = holders.filter(h => !h.reconciled).map(h => h.runId);
    const reconciled = holders.filter(h => h.reconciled);
    const held = [
      ...(active.length > 0 || reconciled.length === 0
        ? [`${active.length} runs active (${active.join(', ')})`]
        : []),
      ...reconciled.map(
        h =>
          `a slot held by run ${
            h.runId
          }, which was reconciled after its backend stopped reporting but may still be executing there (its slot is freed ${
            h.reconciled?.freedAt
              ? `at ${h.reconciled.freedAt}, or sooner once that backend stops it`
              : 'once that backend stops it'
          })`,
      ),
    ];
    super(
      `${actor} has ${held.join(
        ' and ',
      )}; at most ${limit} may run at once per user (kubechart.limits.runsPerUserAtOnce). Try again when one has finished${
        reconciled.length > 0 ? ' or its slot is freed' : ''
      }.`,
    );
  }
}

/**
 * An approval request refused because its requester already has as many open ones as it may (429):
 * nothing was recorded. Names the count and the configured limit (the count may be above a limit
 * lowered since the requests were made).
 */
export class OpenApprovalsError extends TooManyRequestsError {
  constructor(actor: string, open: number, limit: number) {
    super(
      `${actor} has ${open} approval requests open; at most ${limit} may be open at once per user (kubechart.limits.openApprovalsPerUser). Wait for a decision, or for one to expire.`,
    );
  }
}

/** A run whose heartbeat is stale, and the backend instance (or recording action) that claimed it. */
export type StaleRun = Run & { executor?: string };

/** Options of {@link RunStore.finishRun}. */
export type FinishRunOptions = {
  /** Do nothing (resolve false) when the run already finished, e.g. reconciled by another replica. */
  onlyIfActive?: boolean;
  /** Write only while the run still carries this lease; throws {@link LeaseLostError} otherwise. */
  lease?: RunLease;
  /**
   * Reconciling a run another instance executed: bump its lease epoch so that instance can no
   * longer write, and keep its locks (it may still be working) until it releases them itself
   * ({@link RunStore.releaseLocks}) or they are abandoned (see `createRun`). Implies `onlyIfActive`.
   */
  fence?: boolean;
};

/** Persistence of runs, events, locks and tenants. */
/** The approval gate of a run as {@link RunStore.createAwaitingRun} records it. */
export type NewApproval = {
  rule: string;
  required: number;
  approvers: string[];
  planHash: string;
  planSalt: string;
  expiresAt: Date;
  previousRunId?: string;
  /** The request, kept for execution only when it holds no secret values. */
  request?: CreateRunRequest;
  /** What the engine resolved for the run when it was requested (its scope), to start it with. */
  exec: unknown;
};

/** A run's approval gate with what only the engine sees: the plan's salt and the kept request. */
export type ApprovalRecord = Omit<RunApproval, 'viewer'> & {
  planSalt: string;
  request?: CreateRunRequest;
  exec?: unknown;
};

/** The approval states a run can still leave by a decision, expiry or a changed plan. */
export const OPEN_APPROVAL_STATES = ['awaiting', 'approved'] as const;

export interface RunStore {
  /**
   * Records a run against a protected target in `awaiting-approval`, with its plan (redacted
   * values, manifest, policy report) and approval gate. Takes no locks: nothing is applied yet.
   * With `maxOpenPerActor`, {@link OpenApprovalsError} (429, nothing recorded) when the run's actor
   * already has that many open requests (counted in the same transaction).
   */
  createAwaitingRun(
    run: NewRun,
    approval: NewApproval,
    plan: RunPatch,
    options?: { maxOpenPerActor?: number },
  ): Promise<Run>;
  /** The approval gate of a run, with its salt and kept request. */
  getApprovalRecord(runId: string): Promise<ApprovalRecord | undefined>;
  /**
   * Records one approver's decision on an awaiting run. A rejection fails the run; the
   * `required`-th distinct approval moves it to `approved`. ConflictError when the run is no longer
   * awaiting or the approver already decided; {@link ApprovalExpiredError} (a ConflictError) when
   * the request is past its expiry, which the same transaction ends as `expired`.
   */
  decideApproval(
    runId: string,
    decision: Omit<ApprovalDecision, 'at'>,
  ): Promise<Run>;
  /**
   * Starts an approved run: status `pending`, its locks taken, the gate `executed` (ended as
   * `refused` by {@link RunStore.finishRun} when the run fails having changed nothing), in one
   * transaction. ConflictError when the run is not approved or a lock is held;
   * {@link ApprovalExpiredError} (a ConflictError) when the approval is past its expiry, which the
   * same transaction ends as `expired` (no lock taken). With `actorSlots`, as `createRun`.
   */
  startApprovedRun(
    runId: string,
    lockKeys: string[],
    options?: StartRunOptions,
  ): Promise<Run>;
  /**
   * Whether a run with these lock keys and `actorSlots` would find them free now (or held only by
   * runs that `createRun` takes over: gone, or reconciled and stopped reporting before
   * `abandonedBefore`), counting every slot its actor holds. A hint read outside any transaction,
   * for work that is costly to prepare (rendering an approved run's plan with helm again): the
   * transaction that starts the run still decides.
   */
  mightStart(lockKeys: string[], options?: StartRunOptions): Promise<boolean>;
  /**
   * Ends an open gate (`awaiting`/`approved`, not started) as expired, changed or withdrawn (by its
   * requester), in one transaction with the gate locked as decisions and starts lock it; the run
   * fails with `reason`. Undefined when the gate was no longer open.
   */
  endApproval(
    runId: string,
    state: 'expired' | 'changed' | 'withdrawn',
    reason: string,
  ): Promise<Run | undefined>;
  /**
   * Ends the gate of an approved run that started (`executed`) as `changed`: what it was to apply
   * changed after approval, and the run applies nothing of it (the run itself ends as its execution
   * ends it). False when the gate is not `executed`.
   */
  endExecutedApproval(runId: string, state: 'changed'): Promise<boolean>;
  /** Runs whose open gate expired before `now`. */
  findExpiredApprovals(now: Date): Promise<string[]>;
  /**
   * Runs whose gate is open (awaiting decisions or the requester's input), newest first; with
   * `state`, only those in that state (the approved ones waiting to start are never crowded out by
   * newer requests still awaiting decisions). With `before` (the last run of the previous page), the
   * page after it: callers that filter what they list page on until they have enough. With
   * `cursor` (one of {@link RunStore.runsCursorAfter} or {@link RunStore.runsCursorBefore}, as a
   * client sends it back), the page after what it names; InputError (400) when it is not one.
   */
  listOpenApprovals(
    limit: number,
    options?: {
      state?: (typeof OPEN_APPROVAL_STATES)[number];
      before?: Pick<RunListItem, 'createdAt' | 'id'>;
      cursor?: string;
    },
  ): Promise<RunListItem[]>;

  /**
   * Inserts the run and takes every lock key in one transaction. Throws ConflictError naming the
   * active run when a key is held. A key held by a run that was reconciled (fenced) and whose
   * last heartbeat is older than `abandonedBefore` is taken over. With `tenant`, the tenant's
   * record is written in the same transaction, when its check lets it (see {@link TenantClaim}).
   * With `actorSlots`, the run takes one of its actor's free slots in the same transaction (a slot
   * abandoned as above is taken over); {@link RunsAtOnceError} (429) when every one is held.
   */
  createRun(
    run: NewRun,
    lockKeys: string[],
    options?: StartRunOptions,
  ): Promise<Run>;
  getRun(id: string): Promise<Run | undefined>;
  /**
   * The principal that recorded a run through `POST /runs/record` (`NewRun.recordedBy`); undefined
   * for engine runs and for runs recorded by a user or on its behalf before it was kept.
   */
  getRecordedBy(id: string): Promise<string | undefined>;
  listRuns(
    filter: RunFilter,
    page: { cursor?: string; limit: number },
  ): Promise<RunsPage>;
  /**
   * The `listRuns` cursor that reads on after `run`, as a page ending on it answers `nextCursor`:
   * a list filtered after the store read it (a caller who may read only some runs) ends its page
   * on the last run it keeps, never on one it left out.
   */
  runsCursorAfter(run: Pick<RunListItem, 'createdAt' | 'id'>): string;
  /**
   * The `listRuns` cursor that reads on from the runs created before `createdAt` (a run's
   * `createdAt`), every run of that millisecond left behind: it names a time, never a run. A page
   * filtered after the store read it that stops looking past runs it left out reads on with it,
   * once it looked at every run of that millisecond.
   */
  runsCursorBefore(createdAt: string): string;
  /**
   * The run a request for approval on `target` is reviewed against (`ApprovalRecord.previousRunId`):
   * the newest run on that same target (cluster, namespace and release; with `tenant`, that tenant's
   * runs, else runs of no tenant), whatever entity it named and however many runs were made
   * elsewhere since, that ended (succeeded or failed), passed an approval gate it had (`executed`)
   * and was not recorded by an action (`POST /runs/record`). Undefined when there is none.
   */
  findPreviousRun(
    target: RunTarget,
    tenant?: string,
  ): Promise<string | undefined>;
  /**
   * The newest run KubeChart executed (not recorded by an action, `POST /runs/record`) that left
   * release `target.release` at `revision` and succeeded, created before `before` (a run's
   * `createdAt`) when given: the run a rollback to that revision returns to (revision numbers restart
   * once a release is uninstalled: the newest). Undefined when there is none.
   */
  findRevisionRun(
    target: RunTarget & { release: string },
    revision: number,
    before?: string,
  ): Promise<Run | undefined>;
  /**
   * Moves a pending run to `running` for this instance and returns its lease (the epoch is bumped).
   * Throws {@link LeaseLostError} when the run is no longer pending.
   */
  claimRun(id: string, owner: string): Promise<RunLease>;
  /** Applies a patch; a status change appends a transition. With a lease, only while it holds. */
  updateRun(
    id: string,
    patch: RunPatch,
    options?: { lease?: RunLease },
  ): Promise<void>;
  /**
   * Sets the final status and, unless fencing, releases the run's locks. A run that fails having
   * changed nothing (`applied` `[]`, or never claimed) ends an `executed` approval as `refused`.
   */
  finishRun(
    id: string,
    status: 'succeeded' | 'failed',
    patch?: RunPatch,
    options?: FinishRunOptions,
  ): Promise<boolean>;
  /**
   * Records what a run changed in clusters (`Run.applied`) when nothing is recorded yet, whatever its
   * status and lease: the instance that executed a run reconciled by another one knows it alone.
   */
  recordApplied(id: string, applied: string[]): Promise<void>;
  /**
   * The digest of the release record a chart or rollback run recorded for its revision
   * ({@link RunPatch.releaseRecordDigest}); undefined when it recorded none.
   */
  getReleaseRecordDigest(id: string): Promise<string | undefined>;
  /**
   * The tenant record a tenant or tenant-delete run replaced when it was recorded: `null` when there
   * was none, undefined when it was not kept (another kind of run, or recorded before it was kept).
   */
  getTenantBefore(id: string): Promise<NewTenantRecord | null | undefined>;
  /**
   * The objects a tenant run applied besides its releases, as far as it got; undefined for other runs
   * and tenant runs recorded before KubeChart kept them.
   */
  getBaseline(id: string): Promise<BaselineObject[] | undefined>;
  /** Heartbeat of runs without a lease (recorded runs). */
  heartbeat(ids: string[]): Promise<void>;
  /** Heartbeat of leased runs; resolves the ids of runs whose lease was lost. */
  renewLeases(leases: RunLease[]): Promise<string[]>;
  /** Throws {@link LeaseLostError} unless the run is active and still carries the lease. */
  verifyLease(lease: RunLease): Promise<void>;
  /**
   * Releases the locks of a finished (reconciled) run, once the instance that executed it has
   * stopped. Resolves false, releasing nothing, while the run is still active.
   */
  releaseLocks(runId: string): Promise<boolean>;
  /**
   * Runs `running`/`pending` whose heartbeat is older than `before`, with the instance that claimed
   * each; with `recordedBefore`, also recorded runs (those with an `action`) created before it,
   * however fresh their heartbeat.
   */
  findStaleRuns(
    before: Date,
    options?: { recordedBefore?: Date },
  ): Promise<StaleRun[]>;
  /**
   * Takes on emitting the `run-finished` audit event of an ended run (the outbox of that event): a
   * conditional update that succeeds for one caller only, across every backend instance, while the
   * event is owed (not marked by {@link RunStore.markOutcomeAudited}) and no other caller holds a claim
   * taken after `staleClaimBefore` (an older one is taken as its instance's crash). Resolves whether
   * this caller now emits it; false for a run that is not ended.
   */
  claimOutcomeAudit(runId: string, staleClaimBefore: Date): Promise<boolean>;
  /** Records that the run's `run-finished` event was handed to the auditor: it is no longer owed. */
  markOutcomeAudited(runId: string): Promise<void>;
  /** Gives up a claim whose event could not be emitted, so that the next outbox pass emits it. */
  releaseOutcomeAudit(runId: string): Promise<void>;
  /**
   * Ended runs whose `run-finished` event is still owed, that ended before `endedBefore` and are not
   * claimed since `staleClaimBefore`: at most `limit`, the oldest end first.
   */
  findUnauditedRuns(options: {
    endedBefore: Date;
    staleClaimBefore: Date;
    limit: number;
  }): Promise<Run[]>;
  /**
   * Tenants still `provisioning`/`deleting` although their last run ended before `endedBefore`:
   * the end of that run was recorded, the tenant's was not. At most `limit`.
   */
  findUnsettledTenants(options: {
    endedBefore: Date;
    limit: number;
  }): Promise<TenantRecord[]>;
  /**
   * Writes the record of tenant `record.cluster`/`record.code` only while it is still
   * `provisioning`/`deleting` with `runId` as its last run (a later run's claim is never
   * overwritten). Resolves whether it was written.
   */
  settleTenant(runId: string, record: NewTenantRecord): Promise<boolean>;
  /**
   * Appends events; with a lease, only while it holds (throws {@link LeaseLostError}); with
   * `limits`, only while the run's events stay within them (throws {@link RunEventLimitError}).
   */
  appendEvents(
    runId: string,
    events: NewRunEvent[],
    options?: { lease?: RunLease; limits?: RunEventLimits },
  ): Promise<RunEvent[]>;
  getEvents(
    runId: string,
    options?: { after?: number; limit?: number },
  ): Promise<RunEvent[]>;
  /**
   * Rewrites the message and step of each stored event of the run that `scrub` changes (a recorded
   * run's finish names secrets its earlier events may hold); with a lease, only while it holds
   * (throws {@link LeaseLostError}). Resolves how many events it rewrote.
   */
  scrubEvents(
    runId: string,
    scrub: (text: string) => string,
    options?: { lease?: RunLease },
  ): Promise<number>;
  countRunsByActorSince(actor: string, since: Date): Promise<number>;
  upsertTenant(tenant: NewTenantRecord): Promise<void>;
  /**
   * Removes `release` from the releases recorded on tenant `code` of `cluster` while run `runId` is
   * the tenant's last run (the tenant run that uninstalled it); only that field is written. Resolves
   * whether it was removed.
   */
  removeTenantRelease(
    cluster: string,
    code: string,
    release: string,
    runId: string,
  ): Promise<boolean>;
  getTenants(code?: string): Promise<TenantRecord[]>;
  /** Tenants not deleted; with `owner`, only those it owns. */
  countActiveTenants(options?: { owner?: string }): Promise<number>;
  /**
   * Durations (ms) of finished tenant runs, and counts for the metrics summary. Callers asking at the
   * same time may be given the same object: they must not change it.
   */
  summary(): Promise<{
    runsByStatus: Record<string, number>;
    runsByKind: Record<string, number>;
    tenantsByStatus: Record<string, number>;
    tenantRunDurations: number[];
    /** The newest failed runs, without values, manifest or policy report. */
    recentFailures: RunListItem[];
  }>;
  /**
   * The summary's run counts and tenant-run durations (of the same newest 1,000) by the entity each
   * run belongs to, or for a run without an entity by its actor: what a caller who may read only some
   * entities is counted from. Shared like `summary()`.
   */
  summaryByEntity(): Promise<{
    runs: Array<{
      entityRef?: string;
      /** The owner its entity had (see `Run.entityOwner`), when recorded. */
      entityOwner?: string;
      /** Only for a run without an entity. */
      actor?: string;
      status: RunStatus;
      kind: RunKind;
      count: number;
    }>;
    tenantRunDurations: Array<{
      entityRef?: string;
      entityOwner?: string;
      actor: string;
      ms: number;
    }>;
  }>;
}
