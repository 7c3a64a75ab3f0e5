import { AuditorService, LoggerService } from '@backstage/backend-plugin-api';
import {
  PolicyReport,
  Run,
  runApplied,
} from '@kubechart/plugin-kubechart-common';
import { RunStore } from '../database/RunStore';
import { namedChanges } from '../engine/RunContext';

/** A change a request asked for, as the audit trail records it when it is refused before it starts. */
export type RefusedAttempt = { eventId: string; meta: Record<string, any> };

/** How a run ended, as the audit trail states it. */
export type RunOutcome = 'succeeded' | 'failed' | 'refused';

/** At most this many changes are listed in an audit event. */
const MAX_AUDITED_CHANGES = 50;

/**
 * `refused` when the chart policy blocked the run and it is known to have changed no cluster;
 * `failed` when it did (a tenant's earlier release, helm 3 hooks that already ran) or when what it
 * changed is not known (`changes` undefined: another instance executed it, or an action did).
 */
export function runOutcome(
  run: Pick<Run, 'status' | 'policyReport'>,
  changes: readonly string[] | undefined,
): RunOutcome {
  if (run.status === 'succeeded') return 'succeeded';
  return run.policyReport?.blocking && changes?.length === 0
    ? 'refused'
    : 'failed';
}

/** The changes for an audit event: null when not known, at most {@link MAX_AUDITED_CHANGES} named. */
function auditedChanges(changes: readonly string[] | undefined) {
  if (!changes) return null;
  return namedChanges(changes, MAX_AUDITED_CHANGES);
}

/** The policy report in a few numbers and the failed rule ids, for audit events. */
export function policySummary(report: PolicyReport | undefined) {
  if (!report) return null;
  const failedRules = [
    ...new Set(report.results.filter(r => !r.passed).map(r => r.ruleId)),
  ].sort();
  return {
    mode: report.mode,
    blocking: report.blocking,
    errors: report.summary.errors,
    warnings: report.summary.warnings,
    failedRules,
  };
}

/** A claim on emitting a run's `run-finished` event older than this is taken as its instance's crash. */
export const OUTCOME_AUDIT_CLAIM_TIMEOUT_MS = 5 * 60_000;

/** Tries to mark an emitted event this many times, this far apart, before leaving it to its claim. */
const MARK_ATTEMPTS = 3;
const MARK_RETRY_MS = 500;

/** What the run outcome auditor keeps in the database: the outbox of `run-finished` events. */
export type RunOutcomeOutbox = Pick<
  RunStore,
  'claimOutcomeAudit' | 'markOutcomeAudited' | 'releaseOutcomeAudit'
>;

/**
 * Records the end of every run as a `run-finished` audit event at severity `high` (every run
 * kind changes a cluster): outcome succeeded / failed / refused, the actor, target, entity, the
 * policy summary, `applied`, what the run changed in clusters as its executor recorded it on the
 * run (`Run.applied`; null when that is not known, e.g. the run was reconciled after its executor
 * was lost), and `approval`, the state its approval ended in (null without one). The failure reason is stored as the run stored it (already
 * redacted).
 *
 * Exactly one event per run, across every backend instance: the emission is claimed on the run's
 * row first (a conditional update only one caller wins, see {@link RunStore.claimOutcomeAudit}), and
 * the row is marked once the auditor took the event (`success`/`fail` resolved). A run whose event
 * could not be emitted (the database or the auditor failing, the process stopping) stays owed, and
 * the scheduled outcome pass (`settleEndedRuns`) emits it. Resolves whether this call emitted it.
 */
export function createRunOutcomeAuditor(
  auditor: AuditorService,
  logger: LoggerService,
  outbox: RunOutcomeOutbox,
) {
  return async (run: Run): Promise<boolean> => {
    if (run.status !== 'succeeded' && run.status !== 'failed') return false;
    let claimed = false;
    try {
      // Already emitted, or being emitted by another caller (on this instance or another): not again.
      claimed = await outbox.claimOutcomeAudit(
        run.id,
        new Date(Date.now() - OUTCOME_AUDIT_CLAIM_TIMEOUT_MS),
      );
      if (!claimed) return false;
      // A run that was never claimed (`running`), e.g. an approval that expired, changed nothing.
      const changes = runApplied(run);
      const outcome = runOutcome(run, changes);
      const event = await auditor.createEvent({
        eventId: 'run-finished',
        severityLevel: 'high',
        meta: {
          runId: run.id,
          kind: run.kind,
          outcome,
          actor: run.actor,
          entityRef: run.entityRef ?? null,
          cluster: run.target.cluster,
          namespace: run.target.namespace,
          release: run.target.release ?? null,
          durationMs: run.durationMs ?? null,
          policy: policySummary(run.policyReport),
          applied: auditedChanges(changes),
          // How the run's approval ended: `refused` when the approved change was not carried out.
          approval: run.approval?.state ?? null,
        },
      });
      if (outcome === 'succeeded') await event.success();
      else
        await event.fail({
          error: new Error(run.failureReason ?? `run ${outcome}`),
          meta: { outcome },
        });
    } catch (e) {
      if (claimed)
        await outbox
          .releaseOutcomeAudit(run.id)
          .catch(() => undefined /* its claim times out instead */);
      logger.warn(
        `Could not audit the end of run ${run.id} now; the scheduled outcome pass emits its run-finished event: ${e}`,
      );
      return false;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await outbox.markOutcomeAudited(run.id);
        break;
      } catch (e) {
        if (attempt < MARK_ATTEMPTS) {
          await new Promise(r => setTimeout(r, MARK_RETRY_MS));
          continue;
        }
        // Its claim keeps every caller from emitting it again until the claim times out.
        logger.error(
          `The run-finished event of run ${
            run.id
          } was emitted but could not be marked as emitted; it is emitted again once its claim times out (${
            OUTCOME_AUDIT_CLAIM_TIMEOUT_MS / 60_000
          } minutes): ${e}`,
        );
        break;
      }
    }
    return true;
  };
}
