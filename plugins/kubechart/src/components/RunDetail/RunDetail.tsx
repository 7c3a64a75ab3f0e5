import type { ReactNode } from 'react';
import Box from '@material-ui/core/Box';
import Divider from '@material-ui/core/Divider';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import {
  CodeSnippet,
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { Run } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { useRun } from '../../hooks';
import { formatTarget } from '../../lib/format';
import { RunStatus } from '../RunStatus';
import { RunActions } from '../RunActions';
import { RunTimeline } from './RunTimeline';
import { PolicyReportTable } from './PolicyReportTable';
import { RunDiffView } from './RunDiffView';

function Section(props: { title: string; children: ReactNode }) {
  return (
    <Box mt={3}>
      <Typography variant="h6" gutterBottom>
        {props.title}
      </Typography>
      {props.children}
    </Box>
  );
}

/**
 * One run in detail: status, failure reason, steps and log, redacted values and manifest,
 * policy report, diff against another run, and the rollback/retry actions.
 * @public
 */
export function RunDetail(props: {
  runId: string;
  /** Runs offered for the diff (usually the current page of history). */
  candidates?: Run[];
  onRunStarted?: (runId: string) => void;
}) {
  const { runId, candidates = [], onRunStarted = () => {} } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { value, loading, error } = useRun(runId);

  if (!value && loading) {
    return <Progress />;
  }
  if (!value) {
    return <ResponseErrorPanel error={error ?? new Error('Run not found')} />;
  }
  const { run, events } = value;

  return (
    <InfoCard
      title={t('run.detailTitle', { id: run.id })}
      subheader={`${run.kind} · ${formatTarget(run)}`}
      action={<RunStatus status={run.status} />}
    >
      <RunActions run={run} onStarted={onRunStarted} />
      {run.failureReason && (
        <Box mt={2}>
          <Alert severity="error">
            <AlertTitle>{t('run.failureReason')}</AlertTitle>
            <span style={{ whiteSpace: 'pre-wrap' }}>{run.failureReason}</span>
          </Alert>
        </Box>
      )}
      <Section title={t('run.timeline')}>
        <RunTimeline events={events} />
      </Section>
      {run.policyReport && (
        <Box mt={3}>
          <PolicyReportTable report={run.policyReport} />
        </Box>
      )}
      <Section title={t('run.values')}>
        {run.values ? (
          <CodeSnippet
            language="json"
            text={JSON.stringify(run.values, null, 2)}
            showCopyCodeButton
          />
        ) : (
          <Typography color="textSecondary">{t('run.noValues')}</Typography>
        )}
      </Section>
      <Section title={t('run.manifest')}>
        {run.manifest ? (
          <CodeSnippet language="yaml" text={run.manifest} showCopyCodeButton />
        ) : (
          <Typography color="textSecondary">{t('run.noManifest')}</Typography>
        )}
      </Section>
      <Divider style={{ marginTop: 24 }} />
      <Section title={t('run.diffAgainst')}>
        <RunDiffView run={run} candidates={candidates} />
      </Section>
    </InfoCard>
  );
}
