import { LoggerService } from '@backstage/backend-plugin-api';
import { Run } from '@kubechart/plugin-kubechart-common';
import {
  NewTenantRecord,
  RunPatch,
  RunStore,
  TenantRecord,
} from '../database/RunStore';
import { OUTCOME_AUDIT_CLAIM_TIMEOUT_MS } from '../service/runAudit';

/**
 * How long after a run ended the outcome pass leaves it to whoever ended it: that instance tells its
 * listener (and so the auditor) and updates the tenant right after recording the end.
 */
export const OUTCOME_GRACE_MS = 60_000;

/** At most this many runs, and this many tenants, are settled per pass; the next pass takes the rest. */
export const OUTCOME_PASS_LIMIT = 100;

/**
 * The run as its end was recorded (status, failure reason, what it applied, end time), for telling a
 * listener of the end when the run cannot be read back from the database right after recording it.
 */
export function asEnded(
  run: Run,
  status: 'succeeded' | 'failed',
  patch: RunPatch,
  endedAt: number = Date.now(),
): Run {
  const { executor: _executor, ...rest } = run as Run & { executor?: string };
  const started = Date.parse(rest.startedAt ?? rest.createdAt);
  return {
    ...rest,
    status,
    ...(patch.failureReason !== undefined
      ? { failureReason: patch.failureReason }
      : {}),
    ...(patch.applied !== undefined ? { applied: patch.applied } : {}),
    transitions: [
      ...(rest.transitions ?? []),
      { status, at: new Date(endedAt).toISOString() },
    ],
    startedAt: rest.startedAt ?? rest.createdAt,
    finishedAt: new Date(endedAt).toISOString(),
    durationMs: Number.isFinite(started) ? endedAt - started : undefined,
  };
}

/** The releases a chart, rollback or tenant run installs, by name. */
export function expectedReleases(run: Run): string[] {
  if (run.kind === 'tenant')
    return ((run.input.releases as Array<{ name: string }>) ?? []).map(
      r => r.name,
    );
  return run.target.release ? [run.target.release] : [];
}

/**
 * The releases a tenant run with `pruneReleases` was to uninstall: those its tenant recorded and its
 * spec does not, in the record the run replaced when it claimed the tenant and in the one it wrote
 * (which keeps each until its uninstall is done).
 */
export async function releasesToPrune(
  store: RunStore,
  run: Run,
  tenant: TenantRecord | undefined,
): Promise<string[]> {
  if (run.kind !== 'tenant' || run.input.pruneReleases !== true) return [];
  const spec = new Set(expectedReleases(run));
  const before = await store.getTenantBefore(run.id);
  return [
    ...new Set([
      ...(before && before.status !== 'deleted' ? before.releases : []),
      ...(tenant?.lastRunId === run.id ? tenant.releases : []),
    ]),
  ].filter(r => !spec.has(r));
}

/**
 * What a tenant gets back when `run` on it (as its end is recorded) failed having changed nothing in a
 * cluster, because it never started or its executor recorded no change: the record the run replaced
 * when it claimed the tenant or, when it replaced none, `current` as `deleted` (not live: nobody owns
 * its code, no budget counts it, no catalog entity stands for it). Undefined when the run changed
 * something or may have (what it applied is not known), or when what it replaced was not kept. The
 * one rule for both ends of a tenant run: the instance that ended it (RunEngine) and the outcome pass
 * ({@link settledTenant}).
 */
export async function tenantUnchangedByFailedRun(
  store: RunStore,
  run: Run,
  current: NewTenantRecord,
): Promise<NewTenantRecord | undefined> {
  const neverStarted =
    !run.action && !run.transitions.some(t => t.status === 'running');
  if (
    run.status !== 'failed' ||
    !(neverStarted || (run.applied !== undefined && run.applied.length === 0))
  )
    return undefined;
  const before = await store.getTenantBefore(run.id);
  if (before === undefined) return undefined;
  return before ?? { ...current, status: 'deleted', lastRunId: run.id };
}

/**
 * The record a tenant left `provisioning`/`deleting` by `run`, which ended without its end reaching
 * the tenant, gets now. From the run's record alone, failing closed:
 * - a failed run that applied nothing gives the tenant back the record it replaced (none: the tenant
 *   is not live), as reconciling a run no backend started does ({@link tenantUnchangedByFailedRun});
 * - a tenant run is `active` when it succeeded (without the releases it pruned: it succeeded only
 *   once they were gone), `failed` otherwise;
 * - a tenant-delete run is `deleted` when it succeeded, `failed` otherwise (delete it again).
 */
export async function settledTenant(
  store: RunStore,
  run: Run,
  tenant: TenantRecord,
): Promise<NewTenantRecord> {
  const { createdAt: _c, updatedAt: _u, ...current } = tenant;
  const unchanged = await tenantUnchangedByFailedRun(store, run, current);
  if (unchanged) return unchanged;
  if (run.kind === 'tenant') {
    if (run.status !== 'succeeded') return { ...current, status: 'failed' };
    const pruned = await releasesToPrune(store, run, tenant);
    return {
      ...current,
      status: 'active',
      releases: current.releases.filter(r => !pruned.includes(r)),
    };
  }
  return {
    ...current,
    status: run.status === 'succeeded' ? 'deleted' : 'failed',
  };
}

export type SettleEndedRunsDeps = {
  store: RunStore;
  logger: LoggerService;
  /**
   * Emits the run's `run-finished` audit event unless it was (or is being) emitted; resolves whether
   * this call emitted it (see `createRunOutcomeAuditor`).
   */
  audit(run: Run): Promise<boolean>;
  /** Told of a run whose end the pass settled (signals, the catalog's tenant entities). */
  onRunChanged?(run: Run): void;
  /** Default {@link OUTCOME_GRACE_MS}. */
  graceMs?: number;
  /** Default {@link OUTCOME_PASS_LIMIT}. */
  limit?: number;
};

/**
 * The scheduled outcome pass (the outbox of run ends): what an instance could not do after it recorded
 * a run's end, because the database failed for a moment or the instance stopped, is done here, once
 * the run ended more than {@link OUTCOME_GRACE_MS} ago.
 * - A tenant still `provisioning`/`deleting` whose last run ended gets its record (see
 *   {@link settledTenant}), written only while no later run claimed the tenant.
 * - An ended run whose `run-finished` audit event is owed gets it, once across every instance.
 * Bounded per pass; one item that fails is logged and tried again at the next pass.
 */
export async function settleEndedRuns(
  deps: SettleEndedRunsDeps,
): Promise<{ tenants: number; audited: number }> {
  const { store, logger } = deps;
  const now = Date.now();
  const endedBefore = new Date(now - (deps.graceMs ?? OUTCOME_GRACE_MS));
  const limit = deps.limit ?? OUTCOME_PASS_LIMIT;
  const told = new Set<string>();
  const tell = (run: Run) => {
    if (told.has(run.id)) return;
    told.add(run.id);
    try {
      deps.onRunChanged?.(run);
    } catch (e) {
      logger.warn(`Listener failed on the end of run ${run.id}: ${e}`);
    }
  };

  let tenants = 0;
  for (const tenant of await store.findUnsettledTenants({
    endedBefore,
    limit,
  })) {
    try {
      const run = tenant.lastRunId
        ? await store.getRun(tenant.lastRunId)
        : undefined;
      if (!run || (run.status !== 'succeeded' && run.status !== 'failed'))
        continue;
      const record = await settledTenant(store, run, tenant);
      if (await store.settleTenant(run.id, record)) {
        tenants++;
        logger.warn(
          `Tenant ${tenant.code} on cluster ${tenant.cluster} was left ${tenant.status} after run ${run.id} ended as ${run.status}; it is now recorded as ${record.status}`,
        );
        tell(run);
      }
    } catch (e) {
      logger.error(
        `Could not settle tenant ${tenant.code} on cluster ${tenant.cluster} after its run ${tenant.lastRunId} ended; the next pass tries again: ${e}`,
      );
    }
  }

  let audited = 0;
  for (const run of await store.findUnauditedRuns({
    endedBefore,
    staleClaimBefore: new Date(now - OUTCOME_AUDIT_CLAIM_TIMEOUT_MS),
    limit,
  })) {
    // The auditor logs what it could not emit and leaves the run owed for the next pass.
    if (await deps.audit(run)) {
      audited++;
      logger.warn(
        `The end of run ${run.id} (${run.status}) was audited by the outcome pass: the instance that ended it did not emit its run-finished event`,
      );
      tell(run);
    }
  }
  return { tenants, audited };
}
