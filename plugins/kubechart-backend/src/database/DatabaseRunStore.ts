import {
  DatabaseService,
  isDatabaseConflictError,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  runApplied,
  summarizePolicyReport,
  type Run,
  type RunEvent,
  type RunListItem,
  type RunKind,
  type RunStatus,
  type RunsPage,
  type RunTarget,
  type RunTransition,
} from '@kubechart/plugin-kubechart-common';
import { Knex } from 'knex';
import {
  ApprovalExpiredError,
  ApprovalRecord,
  FinishRunOptions,
  NewApproval,
  OPEN_APPROVAL_STATES,
  LeaseLostError,
  RunEventLimitError,
  RunEventLimits,
  NewRun,
  NewRunEvent,
  RunFilter,
  RunLease,
  RunPatch,
  RunStore,
  RunsAtOnceError,
  OpenApprovalsError,
  SlotHolder,
  StaleRun,
  StartRunOptions,
  ActorSlots,
  NewTenantRecord,
  BaselineObject,
  TenantClaim,
  TenantRecord,
  expiredApprovalReason,
  isApprovalExpired,
  ownerOfTarget,
} from './RunStore';
import { actorSlotPrefix } from './lockKeys';
import {
  entityOwnerKey,
  entityRefFilter,
  requiredEntityRefKey,
} from './entityRefs';
import { fittedText, fittingIdentifier, storableText } from './storableText';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-kubechart-backend',
  'migrations',
);

type RunRow = {
  id: string;
  kind: string;
  status: string;
  entity_ref: string | null;
  actor: string;
  template: string | null;
  action: string | null;
  cluster: string;
  namespace: string;
  release: string | null;
  tenant: string | null;
  input: string;
  values: string | null;
  /** Rows written before manifests were compressed; new rows use `manifest_gz`. */
  manifest: string | null;
  manifest_gz: Buffer | null;
  helm_revision: number | null;
  policy_report: string | null;
  /** The report's mode, outcome and counts (`PolicySummary`), written with it. */
  policy_summary: string | null;
  failure_reason: string | null;
  /** What the run changed in clusters (JSON array); NULL when not known. */
  applied: string | null;
  /** Tenant runs: the baseline objects applied (JSON array of `BaselineObject`); NULL when not kept. */
  baseline?: string | null;
  /** Failed tenant-delete runs: when the stale-run check found their namespace gone; NULL otherwise. */
  namespace_gone_at?: string | number | null;
  transitions: string;
  created_at: string | number;
  started_at: string | number | null;
  finished_at: string | number | null;
  heartbeat_at: string | number | null;
  owner: string | null;
  lease_epoch: number;
  /** Recorded runs: the principal that recorded it. */
  recorded_by: string | null;
  /** Who owned the run's target when it started ('' nobody); NULL before it started, or when not recorded. */
  target_owner?: string | null;
  /** Who owned the run's entity when the run was made (entity ref key, '' nobody); NULL without an entity, or when not recorded. */
  entity_owner?: string | null;
  /** When its `run-finished` audit event was handed to the auditor; NULL while owed or active. */
  outcome_audited_at?: string | number | null;
  /** When an instance took on emitting that event; NULL when none has. */
  outcome_audit_claimed_at?: string | number | null;
  /** Chart and rollback runs: the digest of the release record of `helm_revision`; NULL when not recorded. */
  release_record_digest?: string | null;
};

const iso = (ms: string | number | null | undefined) =>
  ms === null || ms === undefined
    ? undefined
    : new Date(Number(ms)).toISOString();

type ApprovalRow = {
  run_id: string;
  rule: string;
  state: string;
  required: number;
  approvers: string;
  plan_hash: string;
  plan_salt: string;
  requested_at: string | number;
  expires_at: string | number;
  previous_run_id: string | null;
  request: string | null;
};

type DecisionRow = {
  run_id: string;
  by: string;
  decision: string;
  comment: string;
  at: string | number;
};

function toApproval(
  row: ApprovalRow,
  decisions: DecisionRow[],
): ApprovalRecord {
  return {
    rule: row.rule,
    state: row.state as ApprovalRecord['state'],
    required: Number(row.required),
    approvers: JSON.parse(row.approvers),
    planHash: row.plan_hash,
    planSalt: row.plan_salt,
    requestedAt: iso(row.requested_at)!,
    expiresAt: iso(row.expires_at)!,
    decisions: decisions
      .filter(d => d.run_id === row.run_id)
      .sort((a, b) => Number(a.at) - Number(b.at))
      .map(d => ({
        by: d.by,
        decision: d.decision as 'approve' | 'reject',
        comment: d.comment,
        at: iso(d.at)!,
      })),
    ...(row.previous_run_id ? { previousRunId: row.previous_run_id } : {}),
    ...keptRequest(row.request),
  };
}

/**
 * The `request` column: `{ request?, exec }` while the gate is open, the input only when it holds no
 * secret values; `{ resubmit }` once it is closed (nothing kept).
 */
function keptRequest(column: string | null) {
  const kept = column ? JSON.parse(column) : {};
  return {
    // Once the gate is closed only whether the input was kept is left.
    resubmit:
      typeof kept.resubmit === 'boolean' ? kept.resubmit : !kept.request,
    ...(kept.request ? { request: kept.request } : {}),
    ...(kept.exec ? { exec: kept.exec } : {}),
  };
}

/** What a closed gate keeps of its `request` column. */
const closedRequest = (gate: ApprovalRow) =>
  JSON.stringify({ resubmit: keptRequest(gate.request).resubmit });

/** What a run shows of its gate: no salt, no kept request or scope. */
function publicApproval(record: ApprovalRecord): NonNullable<Run['approval']> {
  const {
    planSalt: _salt,
    request: _request,
    exec: _exec,
    ...approval
  } = record;
  return approval;
}

type EventRow = {
  run_id: string;
  seq: number;
  at: string | number;
  type: string;
  level: string;
  step: string | null;
  step_status: string | null;
  message: string;
};

/** A lock row with the status and last heartbeat of its run (null when the run is gone). */
type LockHolder = {
  target: string;
  run_id: string;
  status: string | null;
  heartbeat_at: string | number | null;
};

const isFinished = (status: string) =>
  status === 'succeeded' || status === 'failed';

/** Throws unless the run row still carries the lease and is active. */
function checkLease(row: RunRow, lease: RunLease | undefined) {
  if (!lease) return;
  if (Number(row.lease_epoch) !== lease.epoch) {
    throw new LeaseLostError(
      row.id,
      isFinished(row.status)
        ? `it was reconciled as ${row.status} by another instance`
        : 'another instance claimed it',
    );
  }
  if (isFinished(row.status))
    throw new LeaseLostError(row.id, `it already ${row.status}`);
}

/**
 * The columns of a run in a page of history: all but its values, manifest and policy report, which
 * are most of its bytes (the manifest a gunzip each) and which only `getRun` returns; the report's
 * outcome and counts come from `policy_summary`.
 */
const LIST_COLUMNS = [
  'id',
  'kind',
  'status',
  'entity_ref',
  'entity_owner',
  'actor',
  'template',
  'action',
  'cluster',
  'namespace',
  'release',
  'tenant',
  'input',
  'helm_revision',
  'policy_summary',
  'failure_reason',
  'transitions',
  'created_at',
  'started_at',
  'finished_at',
  'heartbeat_at',
] as const satisfies ReadonlyArray<keyof RunRow>;

type ListRow = Pick<RunRow, (typeof LIST_COLUMNS)[number]>;

/** A run without its values, manifest and policy report (see {@link LIST_COLUMNS}). */
function runFields(row: ListRow): Omit<RunListItem, 'policySummary'> {
  const started = row.started_at === null ? undefined : Number(row.started_at);
  const finished =
    row.finished_at === null ? undefined : Number(row.finished_at);
  return {
    id: row.id,
    kind: row.kind as Run['kind'],
    status: row.status as RunStatus,
    entityRef: row.entity_ref ?? undefined,
    ...(typeof row.entity_owner === 'string'
      ? { entityOwner: row.entity_owner }
      : {}),
    actor: row.actor,
    template: row.template ?? undefined,
    ...(row.action ? { action: row.action } : {}),
    target: {
      cluster: row.cluster,
      namespace: row.namespace,
      ...(row.release ? { release: row.release } : {}),
    },
    input: JSON.parse(row.input),
    helmRevision: row.helm_revision ?? undefined,
    failureReason: row.failure_reason ?? undefined,
    transitions: JSON.parse(row.transitions),
    createdAt: iso(row.created_at)!,
    startedAt: iso(started),
    finishedAt: iso(finished),
    durationMs:
      started !== undefined && finished !== undefined
        ? finished - started
        : undefined,
    heartbeatAt: iso(row.heartbeat_at),
  };
}

function toListItem(row: ListRow): RunListItem {
  return {
    ...runFields(row),
    ...(row.policy_summary
      ? { policySummary: JSON.parse(row.policy_summary) }
      : {}),
  };
}

function toRun(row: RunRow): Run {
  return {
    ...runFields(row),
    values: row.values ? JSON.parse(row.values) : undefined,
    manifest: row.manifest_gz
      ? gunzipSync(row.manifest_gz).toString('utf8')
      : row.manifest ?? undefined,
    policyReport: row.policy_report ? JSON.parse(row.policy_report) : undefined,
    ...(row.applied ? { applied: JSON.parse(row.applied) } : {}),
    // Whether the digest was recorded, never the digest.
    rollbackBound: !!row.release_record_digest,
  };
}

/** The row of a new run: nothing recorded yet but its request, one transition to `status`. */
function newRunRow(run: NewRun, status: string, now: number): RunRow {
  return {
    id: run.id,
    kind: run.kind,
    status,
    // Stored as the catalog compares refs: every spelling of the entity is one history. An empty
    // one is none, as the scope checks read it.
    entity_ref: fittingIdentifier(
      run.entityRef
        ? requiredEntityRefKey(run.entityRef, "The run's entityRef")
        : null,
      "The run's entityRef",
      255,
    ),
    entity_owner: fittingIdentifier(
      entityOwnerKey(run),
      "The owner of the run's entity",
      255,
    ),
    actor: fittingIdentifier(run.actor, "The run's actor", 255),
    template: fittingIdentifier(
      run.template ?? null,
      "The run's template",
      255,
    ),
    action: fittingIdentifier(run.action ?? null, "The run's action", 255),
    cluster: fittingIdentifier(run.target.cluster, "The run's cluster", 255),
    namespace: fittingIdentifier(
      run.target.namespace,
      "The run's namespace",
      255,
    ),
    release: fittingIdentifier(
      run.target.release ?? null,
      "The run's release",
      255,
    ),
    tenant: fittingIdentifier(run.tenant ?? null, "The run's tenant", 64),
    input: JSON.stringify(run.input),
    values: null,
    manifest: null,
    manifest_gz: null,
    helm_revision: null,
    policy_report: null,
    policy_summary: null,
    failure_reason: null,
    applied: null,
    transitions: JSON.stringify([{ status, at: new Date(now).toISOString() }]),
    created_at: now,
    started_at: null,
    finished_at: null,
    heartbeat_at: now,
    owner: null,
    lease_epoch: 0,
    recorded_by: fittingIdentifier(
      run.recordedBy ?? null,
      'The principal recording the run',
      255,
    ),
  };
}

function toEvent(row: EventRow): RunEvent {
  return {
    seq: Number(row.seq),
    runId: row.run_id,
    at: iso(row.at)!,
    type: row.type as RunEvent['type'],
    level: row.level as RunEvent['level'],
    ...(row.step ? { step: row.step } : {}),
    ...(row.step_status
      ? { stepStatus: row.step_status as RunEvent['stepStatus'] }
      : {}),
    message: row.message,
  };
}

function encodeCursor(row: { created_at: string | number; id: string }) {
  return Buffer.from(JSON.stringify([Number(row.created_at), row.id])).toString(
    'base64url',
  );
}

/**
 * The `(created_at, id)` a cursor names. A cursor comes back from the caller, who can make one up:
 * its id is read as ids are stored (`storableText`: a NUL would fail the query on PostgreSQL), and
 * a time that is not a whole number of milliseconds a `bigint` holds is refused as invalid.
 */
function decodeCursor(cursor: string): [number, string] {
  try {
    const [c, i] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    );
    if (Number.isSafeInteger(c) && typeof i === 'string')
      return [c, storableText(i)];
  } catch {
    // fall through
  }
  throw new InputError('Invalid cursor');
}

/** How long a transaction of the run store may sit idle on PostgreSQL before the server ends it. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/** The advisory lock (two 32-bit keys: "kc", 1) that serialises tenant claims on PostgreSQL. */
const TENANT_CLAIM_LOCK = [0x6b63, 1];

/** The advisory lock ("kc", 2) that serialises counting a requester's open approval requests on PostgreSQL. */
const OPEN_APPROVALS_LOCK = [0x6b63, 2];

/** Knex implementation of {@link RunStore} for PostgreSQL and SQLite. */
export class DatabaseRunStore implements RunStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
  }): Promise<DatabaseRunStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip && !options.skipMigrations) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new DatabaseRunStore(client);
  }

  private readonly isPostgres: boolean;

  private readonly idleInTransactionTimeoutMs: number;

  constructor(
    private readonly db: Knex,
    options: { idleInTransactionTimeoutMs?: number } = {},
  ) {
    this.isPostgres = String(db.client.config.client).includes('pg');
    this.idleInTransactionTimeoutMs =
      options.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS;
  }

  /**
   * A transaction of this store. Each one is a few statements with nothing but the database in
   * between, yet it may hold the lock of a run row (`lockedRow`): on PostgreSQL, a backend instance
   * that freezes in the middle of one (a stopped process, a hung network) would keep that lock, and
   * with it every other instance's takeover of the run, for as long as its connection lives. So
   * PostgreSQL ends such a transaction itself once it has been idle for 10 s (the connection with
   * it), which releases the lock.
   */
  private transaction<T>(
    work: (tx: Knex.Transaction) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction(async tx => {
      if (this.isPostgres) {
        await tx.raw(
          `SET LOCAL idle_in_transaction_session_timeout = ${Math.round(
            this.idleInTransactionTimeoutMs,
          )}`,
        );
      }
      return work(tx);
    });
  }

  async createRun(
    run: NewRun,
    lockKeys: string[],
    options: StartRunOptions = {},
  ): Promise<Run> {
    const now = Date.now();
    const row = newRunRow(run, run.status, now);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.transaction(async tx => {
          await tx('kubechart_runs').insert(row);
          for (const target of lockKeys) {
            await tx('kubechart_locks').insert({
              target,
              run_id: run.id,
              acquired_at: now,
            });
          }
          if (options.actorSlots)
            await this.takeActorSlot(tx, options, run.id, now);
          if (options.tenant)
            await this.claimTenant(tx, options.tenant, run.id);
          await recordTargetOwner(tx, run.id, run.target, options);
        });
        return toRun(row);
      } catch (e) {
        if (!isDatabaseConflictError(e)) throw e;
        if (await this.slotTakenMeanwhile(lockKeys, options, attempt)) continue;
        if (
          attempt === 0 &&
          options.abandonedBefore &&
          (await this.takeOverAbandonedLocks(lockKeys, options.abandonedBefore))
        )
          continue;
        throw await this.lockConflict(lockKeys, options.abandonedBefore);
      }
    }
  }

  /**
   * Takes the first free slot of the run's actor, in the transaction that records or starts it; a
   * slot whose run is gone, or was reconciled and stopped reporting before `abandonedBefore`, is
   * taken over (as a lock is). {@link RunsAtOnceError} when the actor's runs hold as many slots as
   * it has: every slot it holds counts, those above a limit lowered since they were taken too.
   */
  private async takeActorSlot(
    tx: Knex.Transaction,
    options: StartRunOptions,
    runId: string,
    now: number,
  ): Promise<void> {
    const { actor, keys } = options.actorSlots as ActorSlots;
    const held = await this.actorSlotHolders(tx, actor);
    const live = held.filter(h => this.holdsLock(h, options.abandonedBefore));
    // Of the slots it may take, one no run holds, else one held by a run gone or abandoned (there
    // is one when fewer runs than slots hold one of the actor's slots).
    const stale = held.find(h => keys.includes(h.target) && !live.includes(h));
    const free =
      keys.find(k => !held.some(h => h.target === k)) ?? stale?.target;
    if (live.length >= keys.length || !free)
      throw new RunsAtOnceError(
        actor,
        keys.length,
        live.map(h => this.slotHolder(h, options.abandonedBefore)),
      );
    if (free === stale?.target)
      await tx('kubechart_locks')
        .where({ target: stale.target, run_id: stale.run_id })
        .delete();
    await tx('kubechart_locks').insert({
      target: free,
      run_id: runId,
      acquired_at: now,
    });
  }

  /**
   * Every slot lock of an actor (all `actor:<digest>#*` rows, not only the slots of the limit now
   * configured) with the status and last heartbeat of its run (null: the run is gone).
   */
  private async actorSlotHolders(
    db: Knex | Knex.Transaction,
    actor: string,
  ): Promise<LockHolder[]> {
    return db('kubechart_locks as l')
      .leftJoin('kubechart_runs as r', 'r.id', 'l.run_id')
      .where('l.target', 'like', `${actorSlotPrefix(actor)}%`)
      .orderBy('l.target')
      .select<LockHolder[]>(
        'l.target as target',
        'l.run_id as run_id',
        'r.status as status',
        'r.heartbeat_at as heartbeat_at',
      );
  }

  /** Whether a lock still holds: its run exists and is not abandoned (see `isAbandoned`). */
  private holdsLock(h: LockHolder, abandonedBefore: Date | undefined) {
    return (
      h.status !== null &&
      !this.isAbandoned(
        { status: h.status, heartbeat_at: h.heartbeat_at },
        abandonedBefore,
      )
    );
  }

  /**
   * A slot holder as {@link RunsAtOnceError} names it: a run that has finished yet holds its slot
   * was reconciled while its backend may still execute it, and is freed as `lockConflict` says.
   */
  private slotHolder(h: LockHolder, abandonedBefore?: Date): SlotHolder {
    if (!isFinished(h.status ?? '')) return { runId: h.run_id };
    const graceMs = abandonedBefore
      ? Date.now() - abandonedBefore.getTime()
      : 0;
    return {
      runId: h.run_id,
      reconciled: {
        freedAt: abandonedBefore
          ? iso(Number(h.heartbeat_at ?? 0) + graceMs)
          : undefined,
      },
    };
  }

  async mightStart(
    lockKeys: string[],
    options: StartRunOptions = {},
  ): Promise<boolean> {
    const locks = await this.db('kubechart_locks as l')
      .leftJoin('kubechart_runs as r', 'r.id', 'l.run_id')
      .whereIn('l.target', lockKeys)
      .select<LockHolder[]>(
        'l.target as target',
        'l.run_id as run_id',
        'r.status as status',
        'r.heartbeat_at as heartbeat_at',
      );
    if (locks.some(h => this.holdsLock(h, options.abandonedBefore)))
      return false;
    if (!options.actorSlots) return true;
    const held = await this.actorSlotHolders(this.db, options.actorSlots.actor);
    return (
      held.filter(h => this.holdsLock(h, options.abandonedBefore)).length <
      options.actorSlots.keys.length
    );
  }

  /**
   * After a conflict: true (try again) when none of the run's own lock keys is held, that is when
   * another request of the same actor took the slot this one had found free. Each round of requests
   * at once fills at least one slot, so one more try than there are slots ends in a slot or a 429.
   */
  private async slotTakenMeanwhile(
    lockKeys: string[],
    options: StartRunOptions,
    attempt: number,
  ): Promise<boolean> {
    if (!options.actorSlots || attempt > options.actorSlots.keys.length)
      return false;
    const held = await this.db('kubechart_locks')
      .whereIn('target', lockKeys)
      .first('target');
    return !held;
  }

  /** A lock holder reconciled (fenced) whose backend last reported before `before`. */
  private isAbandoned(
    run: Pick<RunRow, 'status' | 'heartbeat_at'>,
    before: Date | undefined,
  ): boolean {
    return (
      !!before &&
      isFinished(run.status) &&
      Number(run.heartbeat_at ?? 0) < before.getTime()
    );
  }

  /**
   * Deletes locks on these keys whose run was reconciled (fenced) and last heard of before
   * `before`, or whose run no longer exists. Resolves whether any was deleted.
   */
  private async takeOverAbandonedLocks(
    lockKeys: string[],
    before: Date,
  ): Promise<boolean> {
    const holders = await this.db('kubechart_locks')
      .whereIn('target', lockKeys)
      .select<{ target: string; run_id: string }[]>('target', 'run_id');
    let deleted = 0;
    for (const h of holders) {
      const run = await this.db<RunRow>('kubechart_runs')
        .where({ id: h.run_id })
        .first();
      if (!run || this.isAbandoned(run, before)) {
        deleted += await this.db('kubechart_locks')
          .where({ target: h.target, run_id: h.run_id })
          .delete();
      }
    }
    return deleted > 0;
  }

  private async lockConflict(
    lockKeys: string[],
    abandonedBefore?: Date,
  ): Promise<ConflictError> {
    const holder = await this.db('kubechart_locks')
      .whereIn('target', lockKeys)
      .first<{ target: string; run_id: string } | undefined>();
    const row = holder
      ? await this.db<RunRow>('kubechart_runs')
          .where({ id: holder.run_id })
          .first()
      : undefined;
    if (!row)
      return new ConflictError(
        `Another run is already active on ${lockKeys.join(', ')}; try again`,
      );
    const who = `Run ${row.id} (${row.kind}, ${row.status}, started by ${row.actor})`;
    if (!isFinished(row.status))
      return new ConflictError(
        `${who} is already active on ${holder!.target}; wait for it to finish`,
      );
    const graceMs = abandonedBefore
      ? Date.now() - abandonedBefore.getTime()
      : 0;
    return new ConflictError(
      `${who} was reconciled after its backend stopped reporting, but that backend may still be executing it; ${
        holder!.target
      } stays locked until it stops or until ${iso(
        Number(row.heartbeat_at ?? 0) + graceMs,
      )}`,
    );
  }

  async getRun(id: string): Promise<Run | undefined> {
    // Looked up as ids are stored: an id from a request path may hold a NUL (none is found).
    const row = await this.db<RunRow>('kubechart_runs')
      .where({ id: storableText(id) })
      .first();
    return row ? (await this.withApprovals([toRun(row)]))[0] : undefined;
  }

  async getRecordedBy(id: string): Promise<string | undefined> {
    const row = await this.db<RunRow>('kubechart_runs')
      .where({ id })
      .first('recorded_by');
    return row?.recorded_by ?? undefined;
  }

  /** The approval gates of these runs (salt and kept request included), by run id. */
  private async approvalRecords(
    ids: string[],
  ): Promise<Map<string, ApprovalRecord>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db<ApprovalRow>('kubechart_approvals').whereIn(
      'run_id',
      ids,
    );
    if (rows.length === 0) return new Map();
    const decisions = await this.db<DecisionRow>(
      'kubechart_approval_decisions',
    ).whereIn(
      'run_id',
      rows.map(r => r.run_id),
    );
    return new Map(rows.map(r => [r.run_id, toApproval(r, decisions)]));
  }

  /** Adds their approval gates to runs that have one. */
  private async withApprovals<T extends { id: string }>(
    runs: T[],
  ): Promise<Array<T & Pick<Run, 'approval'>>> {
    const byRun = await this.approvalRecords(runs.map(r => r.id));
    return runs.map(r => {
      const record = byRun.get(r.id);
      return record ? { ...r, approval: publicApproval(record) } : r;
    });
  }

  async createAwaitingRun(
    run: NewRun,
    approval: NewApproval,
    plan: RunPatch,
    options: { maxOpenPerActor?: number } = {},
  ): Promise<Run> {
    const now = Date.now();
    await this.transaction(async tx => {
      if (options.maxOpenPerActor !== undefined) {
        // Counted one request at a time (PostgreSQL: an advisory lock; SQLite writes one at a time).
        if (this.isPostgres)
          await tx.raw(
            'SELECT pg_advisory_xact_lock(?, ?)',
            OPEN_APPROVALS_LOCK,
          );
        const [{ n }] = await tx('kubechart_approvals as a')
          .join('kubechart_runs as r', 'r.id', 'a.run_id')
          .where('r.actor', run.actor)
          .whereIn('a.state', [...OPEN_APPROVAL_STATES])
          .count<{ n: number | string }[]>({ n: '*' });
        if (Number(n) >= options.maxOpenPerActor)
          throw new OpenApprovalsError(
            run.actor,
            Number(n),
            options.maxOpenPerActor,
          );
      }
      await tx('kubechart_runs').insert(
        newRunRow(run, 'awaiting-approval', now),
      );
      const current = await this.lockedRow(tx, run.id);
      await this.writePatch(tx, current, { ...plan, status: undefined });
      await tx('kubechart_approvals').insert({
        run_id: run.id,
        rule: storableText(approval.rule),
        state: 'awaiting',
        required: approval.required,
        approvers: JSON.stringify(approval.approvers),
        plan_hash: approval.planHash,
        plan_salt: approval.planSalt,
        requested_at: now,
        expires_at: approval.expiresAt.getTime(),
        previous_run_id: approval.previousRunId ?? null,
        request: JSON.stringify({
          request: approval.request,
          exec: approval.exec,
        }),
      } satisfies ApprovalRow);
    });
    return (await this.getRun(run.id))!;
  }

  async getApprovalRecord(runId: string): Promise<ApprovalRecord | undefined> {
    return (await this.approvalRecords([runId])).get(runId);
  }

  /** The gate row, locked for update on PostgreSQL. */
  private async lockedApproval(tx: Knex, runId: string): Promise<ApprovalRow> {
    const query = tx<ApprovalRow>('kubechart_approvals').where({
      run_id: runId,
    });
    if (this.isPostgres) query.forUpdate();
    const row = await query.first();
    if (!row) throw new NotFoundError(`Run ${runId} has no approval gate`);
    return row;
  }

  async decideApproval(
    runId: string,
    decision: { by: string; decision: 'approve' | 'reject'; comment: string },
  ): Promise<Run> {
    const expired = await this.transaction(async tx => {
      const gate = await this.lockedApproval(tx, runId);
      if (gate.state !== 'awaiting') {
        throw new ConflictError(
          `Run ${runId} is not awaiting approval (its approval is ${gate.state})`,
        );
      }
      const previous = await tx<DecisionRow>(
        'kubechart_approval_decisions',
      ).where({ run_id: runId });
      const now = Date.now();
      // Past its expiry the request is ended as the scheduled task would, whoever decides first.
      const ended = await this.endIfExpired(tx, gate, now, previous);
      if (ended) return ended;
      if (previous.some(d => d.by === decision.by)) {
        throw new ConflictError(
          `${decision.by} already decided on run ${runId}`,
        );
      }
      await tx('kubechart_approval_decisions').insert({
        run_id: runId,
        by: fittingIdentifier(decision.by, 'The approver', 255),
        decision: decision.decision,
        comment: storableText(decision.comment),
        at: now,
      } satisfies DecisionRow);
      const current = await this.lockedRow(tx, runId);
      if (decision.decision === 'reject') {
        await tx('kubechart_approvals')
          .where({ run_id: runId })
          .update({ state: 'rejected', request: closedRequest(gate) });
        await this.writePatch(tx, current, {
          status: 'failed',
          failureReason: `Rejected by ${decision.by}: ${decision.comment}`,
        });
        return undefined;
      }
      const approvals =
        previous.filter(d => d.decision === 'approve').length + 1;
      if (approvals >= Number(gate.required)) {
        await tx('kubechart_approvals')
          .where({ run_id: runId })
          .update({ state: 'approved' });
        await this.writePatch(tx, current, { status: 'approved' });
      }
      return undefined;
    });
    if (expired) throw new ApprovalExpiredError(runId, expired);
    return (await this.getRun(runId))!;
  }

  /**
   * Ends an open gate past its expiry at `now` as `expired` (the run fails, nothing applied), in the
   * caller's transaction; the reason, or undefined when the gate has not expired. `decisions` are the
   * gate's, read when not given.
   */
  private async endIfExpired(
    tx: Knex,
    gate: ApprovalRow,
    now: number,
    given?: DecisionRow[],
  ): Promise<string | undefined> {
    const expiresAt = iso(gate.expires_at)!;
    if (!isApprovalExpired({ expiresAt }, now)) return undefined;
    const decisions =
      given ??
      (await tx<DecisionRow>('kubechart_approval_decisions').where({
        run_id: gate.run_id,
      }));
    const reason = expiredApprovalReason({
      state: gate.state,
      expiresAt,
      required: Number(gate.required),
      approvals: new Set(
        decisions.filter(d => d.decision === 'approve').map(d => d.by),
      ).size,
    });
    await this.closeGate(tx, gate, 'expired', reason);
    return reason;
  }

  /** Closes an open gate as `state` and fails its run with `reason` (nothing applied), in `tx`. */
  private async closeGate(
    tx: Knex,
    gate: ApprovalRow,
    state: 'expired' | 'changed' | 'withdrawn',
    reason: string,
  ): Promise<void> {
    await tx('kubechart_approvals')
      .where({ run_id: gate.run_id })
      .update({ state, request: closedRequest(gate) });
    const current = await this.lockedRow(tx, gate.run_id);
    await this.writePatch(tx, current, {
      status: 'failed',
      failureReason: reason,
    });
  }

  async startApprovedRun(
    runId: string,
    lockKeys: string[],
    options: StartRunOptions = {},
  ): Promise<Run> {
    const attempt = () =>
      this.transaction(async (tx): Promise<string | undefined> => {
        const gate = await this.lockedApproval(tx, runId);
        if (gate.state !== 'approved') {
          throw new ConflictError(
            `Run ${runId} is not approved (its approval is ${gate.state})`,
          );
        }
        const now = Date.now();
        // However long the plan took to render again, an approval past its expiry starts nothing.
        const ended = await this.endIfExpired(tx, gate, now);
        if (ended) return ended;
        const current = await this.lockedRow(tx, runId);
        for (const target of lockKeys) {
          await tx('kubechart_locks').insert({
            target,
            run_id: runId,
            acquired_at: now,
          });
        }
        if (options.actorSlots)
          await this.takeActorSlot(tx, options, runId, now);
        await tx('kubechart_approvals')
          .where({ run_id: runId })
          .update({ state: 'executed', request: closedRequest(gate) });
        await this.writePatch(tx, current, { status: 'pending' });
        if (options.tenant) await this.claimTenant(tx, options.tenant, runId);
        await recordTargetOwner(tx, runId, current, options);
        return undefined;
      });
    const started = async () => {
      const expired = await attempt();
      if (expired) throw new ApprovalExpiredError(runId, expired);
      return (await this.getRun(runId))!;
    };
    for (let tries = 0; ; tries++) {
      try {
        return await started();
      } catch (e) {
        if (!isDatabaseConflictError(e)) throw e;
        if (!(await this.slotTakenMeanwhile(lockKeys, options, tries))) break;
      }
    }
    if (
      options.abandonedBefore &&
      (await this.takeOverAbandonedLocks(lockKeys, options.abandonedBefore))
    ) {
      try {
        return await started();
      } catch (again) {
        if (!isDatabaseConflictError(again)) throw again;
      }
    }
    throw await this.lockConflict(lockKeys, options.abandonedBefore);
  }

  async endApproval(
    runId: string,
    state: 'expired' | 'changed' | 'withdrawn',
    reason: string,
  ): Promise<Run | undefined> {
    const ended = await this.transaction(async tx => {
      const gate = await this.lockedApproval(tx, runId);
      if (!(OPEN_APPROVAL_STATES as readonly string[]).includes(gate.state))
        return false;
      await this.closeGate(tx, gate, state, reason);
      return true;
    });
    return ended ? this.getRun(runId) : undefined;
  }

  async endExecutedApproval(runId: string, state: 'changed'): Promise<boolean> {
    const changed = await this.db<ApprovalRow>('kubechart_approvals')
      .where({ run_id: runId, state: 'executed' })
      .update({ state });
    return Number(changed) > 0;
  }

  async findExpiredApprovals(now: Date): Promise<string[]> {
    const rows = await this.db<ApprovalRow>('kubechart_approvals')
      .whereIn('state', [...OPEN_APPROVAL_STATES])
      .andWhere('expires_at', '<', now.getTime())
      .select('run_id');
    return rows.map(r => r.run_id);
  }

  async listOpenApprovals(
    limit: number,
    options: {
      state?: (typeof OPEN_APPROVAL_STATES)[number];
      before?: Pick<RunListItem, 'createdAt' | 'id'>;
      cursor?: string;
    } = {},
  ): Promise<RunListItem[]> {
    // List columns only: a gate is decided on its summary; the run page fetches the whole run.
    const q = this.db<RunRow>('kubechart_runs')
      .join(
        'kubechart_approvals',
        'kubechart_approvals.run_id',
        'kubechart_runs.id',
      )
      .whereIn(
        'kubechart_approvals.state',
        options.state ? [options.state] : [...OPEN_APPROVAL_STATES],
      );
    if (options.before) {
      // Keyset paging as in listRuns: the runs after `before` in (created_at, id) order, newest first.
      q.whereRaw('(kubechart_runs.created_at, kubechart_runs.id) < (?, ?)', [
        Date.parse(options.before.createdAt),
        options.before.id,
      ]);
    }
    if (options.cursor) {
      const [c, i] = decodeCursor(options.cursor);
      q.whereRaw('(kubechart_runs.created_at, kubechart_runs.id) < (?, ?)', [
        c,
        i,
      ]);
    }
    const rows: ListRow[] = await q
      .orderBy([
        { column: 'kubechart_runs.created_at', order: 'desc' },
        { column: 'kubechart_runs.id', order: 'desc' },
      ])
      .limit(limit)
      .select(...LIST_COLUMNS.map(c => `kubechart_runs.${c}`));
    return this.withApprovals(rows.map(toListItem));
  }

  async listRuns(
    filter: RunFilter,
    page: { cursor?: string; limit: number },
  ): Promise<RunsPage> {
    const q = this.db<RunRow>('kubechart_runs');
    if (filter.entityRef)
      q.where('kubechart_runs.entity_ref', entityRefFilter(filter.entityRef));
    if (filter.entityOwner !== undefined) {
      const owner = filter.entityOwner;
      // '' (an entity without an owner now) matches no recorded owner: a run made for an entity
      // that had none is read only by callers who may read every run.
      q.where(o =>
        owner
          ? o
              .whereNull('kubechart_runs.entity_owner')
              .orWhere('kubechart_runs.entity_owner', owner)
          : o.whereNull('kubechart_runs.entity_owner'),
      );
    }
    if (filter.kind) q.where('kubechart_runs.kind', filter.kind);
    if (filter.status) q.where('kubechart_runs.status', filter.status);
    if (filter.actor) q.where('kubechart_runs.actor', filter.actor);
    if (filter.tenant) q.where('kubechart_runs.tenant', filter.tenant);
    if (filter.cluster) q.where('kubechart_runs.cluster', filter.cluster);
    if (filter.from)
      q.where('kubechart_runs.created_at', '>=', filter.from.getTime());
    if (filter.to)
      q.where('kubechart_runs.created_at', '<', filter.to.getTime());
    if (page.cursor) {
      const [c, i] = decodeCursor(page.cursor);
      // A row comparison, which PostgreSQL reads as an index range (`created_at < c OR …` is a
      // filter over every newer run); SQLite has row values since 3.15.
      q.whereRaw('(kubechart_runs.created_at, kubechart_runs.id) < (?, ?)', [
        c,
        i,
      ]);
    }
    // Whether each run has an approval gate comes with the page, so that the gates (most pages
    // have none) cost a query only when there are some.
    const rows: Array<ListRow & { gate_run_id: string | null }> = await q
      .leftJoin(
        'kubechart_approvals',
        'kubechart_approvals.run_id',
        'kubechart_runs.id',
      )
      .select(
        ...LIST_COLUMNS.map(c => `kubechart_runs.${c}`),
        'kubechart_approvals.run_id as gate_run_id',
      )
      .orderBy([
        { column: 'kubechart_runs.created_at', order: 'desc' },
        { column: 'kubechart_runs.id', order: 'desc' },
      ])
      .limit(page.limit + 1);
    const items = rows.slice(0, page.limit);
    const gated = new Map(
      (
        await this.withApprovals(
          items.filter(r => r.gate_run_id).map(toListItem),
        )
      ).map(r => [r.id, r]),
    );
    return {
      items: items.map(r => gated.get(r.id) ?? toListItem(r)),
      ...(rows.length > page.limit
        ? { nextCursor: encodeCursor(items[items.length - 1]) }
        : {}),
    };
  }

  runsCursorAfter(run: Pick<RunListItem, 'createdAt' | 'id'>): string {
    // `createdAt` is `created_at` (ms) as an ISO string: it parses back to the same number.
    return encodeCursor({ created_at: Date.parse(run.createdAt), id: run.id });
  }

  runsCursorBefore(createdAt: string): string {
    // No id sorts before the empty one: `(created_at, id) < (t, '')` is `created_at < t`.
    return encodeCursor({ created_at: Date.parse(createdAt), id: '' });
  }

  async findPreviousRun(
    target: RunTarget,
    tenant?: string,
  ): Promise<string | undefined> {
    // Read newest first from the target index (kubechart_runs_target_idx): only this target's runs
    // are looked at, however many were made elsewhere on the cluster, and whichever entity each
    // named (a requester chooses the entity; the target is what the run changes).
    const q = this.db<RunRow>('kubechart_runs')
      .leftJoin(
        'kubechart_approvals',
        'kubechart_approvals.run_id',
        'kubechart_runs.id',
      )
      .where('kubechart_runs.cluster', target.cluster)
      .where('kubechart_runs.namespace', target.namespace)
      .whereIn('kubechart_runs.status', ['succeeded', 'failed'])
      // A request that was never applied (rejected, expired, changed, refused) is no baseline.
      .where(g =>
        g
          .whereNull('kubechart_approvals.run_id')
          .orWhere('kubechart_approvals.state', 'executed'),
      )
      // Nor is a run an action recorded (`POST /runs/record`): what it reports was never checked,
      // and anyone who may deploy there could record the change they are about to ask for as done,
      // so that the approvers' diff shows nothing.
      .whereNull('kubechart_runs.action');
    if (target.release) q.where('kubechart_runs.release', target.release);
    else q.whereNull('kubechart_runs.release');
    // A tenant run's target is its tenant: a manifests run in its namespace is not reviewed against
    // the tenant's whole manifest, nor a tenant run against one manifests run.
    if (tenant) q.where('kubechart_runs.tenant', tenant);
    else q.whereNull('kubechart_runs.tenant');
    const row = await q
      .orderBy([
        { column: 'kubechart_runs.created_at', order: 'desc' },
        { column: 'kubechart_runs.id', order: 'desc' },
      ])
      .first('kubechart_runs.id');
    return row?.id;
  }

  async findRevisionRun(
    target: RunTarget & { release: string },
    revision: number,
    before?: string,
  ): Promise<Run | undefined> {
    // Read newest first from the target index (kubechart_runs_target_idx).
    const q = this.db<RunRow>('kubechart_runs')
      .where('cluster', target.cluster)
      .where('namespace', target.namespace)
      .where('release', target.release)
      .where('helm_revision', revision)
      .where('status', 'succeeded')
      .whereNull('action');
    if (before) q.where('created_at', '<', Date.parse(before));
    const row = await q
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .first('id');
    return row ? this.getRun(row.id) : undefined;
  }

  /** The run row, locked for update on PostgreSQL (SQLite serialises writers anyway). */
  private async lockedRow(tx: Knex, id: string): Promise<RunRow> {
    const query = tx<RunRow>('kubechart_runs').where({ id });
    if (this.isPostgres) query.forUpdate();
    const current = await query.first();
    if (!current) throw new NotFoundError(`Run ${id} not found`);
    return current;
  }

  private async writePatch(
    tx: Knex,
    current: RunRow,
    patch: RunPatch,
    extra: Partial<RunRow> = {},
    touchHeartbeat = true,
  ): Promise<void> {
    const now = Date.now();
    const update: Partial<RunRow> = {
      ...(touchHeartbeat ? { heartbeat_at: now } : {}),
      ...extra,
    };
    if (patch.status && patch.status !== current.status) {
      const transitions: RunTransition[] = JSON.parse(current.transitions);
      transitions.push({
        status: patch.status,
        at: new Date(now).toISOString(),
      });
      update.transitions = JSON.stringify(transitions);
      update.status = patch.status;
      if (patch.status === 'running' && current.started_at === null)
        update.started_at = now;
      if (patch.status === 'succeeded' || patch.status === 'failed') {
        update.finished_at = now;
        if (current.started_at === null)
          update.started_at = Number(current.created_at);
      }
    }
    if (patch.values !== undefined)
      update.values = JSON.stringify(patch.values);
    if (patch.manifest !== undefined) {
      // Manifests are most of a run's bytes and compress about tenfold.
      update.manifest_gz = gzipSync(Buffer.from(patch.manifest, 'utf8'));
      update.manifest = null;
    }
    if (patch.helmRevision !== undefined)
      update.helm_revision = patch.helmRevision;
    if (patch.policyReport !== undefined) {
      update.policy_report = JSON.stringify(patch.policyReport);
      update.policy_summary = JSON.stringify(
        summarizePolicyReport(patch.policyReport),
      );
    }
    if (patch.failureReason !== undefined)
      update.failure_reason = storableText(patch.failureReason);
    if (patch.applied !== undefined)
      update.applied = JSON.stringify(patch.applied);
    if (patch.baseline !== undefined)
      update.baseline = JSON.stringify(patch.baseline);
    if (patch.namespaceGoneAt !== undefined)
      update.namespace_gone_at = Date.parse(patch.namespaceGoneAt);
    if (patch.releaseRecordDigest !== undefined)
      update.release_record_digest = patch.releaseRecordDigest;
    await tx('kubechart_runs').where({ id: current.id }).update(update);
  }

  async claimRun(id: string, owner: string): Promise<RunLease> {
    return this.transaction(async tx => {
      const current = await this.lockedRow(tx, id);
      if (current.status !== 'pending')
        throw new LeaseLostError(id, `it is already ${current.status}`);
      const epoch = Number(current.lease_epoch) + 1;
      await this.writePatch(
        tx,
        current,
        { status: 'running' },
        { owner: storableText(owner), lease_epoch: epoch },
      );
      return { runId: id, epoch };
    });
  }

  async updateRun(
    id: string,
    patch: RunPatch,
    options: { lease?: RunLease } = {},
  ): Promise<void> {
    await this.transaction(async tx => {
      const current = await this.lockedRow(tx, id);
      checkLease(current, options.lease);
      await this.writePatch(tx, current, patch);
    });
  }

  async finishRun(
    id: string,
    status: 'succeeded' | 'failed',
    patch: RunPatch = {},
    options: FinishRunOptions = {},
  ): Promise<boolean> {
    return this.transaction(async tx => {
      const current = await this.lockedRow(tx, id);
      if ((options.onlyIfActive || options.fence) && isFinished(current.status))
        return false;
      checkLease(current, options.lease);
      if (options.fence) {
        // The executor's last heartbeat stays as it was: it tells when its locks count as abandoned.
        await this.writePatch(
          tx,
          current,
          { ...patch, status },
          { lease_epoch: Number(current.lease_epoch) + 1 },
          false,
        );
      } else {
        await this.writePatch(tx, current, { ...patch, status });
        await tx('kubechart_locks').where({ run_id: id }).delete();
      }
      if (status === 'failed') {
        const applied =
          patch.applied ??
          (current.applied ? JSON.parse(current.applied) : undefined);
        await this.refuseUnappliedApproval(tx, current, applied);
      }
      return true;
    });
  }

  async recordApplied(id: string, applied: string[]): Promise<void> {
    await this.transaction(async tx => {
      const query = tx<RunRow>('kubechart_runs').where({ id });
      if (this.isPostgres) query.forUpdate();
      const current = await query.first();
      if (!current || current.applied !== null) return;
      await tx('kubechart_runs')
        .where({ id })
        .update({ applied: JSON.stringify(applied) });
      if (current.status === 'failed')
        await this.refuseUnappliedApproval(tx, current, applied);
    });
  }

  /**
   * The gate of an approved run that started (`executed`) and failed having changed nothing ends as
   * `refused`: its install-time checks stopped it before anything was applied, so the approved
   * change was not carried out (the run's failure reason says why). A run known to have changed
   * something, or whose changes are not known, keeps `executed`.
   */
  private async refuseUnappliedApproval(
    tx: Knex,
    current: RunRow,
    applied: string[] | undefined,
  ): Promise<void> {
    const changes = runApplied({
      applied,
      transitions: JSON.parse(current.transitions),
    });
    if (!changes || changes.length > 0) return;
    await tx('kubechart_approvals')
      .where({ run_id: current.id, state: 'executed' })
      .update({ state: 'refused' });
  }

  async getReleaseRecordDigest(id: string): Promise<string | undefined> {
    const row = await this.db('kubechart_runs')
      .where({ id: storableText(id) })
      .first('release_record_digest');
    return row?.release_record_digest ?? undefined;
  }

  async renewLeases(leases: RunLease[]): Promise<string[]> {
    const lost: string[] = [];
    const now = Date.now();
    for (const lease of leases) {
      const n = await this.db('kubechart_runs')
        .where({ id: lease.runId, lease_epoch: lease.epoch })
        .whereIn('status', ['pending', 'running'])
        .update({ heartbeat_at: now });
      if (n === 0) lost.push(lease.runId);
    }
    return lost;
  }

  async verifyLease(lease: RunLease): Promise<void> {
    const row = await this.db<RunRow>('kubechart_runs')
      .where({ id: lease.runId })
      .first();
    if (!row) throw new LeaseLostError(lease.runId, 'it no longer exists');
    checkLease(row, lease);
  }

  async releaseLocks(runId: string): Promise<boolean> {
    return this.transaction(async tx => {
      const row = await tx<RunRow>('kubechart_runs')
        .where({ id: runId })
        .first();
      if (row && !isFinished(row.status)) return false;
      await tx('kubechart_locks').where({ run_id: runId }).delete();
      return true;
    });
  }

  async heartbeat(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db('kubechart_runs')
      .whereIn('id', ids)
      .update({ heartbeat_at: Date.now() });
  }

  async findStaleRuns(
    before: Date,
    options: { recordedBefore?: Date } = {},
  ): Promise<StaleRun[]> {
    const { recordedBefore } = options;
    const rows = await this.db<RunRow>('kubechart_runs')
      .whereIn('status', ['pending', 'running'])
      .andWhere(b => {
        b.where('heartbeat_at', '<', before.getTime()).orWhereNull(
          'heartbeat_at',
        );
        if (recordedBefore)
          b.orWhere(r =>
            r
              .whereNotNull('action')
              .andWhere('created_at', '<', recordedBefore.getTime()),
          );
      });
    return rows.map(r => ({ ...toRun(r), executor: r.owner ?? undefined }));
  }

  async claimOutcomeAudit(
    runId: string,
    staleClaimBefore: Date,
  ): Promise<boolean> {
    const n = await owedOutcome(
      this.db('kubechart_runs').where({ id: runId }),
      staleClaimBefore,
    ).update({ outcome_audit_claimed_at: Date.now() });
    return n > 0;
  }

  async markOutcomeAudited(runId: string): Promise<void> {
    await this.db('kubechart_runs')
      .where({ id: runId })
      .whereNull('outcome_audited_at')
      .update({ outcome_audited_at: Date.now() });
  }

  async releaseOutcomeAudit(runId: string): Promise<void> {
    await this.db('kubechart_runs')
      .where({ id: runId })
      .whereNull('outcome_audited_at')
      .update({ outcome_audit_claimed_at: null });
  }

  async findUnauditedRuns(options: {
    endedBefore: Date;
    staleClaimBefore: Date;
    limit: number;
  }): Promise<Run[]> {
    const rows = await owedOutcome(
      this.db<RunRow>('kubechart_runs'),
      options.staleClaimBefore,
    )
      .where('finished_at', '<', options.endedBefore.getTime())
      .orderBy([{ column: 'finished_at' }, { column: 'id' }])
      .limit(options.limit);
    return this.withApprovals(rows.map(toRun));
  }

  async findUnsettledTenants(options: {
    endedBefore: Date;
    limit: number;
  }): Promise<TenantRecord[]> {
    const rows = await this.db('kubechart_tenants as t')
      .join('kubechart_runs as r', 'r.id', 't.last_run_id')
      .whereIn('t.status', ['provisioning', 'deleting'])
      .whereIn('r.status', ['succeeded', 'failed'])
      .where('r.finished_at', '<', options.endedBefore.getTime())
      .orderBy([{ column: 't.code' }, { column: 't.cluster' }])
      .limit(options.limit)
      .select('t.*');
    return rows.map(toTenantRecord);
  }

  async settleTenant(runId: string, t: NewTenantRecord): Promise<boolean> {
    const n = await this.db('kubechart_tenants')
      .where({ cluster: t.cluster, code: t.code, last_run_id: runId })
      .whereIn('status', ['provisioning', 'deleting'])
      .update(tenantColumns(t, Date.now()));
    return n > 0;
  }

  async appendEvents(
    runId: string,
    events: NewRunEvent[],
    options: { lease?: RunLease; limits?: RunEventLimits } = {},
  ): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    const { limits } = options;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transaction(async tx => {
          if (options.lease)
            checkLease(await this.lockedRow(tx, runId), options.lease);
          const max = await tx('kubechart_run_events')
            .where({ run_id: runId })
            .max<{ m: number | null }[]>('seq as m');
          let seq = Number(max[0]?.m ?? 0);
          const rows: EventRow[] = events.map(e => ({
            run_id: runId,
            seq: ++seq,
            at: e.at ? Date.parse(e.at) : Date.now(),
            type: storableText(e.type),
            level: storableText(e.level),
            // Built from what the run applies (`apply:<kind>/<name>`): cut to its column, not refused.
            step: fittedText(e.step ?? null, 255),
            step_status: storableText(e.stepStatus ?? null),
            message: storableText(e.message),
          }));
          if (limits) await this.checkEventLimits(tx, runId, rows, limits);
          // Insert in chunks; SQLite limits bound variables per statement.
          for (let i = 0; i < rows.length; i += 100) {
            await tx('kubechart_run_events').insert(rows.slice(i, i + 100));
          }
          return rows.map(toEvent);
        });
      } catch (e) {
        // Two writers raced for the same seq: retry with a fresh max.
        if (!isDatabaseConflictError(e) || attempt >= 5) throw e;
      }
    }
  }

  /**
   * Throws {@link RunEventLimitError} when storing `rows` would take the run's events beyond
   * `limits`: checked in the transaction that inserts them, after the run row is locked (with a
   * lease), so concurrent appends cannot pass it together.
   */
  private async checkEventLimits(
    tx: Knex.Transaction,
    runId: string,
    rows: EventRow[],
    limits: RunEventLimits,
  ): Promise<void> {
    const [held] = await tx('kubechart_run_events')
      .where({ run_id: runId })
      .select(
        tx.raw('count(*) as n'),
        tx.raw('coalesce(sum(length(message)), 0) as c'),
      );
    const heldEvents = Number(held?.n ?? 0);
    if (heldEvents + rows.length > limits.events)
      throw new RunEventLimitError(
        runId,
        'events',
        heldEvents,
        rows.length,
        limits.events,
      );
    // UTF-16 units sent (at least the characters the database counts).
    const sent = rows.reduce((n, r) => n + r.message.length, 0);
    const heldCharacters = Number(held?.c ?? 0);
    if (heldCharacters + sent > limits.characters)
      throw new RunEventLimitError(
        runId,
        'characters',
        heldCharacters,
        sent,
        limits.characters,
      );
  }

  async scrubEvents(
    runId: string,
    scrub: (text: string) => string,
    options: { lease?: RunLease } = {},
  ): Promise<number> {
    return this.transaction(async tx => {
      if (options.lease)
        checkLease(await this.lockedRow(tx, runId), options.lease);
      let rewritten = 0;
      // A page at a time: a recorded run's events are bounded (RunEventLimits), an engine run's too.
      for (let after = 0; ; ) {
        const rows = await tx<EventRow>('kubechart_run_events')
          .where({ run_id: runId })
          .andWhere('seq', '>', after)
          .orderBy('seq', 'asc')
          .limit(500)
          .select('seq', 'message', 'step');
        if (rows.length === 0) return rewritten;
        for (const row of rows) {
          const message = storableText(scrub(row.message));
          const step =
            row.step === null ? null : fittedText(scrub(row.step), 255);
          if (message !== row.message || step !== row.step) {
            await tx('kubechart_run_events')
              .where({ run_id: runId, seq: row.seq })
              .update({ message, step });
            rewritten += 1;
          }
        }
        after = Number(rows[rows.length - 1].seq);
      }
    });
  }

  async getEvents(
    runId: string,
    options: { after?: number; limit?: number } = {},
  ): Promise<RunEvent[]> {
    const rows = await this.db<EventRow>('kubechart_run_events')
      .where({ run_id: runId })
      .andWhere('seq', '>', options.after ?? 0)
      .orderBy('seq', 'asc')
      .limit(options.limit ?? 5000);
    return rows.map(toEvent);
  }

  async countRunsByActorSince(actor: string, since: Date): Promise<number> {
    const r = await this.db('kubechart_runs')
      .where({ actor })
      .andWhere('created_at', '>=', since.getTime())
      .count<{ n: number | string }[]>('id as n');
    return Number(r[0]?.n ?? 0);
  }

  async upsertTenant(t: NewTenantRecord): Promise<void> {
    await upsertTenantRow(this.db, t, Date.now());
  }

  async removeTenantRelease(
    cluster: string,
    code: string,
    release: string,
    runId: string,
  ): Promise<boolean> {
    // Compare-and-set on the releases read: a write in between (none is expected, the run holds the
    // tenant's namespace lock) makes it read again rather than put back what was replaced.
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.db('kubechart_tenants')
        .where({ cluster, code, last_run_id: runId })
        .first('releases');
      if (!row) return false;
      const releases: string[] = JSON.parse(row.releases);
      if (!releases.includes(release)) return false;
      const updated = await this.db('kubechart_tenants')
        .where({
          cluster,
          code,
          last_run_id: runId,
          releases: row.releases,
        })
        .update({
          releases: JSON.stringify(releases.filter(r => r !== release)),
          updated_at: Date.now(),
        });
      if (updated > 0) return true;
    }
    return false;
  }

  /**
   * Writes a tenant run's tenant record in the run's transaction, when its check lets it. On
   * PostgreSQL the check holds a transaction-scoped advisory lock, so two claims never count at the
   * same time (two budgets checked at once could both pass); SQLite runs one write transaction at a time.
   */
  private async claimTenant(
    tx: Knex.Transaction,
    claim: TenantClaim,
    runId: string,
  ): Promise<void> {
    if (claim.check && this.isPostgres) {
      await tx.raw('SELECT pg_advisory_xact_lock(?, ?)', TENANT_CLAIM_LOCK);
    }
    const [existing] = (
      await tx('kubechart_tenants').where({
        cluster: claim.cluster,
        code: claim.code,
      })
    ).map(toTenantRecord);
    const record = claim.record(existing);
    await claim.check?.(existing, record, owner =>
      countActiveTenants(tx, owner),
    );
    // What the run replaces, given back when no backend ever starts it (see getTenantBefore).
    const before: NewTenantRecord | null = existing
      ? (({ createdAt: _c, updatedAt: _u, ...kept }) => kept)(existing)
      : null;
    await tx('kubechart_runs')
      .where({ id: runId })
      .update({ tenant_before: JSON.stringify(before) });
    await upsertTenantRow(tx, record, Date.now());
  }

  async getTenantBefore(
    id: string,
  ): Promise<NewTenantRecord | null | undefined> {
    const row = await this.db('kubechart_runs')
      .where({ id })
      .first('tenant_before');
    return row?.tenant_before ? JSON.parse(row.tenant_before) : undefined;
  }

  async getBaseline(id: string): Promise<BaselineObject[] | undefined> {
    const row = await this.db('kubechart_runs').where({ id }).first('baseline');
    return row?.baseline ? JSON.parse(row.baseline) : undefined;
  }

  async getTenants(code?: string): Promise<TenantRecord[]> {
    const q = this.db('kubechart_tenants').orderBy([
      { column: 'code' },
      { column: 'cluster' },
    ]);
    // Looked up as codes are stored: a code from a request path may hold a NUL (none is found).
    if (code) q.where({ code: storableText(code) });
    return (await q).map(toTenantRecord);
  }

  async countActiveTenants(options: { owner?: string } = {}): Promise<number> {
    return countActiveTenants(this.db, options.owner);
  }

  /**
   * Counts and recent figures for the metrics summary. Its counts group every run (a scan of the table),
   * so callers that ask while one is being read share it: however many requests come at once, one
   * summary at a time is read from the database. A caller that asks after it was read gets a new one.
   * Callers must not change what it returns.
   */
  readonly summary = sharedWhileInFlight(() => this.readSummary());

  /**
   * The same counts and durations by the entity each run belongs to (or, for a run without one, its
   * actor), for callers who may read only some entities. Shared while in flight like {@link summary}.
   */
  readonly summaryByEntity = sharedWhileInFlight(() =>
    this.readSummaryByEntity(),
  );

  private async readSummaryByEntity() {
    const actorOfUnowned = this.db.raw(
      'case when entity_ref is null then actor end as actor',
    );
    const rows: any[] = await this.db('kubechart_runs')
      .select('entity_ref', 'entity_owner', actorOfUnowned, 'status', 'kind')
      .count('* as n')
      .groupByRaw(
        'entity_ref, entity_owner, case when entity_ref is null then actor end, status, kind',
      );
    const durations = await this.tenantRunDurations([
      'entity_ref',
      'entity_owner',
      'actor',
    ]);
    const ownerOf = (r: { entity_owner?: string | null }) =>
      typeof r.entity_owner === 'string' ? { entityOwner: r.entity_owner } : {};
    return {
      runs: rows.map(r => ({
        entityRef: r.entity_ref ?? undefined,
        ...ownerOf(r),
        actor: r.actor ?? undefined,
        status: r.status as RunStatus,
        kind: r.kind as RunKind,
        count: Number(r.n),
      })),
      tenantRunDurations: durations.map(d => ({
        entityRef: d.entity_ref ?? undefined,
        ...ownerOf(d),
        actor: d.actor,
        ms: Number(d.finished_at) - Number(d.started_at),
      })),
    };
  }

  /** The newest finished tenant runs that succeeded, at most 1,000, with the columns asked for. */
  private tenantRunDurations(columns: Array<keyof RunRow> = []) {
    return this.db<RunRow>('kubechart_runs')
      .where({ kind: 'tenant', status: 'succeeded' })
      .whereNotNull('started_at')
      .whereNotNull('finished_at')
      .orderBy('finished_at', 'desc')
      .limit(1000)
      .select('started_at', 'finished_at', ...columns);
  }

  private async readSummary() {
    const group = async (table: string, column: string) => {
      const rows = await this.db(table)
        .select(column)
        .count<any[]>('* as n')
        .groupBy(column);
      return Object.fromEntries(rows.map(r => [r[column], Number(r.n)]));
    };
    const durations = await this.tenantRunDurations();
    // List columns only: the summary names each failure, it does not need its manifest.
    const failures: ListRow[] = await this.db<RunRow>('kubechart_runs')
      .where({ status: 'failed' })
      .orderBy('created_at', 'desc')
      .limit(10)
      .select(...LIST_COLUMNS);
    return {
      runsByStatus: await group('kubechart_runs', 'status'),
      runsByKind: await group('kubechart_runs', 'kind'),
      tenantsByStatus: await group('kubechart_tenants', 'status'),
      tenantRunDurations: durations.map(
        d => Number(d.finished_at) - Number(d.started_at),
      ),
      recentFailures: failures.map(toListItem),
    };
  }
}

/**
 * A read that callers asking while it is in flight share: one read at a time, and a caller asking
 * after it settled starts a new one (nothing is cached).
 */
function sharedWhileInFlight<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (!inFlight) {
      inFlight = read().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  };
}

function toTenantRecord(r: any): TenantRecord {
  return {
    cluster: r.cluster,
    code: r.code,
    namespace: r.namespace,
    entityRef: r.entity_ref ?? undefined,
    owner: r.owner ?? undefined,
    displayName: r.display_name ?? undefined,
    status: r.status,
    lastRunId: r.last_run_id ?? undefined,
    releases: JSON.parse(r.releases),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/**
 * Runs whose `run-finished` event is still owed: ended, not marked audited, and not claimed, or
 * claimed before `staleClaimBefore` (the claimer stopped before marking it).
 */
function owedOutcome<Q extends Knex.QueryBuilder>(
  q: Q,
  staleClaimBefore: Date,
): Q {
  return q
    .whereIn('status', ['succeeded', 'failed'])
    .whereNull('outcome_audited_at')
    .andWhere(b =>
      b
        .whereNull('outcome_audit_claimed_at')
        .orWhere('outcome_audit_claimed_at', '<', staleClaimBefore.getTime()),
    ) as Q;
}

/**
 * The columns of a tenant row a write sets (all but its key and creation time), each fitted to its
 * column as the store writes text: an insert, its merge and the outcome pass's settling write them alike.
 */
function tenantColumns(t: NewTenantRecord, now: number) {
  return {
    namespace: fittingIdentifier(t.namespace, "The tenant's namespace", 255),
    entity_ref: fittingIdentifier(
      t.entityRef ?? null,
      "The tenant's entityRef",
      255,
    ),
    owner: fittingIdentifier(t.owner ?? null, "The tenant's owner", 255),
    display_name: fittedText(t.displayName ?? null, 255),
    status: t.status,
    last_run_id: storableText(t.lastRunId ?? null),
    releases: JSON.stringify(t.releases),
    updated_at: now,
  };
}

async function upsertTenantRow(
  db: Knex | Knex.Transaction,
  t: NewTenantRecord,
  now: number,
): Promise<void> {
  const key = {
    cluster: fittingIdentifier(t.cluster, "The tenant's cluster", 255),
    code: fittingIdentifier(t.code, "The tenant's code", 64),
  };
  const columns = tenantColumns(t, now);
  await db('kubechart_tenants')
    .insert({ ...key, ...columns, created_at: now })
    .onConflict(['cluster', 'code'])
    .merge(Object.keys(columns));
}

/**
 * Records on a run who owns its target as it starts ({@link ownerOfTarget}), in the transaction that
 * starts it: after its tenant claim, so a tenant run records the owner it leaves the tenant with.
 */
async function recordTargetOwner(
  tx: Knex.Transaction,
  runId: string,
  target: { cluster: string; namespace: string },
  options: StartRunOptions,
): Promise<void> {
  // As the run's row holds its target.
  const stored = {
    cluster: storableText(target.cluster),
    namespace: storableText(target.namespace),
  };
  const tenants = (
    await tx('kubechart_tenants').where(stored).whereNot({ status: 'deleted' })
  ).map(toTenantRecord);
  await tx('kubechart_runs')
    .where({ id: runId })
    .update({
      target_owner: storableText(
        ownerOfTarget(tenants, stored, options.assignedOwner),
      ),
    });
}

async function countActiveTenants(
  db: Knex | Knex.Transaction,
  owner?: string,
): Promise<number> {
  const q = db('kubechart_tenants').whereNot({ status: 'deleted' });
  if (owner !== undefined) q.where({ owner });
  const r = await q.count<{ n: number | string }[]>('code as n');
  return Number(r[0]?.n ?? 0);
}
