import { AuditorService, LoggerService } from '@backstage/backend-plugin-api';
import { PolicyReport, Run } from '@kubechart/plugin-kubechart-common';

/** How a run ended, as the audit trail states it. */
export type RunOutcome = 'succeeded' | 'failed' | 'refused';

/** `refused` when the chart policy blocked the run before anything was applied. */
export function runOutcome(
  run: Pick<Run, 'status' | 'policyReport'>,
): RunOutcome {
  if (run.status === 'succeeded') return 'succeeded';
  return run.policyReport?.blocking ? 'refused' : 'failed';
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
 * kind changes a cluster): outcome succeeded / failed / refused, the actor, target, entity and
 * the policy summary. The failure reason is stored as the run stored it (already redacted).
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
    const outcome = runOutcome(run);
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
