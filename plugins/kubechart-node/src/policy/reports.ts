import type {
  PolicyChartArtifact,
  PolicyReport,
  PolicyResult,
} from '@kubechart/plugin-kubechart-common';

/** Rule id of the warning for a values key the chart does not know. @public */
export const UNKNOWN_VALUE_RULE_ID = 'unknown-value';

const summarize = (
  mode: PolicyReport['mode'],
  objects: number,
  results: PolicyResult[],
  blocking: boolean,
  charts?: PolicyChartArtifact[],
): PolicyReport => {
  const failed = results.filter(r => !r.passed && !r.exempt);
  const errors = failed.filter(r => r.severity === 'error').length;
  return {
    mode,
    passed: errors === 0,
    blocking,
    summary: {
      objects,
      errors,
      warnings: failed.filter(r => r.severity === 'warning').length,
      infos: failed.filter(r => r.severity === 'info').length,
      exempted: results.filter(r => r.exempt).length,
    },
    results,
    ...(charts?.length ? { charts } : {}),
  };
};

/**
 * The report of one release: every result names the release, the checked chart is recorded, and each
 * values key the chart does not know (see `findUnknownValues`) is a warning of rule `unknown-value`.
 * Warnings never block.
 * @public
 */
export function releasePolicyReport(
  report: PolicyReport,
  release: string,
  extra: { chart?: PolicyChartArtifact; unknownValues?: string[] } = {},
): PolicyReport {
  const results: PolicyResult[] = report.results.map(r => ({ ...r, release }));
  for (const message of extra.unknownValues ?? []) {
    results.push({
      ruleId: UNKNOWN_VALUE_RULE_ID,
      severity: 'warning',
      passed: false,
      object: { kind: 'Chart', name: extra.chart?.chart ?? release },
      message,
      fix: "Remove the value, or correct its name against the chart's values.yaml and values.schema.json",
      release,
    });
  }
  const charts = [
    ...(report.charts ?? []),
    ...(extra.chart ? [extra.chart] : []),
  ];
  return summarize(
    report.mode,
    report.summary.objects,
    results,
    report.blocking,
    charts,
  );
}

/**
 * One report of several (a tenant run's releases): every result of every report, counts summed;
 * blocking when any report blocks.
 * @public
 */
export function mergePolicyReports(
  reports: PolicyReport[],
): PolicyReport | undefined {
  if (reports.length === 0) return undefined;
  return summarize(
    reports[0].mode,
    reports.reduce((n, r) => n + r.summary.objects, 0),
    reports.flatMap(r => r.results),
    reports.some(r => r.blocking),
    reports.flatMap(r => r.charts ?? []),
  );
}
