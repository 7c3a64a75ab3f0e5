import { Table, TableColumn } from '@backstage/core-components';
import Typography from '@material-ui/core/Typography';
import {
  createTranslationRef,
  useTranslationRef,
} from '@backstage/frontend-plugin-api';
import type {
  PolicyChartArtifact,
  PolicyReport,
  PolicyResult,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { RunStatus } from '../RunStatus';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
  withMarkers,
} from '../shared/visibleText';

/**
 * Strings of the release-grouped policy report (exceptions, charts). Kept beside the component
 * until the plugin's translation file takes them.
 * @public
 */
export const kubechartPolicyTranslationRef = createTranslationRef({
  id: 'kubechart-policy',
  messages: {
    release: 'Release {{release}}',
    otherObjects: 'Objects of no release',
    chart: 'chart {{chart}} {{version}} · {{digest}} · {{source}}',
    exempt: 'exempt',
    exemptReason: 'Exempted: {{reason}}',
    summary:
      'mode {{mode}} · {{outcome}} · {{errors}} errors, {{warnings}} warnings, {{exempted}} exempted, {{objects}} objects',
  },
});

/** Rows in the order a reviewer reads them: failed, then exempted, then passed. */
const rank = (r: PolicyResult) => {
  if (r.passed) return 2;
  return r.exempt ? 1 : 0;
};

const objectName = (r: PolicyResult) =>
  `${r.object.kind}/${r.object.namespace ? `${r.object.namespace}/` : ''}${
    r.object.name
  }`;

function ReleaseResults(props: {
  title: string;
  subtitle: string;
  rows: PolicyResult[];
}) {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { t: tp } = useTranslationRef(kubechartPolicyTranslationRef);
  const columns: TableColumn<PolicyResult & { id: number }>[] = [
    {
      title: t('run.policyColumns.result'),
      render: r => {
        if (r.exempt) return <RunStatus status={tp('exempt')} />;
        return (
          <RunStatus status={r.passed ? 'succeeded' : severityStatus(r)} />
        );
      },
    },
    { title: t('run.policyColumns.rule'), field: 'ruleId' },
    { title: t('run.policyColumns.severity'), field: 'severity' },
    {
      title: t('run.policyColumns.object'),
      render: r => <VisibleText text={objectName(r)} />,
    },
    {
      title: t('run.policyColumns.message'),
      render: r =>
        r.exempt ? (
          <>
            <VisibleText text={r.message} />
            <br />
            <strong>
              <VisibleText
                text={tp('exemptReason', { reason: r.exempt.reason })}
              />
            </strong>
          </>
        ) : (
          <VisibleText text={r.message} />
        ),
    },
    {
      title: t('run.policyColumns.fix'),
      render: r => (r.fix ? <VisibleText text={r.fix} /> : undefined),
    },
  ];
  // material-table keeps row state by `id`: the position in the (stable) sorted list.
  const rows = [...props.rows]
    .sort((a, b) => rank(a) - rank(b))
    .map((r, id) => ({ ...r, id }));
  // Rule messages quote the requester's values (an image), objects and reasons come from the chart
  // and the exception: their hidden characters are marked, and counted here.
  const hidden = countHidden(
    props.subtitle,
    ...props.rows.flatMap(r => [
      objectName(r),
      r.message,
      r.fix,
      r.exempt?.reason,
    ]),
  );
  return (
    <>
      <HiddenCharactersWarning count={hidden} />
      <Table<PolicyResult & { id: number }>
        title={props.title}
        subtitle={withMarkers(props.subtitle)}
        columns={columns}
        data={rows}
        options={{ paging: rows.length > 10, search: false, padding: 'dense' }}
      />
    </>
  );
}

const describeChart = (
  c: PolicyChartArtifact | undefined,
  line: (o: {
    chart: string;
    version: string;
    digest: string;
    source: string;
  }) => string,
) =>
  c
    ? line({
        chart: c.chart,
        version: c.version,
        digest: c.digest,
        source: c.source,
      })
    : '';

/**
 * The chart policy report of a run: one table per release (a tenant run checks several), each
 * with its chart and digest; failed rules first, then exempted ones with the exception's reason.
 */
export function PolicyReportTable(props: { report: PolicyReport }) {
  const { report } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { t: tp } = useTranslationRef(kubechartPolicyTranslationRef);
  const { summary } = report;
  const overall = tp('summary', {
    mode: report.mode,
    outcome: report.passed ? t('run.passed') : t('run.failed'),
    errors: String(summary.errors),
    warnings: String(summary.warnings),
    exempted: String(
      summary.exempted ?? report.results.filter(r => r.exempt).length,
    ),
    objects: String(summary.objects),
  });
  const releases = [
    ...new Set([
      ...(report.charts ?? []).map(c => c.release),
      ...report.results.map(r => r.release).filter((r): r is string => !!r),
    ]),
  ];
  if (releases.length === 0) {
    return (
      <ReleaseResults
        title={t('run.policyReport')}
        subtitle={overall}
        rows={report.results}
      />
    );
  }
  const unassigned = report.results.filter(r => !r.release);
  return (
    <>
      <Typography variant="h6">{t('run.policyReport')}</Typography>
      <Typography variant="body2" color="textSecondary" paragraph>
        {overall}
      </Typography>
      {releases.map(release => (
        <ReleaseResults
          key={release}
          title={tp('release', { release })}
          subtitle={describeChart(
            report.charts?.find(c => c.release === release),
            o => tp('chart', o),
          )}
          rows={report.results.filter(r => r.release === release)}
        />
      ))}
      {unassigned.length > 0 && (
        <ReleaseResults
          title={tp('otherObjects')}
          subtitle=""
          rows={unassigned}
        />
      )}
    </>
  );
}

function severityStatus(result: PolicyResult): string {
  return result.severity === 'error' ? 'failed' : 'degraded';
}
