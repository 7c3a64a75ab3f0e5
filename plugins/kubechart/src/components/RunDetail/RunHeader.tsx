import type { ReactNode } from 'react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { Run } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import {
  formatDuration,
  formatTarget,
  formatTimestamp,
  runDurationMs,
  shortActor,
} from '../../lib/format';
import { RunStatus } from '../RunStatus';
import { RunActions } from '../RunActions';
import { RunFailure } from './RunFailure';

/** A labelled fact of a run (kind, target, who…), as the run header and the approval panel show them. */
export function Fact(props: { label: string; children: ReactNode }) {
  return (
    <Box mr={4} mb={1} minWidth={0}>
      <Typography variant="caption" color="textSecondary" component="div">
        {props.label}
      </Typography>
      <Typography variant="body2" component="div">
        {props.children}
      </Typography>
    </Box>
  );
}

/**
 * The top of a run's detail: its status and key facts, the actions that apply, and on a failed run
 * the reason (or the broken policy rules) before anything else.
 */
export function RunHeader(props: {
  run: Run;
  onRunStarted: (runId: string) => void;
}) {
  const { run, onRunStarted } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <Box data-testid="kubechart-run-header">
      <Box display="flex" alignItems="center" flexWrap="wrap" gridGap={16}>
        <Typography variant="h5" component="h2">
          {t('run.detailTitle', { id: run.id })}
        </Typography>
        <RunStatus status={run.status} />
        <Box flexGrow={1} />
        <RunActions run={run} onStarted={onRunStarted} />
      </Box>
      <Box display="flex" flexWrap="wrap" mt={2}>
        <Fact label={t('run.facts.kind')}>{run.kind}</Fact>
        <Fact label={t('run.facts.target')}>{formatTarget(run)}</Fact>
        <Fact label={t('run.facts.revision')}>{run.helmRevision ?? '–'}</Fact>
        <Fact label={t('run.facts.actor')}>{shortActor(run.actor)}</Fact>
        {run.template && (
          <Fact label={t('run.facts.template')}>{run.template}</Fact>
        )}
        <Fact label={t('run.facts.started')}>
          {formatTimestamp(run.startedAt ?? run.createdAt)}
        </Fact>
        <Fact label={t('run.facts.duration')}>
          {formatDuration(runDurationMs(run))}
        </Fact>
      </Box>
      {run.status === 'failed' && (
        <Box mt={1}>
          <RunFailure run={run} />
        </Box>
      )}
    </Box>
  );
}
