import type { ReactNode } from 'react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import {
  CardTab,
  CodeSnippet,
  InfoCard,
  Progress,
  ResponseErrorPanel,
  TabbedCard,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { runApplied } from '@kubechart/plugin-kubechart-common';
import type { Run, RunListItem } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { useRun } from '../../hooks';
import { RunHeader } from './RunHeader';
import { RunSteps } from './RunSteps';
import { PolicyReportTable } from './PolicyReportTable';
import { RunDiffView } from './RunDiffView';
import { ApprovalPanel } from '../RunApproval';
import { VisibleCode } from '../shared/visibleText';

/** Run kinds that install no chart, so have no Helm values to show. */
const RUN_KINDS_WITHOUT_VALUES: Run['kind'][] = ['manifests', 'tenant-delete'];

/** Long content (a manifest, values) scrolls inside its tab instead of stretching the page. */
function Scroll(props: { children: ReactNode; label: string }) {
  return (
    <Box maxHeight={560} overflow="auto" aria-label={props.label}>
      {props.children}
    </Box>
  );
}

/**
 * One run in detail: a header with its status, key facts, actions and (on failure) the reason
 * first; for a run against a protected target its approval (decisions, plan diff, Approve and
 * Reject); then tabs: steps and log, policy report, redacted values, manifest, and a diff against
 * another run. A refused or failed run shows the values, manifest and report it was judged on.
 * The run is always read whole (`getRun`), with a progress bar until it is: an item of a page of
 * history has no values, manifest or policy report to show.
 * @public
 */
export function RunDetail(props: {
  runId: string;
  /** Runs offered for the diff (usually the current page of history, whose items carry no values or manifest). */
  candidates?: RunListItem[];
  onRunStarted?: (runId: string) => void;
}) {
  const { runId, candidates = [], onRunStarted = () => {} } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const { value, loading, error, retry } = useRun(runId);

  if (!value && loading) {
    return <Progress />;
  }
  if (!value) {
    return <ResponseErrorPanel error={error ?? new Error('Run not found')} />;
  }
  const { run, events } = value;
  // A failed run's manifest was judged (and refused) or rendered; whether any of it was applied is
  // what the run recorded it changed in the cluster.
  const failed = run.status === 'failed';
  const applied = runApplied(run);
  const notApplied = failed && applied?.length === 0;
  const failedAfterChanges = failed && Boolean(applied?.length);
  const failedUnknown = failed && !applied;
  // A run waiting for approval (or for its input again) shows the plan it will apply.
  const planned =
    run.status === 'awaiting-approval' || run.status === 'approved';

  return (
    <Box data-testid="kubechart-run-detail">
      <InfoCard>
        <RunHeader run={run} onRunStarted={onRunStarted} />
      </InfoCard>
      {run.approval && (
        <Box mt={2}>
          <ApprovalPanel
            run={{ ...run, approval: run.approval }}
            onChanged={retry}
          />
        </Box>
      )}
      <Box mt={2}>
        <TabbedCard title={t('run.detailsTitle')}>
          <CardTab label={t('run.tabs.steps')}>
            <RunSteps events={events} runStatus={run.status} />
          </CardTab>
          <CardTab label={t('run.tabs.policy')}>
            {run.policyReport ? (
              <PolicyReportTable report={run.policyReport} />
            ) : (
              <Typography color="textSecondary">
                {t('run.noPolicyReport')}
              </Typography>
            )}
          </CardTab>
          <CardTab label={t('run.tabs.values')}>
            {run.values ? (
              <Scroll label={t('run.values')}>
                <Typography variant="subtitle2" gutterBottom>
                  {t('run.values')}
                </Typography>
                <VisibleCode text={JSON.stringify(run.values, null, 2)}>
                  <CodeSnippet
                    language="json"
                    text={JSON.stringify(run.values, null, 2)}
                    showCopyCodeButton
                  />
                </VisibleCode>
              </Scroll>
            ) : (
              <Typography color="textSecondary">
                {RUN_KINDS_WITHOUT_VALUES.includes(run.kind)
                  ? t('run.noValuesForKind', { kind: run.kind })
                  : t('run.noValues')}
              </Typography>
            )}
          </CardTab>
          <CardTab label={t('run.tabs.manifest')}>
            {run.manifest ? (
              <Scroll label={t('run.manifest')}>
                <Typography variant="subtitle2" gutterBottom>
                  {notApplied && t('run.manifestNotApplied')}
                  {failedAfterChanges && t('run.manifestFailedAfterChanges')}
                  {failedUnknown && t('run.manifestFailedUnknown')}
                  {planned && t('run.manifestPlanned')}
                  {!failed && !planned && t('run.manifest')}
                </Typography>
                <VisibleCode text={run.manifest}>
                  <CodeSnippet
                    language="yaml"
                    text={run.manifest}
                    showCopyCodeButton
                  />
                </VisibleCode>
              </Scroll>
            ) : (
              <Typography color="textSecondary">
                {t('run.noManifest')}
              </Typography>
            )}
          </CardTab>
          <CardTab label={t('run.tabs.compare')}>
            <RunDiffView run={run} candidates={candidates} />
          </CardTab>
        </TabbedCard>
      </Box>
    </Box>
  );
}
