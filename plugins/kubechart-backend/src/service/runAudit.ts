import { AuditorService, LoggerService } from '@backstage/backend-plugin-api';
import {
  PolicyReport,
  Run,
  runApplied,
} from '@kubechart/plugin-kubechart-common';
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

/**
 * Records the end of every run as a `run-finished` audit event at severity `high` (every run
 * kind changes a cluster): outcome succeeded / failed / refused, the actor, target, entity, the
 * policy summary and `applied`, what the run changed in clusters as its executor recorded it on the
 * run (`Run.applied`; null when that is not known, e.g. the run was reconciled after its executor
 * was lost). The failure reason is stored as the run stored it (already
 * redacted).
 */
export function createRunOutcomeAuditor(
  auditor: AuditorService,
  logger: LoggerService,
) {
  const audited = new Set<string>();
  return async (run: Run): Promise<void> => {
    if (run.status !== 'succeeded' && run.status !== 'failed') return;
    // One event per run, even when a listener hears the end twice.
    if (audited.has(run.id)) return;
    audited.add(run.id);
    if (audited.size > 10_000)
      audited.delete(audited.values().next().value as string);
    // A run that was never claimed (`running`), e.g. an approval that expired, changed nothing.
    const changes = runApplied(run);
    const outcome = runOutcome(run, changes);
    try {
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
        },
      });
      if (outcome === 'succeeded') await event.success();
      else
        await event.fail({
          error: new Error(run.failureReason ?? `run ${outcome}`),
          meta: { outcome },
        });
    } catch (e) {
      logger.warn(`Could not audit the end of run ${run.id}: ${e}`);
    }
  };
}
