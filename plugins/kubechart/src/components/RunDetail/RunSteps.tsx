import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { formatDuration, formatTimestamp } from '../../lib/format';
import {
  logLines,
  summariseSteps,
  withoutStackTrace,
} from '../../lib/runSteps';
import { RunStatus } from '../RunStatus';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
  withoutColours,
} from '../shared/visibleText';

const useStyles = makeStyles(theme => ({
  step: {
    display: 'grid',
    gridTemplateColumns: '140px minmax(120px, 220px) 1fr 80px',
    gap: theme.spacing(1),
    alignItems: 'baseline',
    padding: theme.spacing(0.5, 0),
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
  log: {
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    whiteSpace: 'pre-wrap',
    overflowWrap: 'anywhere',
    margin: 0,
    padding: theme.spacing(1),
    maxHeight: 420,
    overflowY: 'auto',
    backgroundColor: theme.palette.background.default,
    borderRadius: theme.shape.borderRadius,
  },
  // long step names (apply:PodDisruptionBudget/…) wrap inside their column
  name: { overflowWrap: 'anywhere', minWidth: 0 },
  warn: { color: theme.palette.warning.main },
  error: { color: theme.palette.error.main },
}));

/**
 * The steps of a run, one row each with its final state, then its log (scrollable, log lines and
 * run status changes in order).
 */
export function RunSteps(props: { events: RunEvent[]; runStatus: string }) {
  const { events, runStatus } = props;
  const classes = useStyles();
  const { t } = useTranslationRef(kubechartTranslationRef);

  if (!events.length) {
    return <Typography color="textSecondary">{t('run.noEvents')}</Typography>;
  }
  const steps = summariseSteps(events, runStatus);
  const lines = logLines(events);

  return (
    <Box data-testid="kubechart-run-timeline">
      <Box data-testid="kubechart-run-steps" mb={2}>
        {steps.map(step => (
          <Box key={step.name} className={classes.step} role="row">
            <RunStatus status={step.state} />
            <Typography variant="body2" className={classes.name}>
              <strong>
                <VisibleText text={step.name} />
              </strong>
            </Typography>
            <Typography variant="body2" color="textSecondary">
              <VisibleText text={withoutColours(step.message ?? '')} />
            </Typography>
            <Typography variant="caption" color="textSecondary" align="right">
              {step.startedAt && step.endedAt
                ? formatDuration(
                    new Date(step.endedAt).getTime() -
                      new Date(step.startedAt).getTime(),
                  )
                : ''}
            </Typography>
          </Box>
        ))}
      </Box>
      <Typography variant="subtitle2" gutterBottom>
        {t('run.log')}
      </Typography>
      <HiddenCharactersWarning
        count={countHidden(
          ...steps.flatMap(step => [
            step.name,
            withoutColours(step.message ?? ''),
          ]),
          ...lines.map(
            line =>
              `${line.step ?? ''}${withoutColours(
                withoutStackTrace(line.message),
              )}`,
          ),
        )}
      />
      <pre className={classes.log} data-testid="kubechart-run-log">
        {lines.map(line => {
          const level = {
            error: classes.error,
            warn: classes.warn,
            info: '',
          }[line.level];
          return (
            <span key={line.seq} className={level ?? ''}>
              {formatTimestamp(line.at).slice(11)}{' '}
              <VisibleText
                text={`${line.step ? `[${line.step}] ` : ''}${withoutColours(
                  withoutStackTrace(line.message),
                )}`}
              />
              {'\n'}
            </span>
          );
        })}
      </pre>
    </Box>
  );
}
