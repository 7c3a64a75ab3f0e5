import { Table, TableColumn } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type {
  PolicyReport,
  PolicyResult,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { RunStatus } from '../RunStatus';

/** The chart policy report of a run: failed rules first. */
export function PolicyReportTable(props: { report: PolicyReport }) {
  const { report } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const columns: TableColumn<PolicyResult>[] = [
    {
      title: t('run.policyColumns.result'),
      render: r => (
        <RunStatus status={r.passed ? 'succeeded' : severityStatus(r)} />
      ),
    },
    { title: t('run.policyColumns.rule'), field: 'ruleId' },
    { title: t('run.policyColumns.severity'), field: 'severity' },
    {
      title: t('run.policyColumns.object'),
      render: r =>
        `${r.object.kind}/${
          r.object.namespace ? `${r.object.namespace}/` : ''
        }${r.object.name}`,
    },
    { title: t('run.policyColumns.message'), field: 'message' },
    { title: t('run.policyColumns.fix'), field: 'fix' },
  ];
  const rows = [...report.results].sort(
    (a, b) => Number(a.passed) - Number(b.passed),
  );
  const { summary } = report;
  return (
    <Table<PolicyResult>
      title={t('run.policyReport')}
      subtitle={`mode ${report.mode} · ${
        report.passed ? t('run.passed') : t('run.failed')
      } · ${summary.errors} errors, ${summary.warnings} warnings, ${
        summary.objects
      } objects`}
      columns={columns}
      data={rows}
      options={{ paging: rows.length > 10, search: false, padding: 'dense' }}
    />
  );
}

function severityStatus(result: PolicyResult): string {
  return result.severity === 'error' ? 'failed' : 'degraded';
}
