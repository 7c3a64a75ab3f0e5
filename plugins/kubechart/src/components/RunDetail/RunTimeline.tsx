import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { formatTimestamp } from '../../lib/format';
import { RunStatus } from '../RunStatus';

const useStyles = makeStyles(theme => ({
  log: {
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-word',
    margin: 0,
    paddingLeft: theme.spacing(3),
  },
  warn: { color: theme.palette.warning.main },
  error: { color: theme.palette.error.main },
  step: { marginTop: theme.spacing(1) },
}));

const STEP_STATUS: Record<string, string> = {
  started: 'running',
  succeeded: 'succeeded',
  skipped: 'skipped',
  failed: 'failed',
};

/** Steps (with their status) and log lines of a run, in order. */
export function RunTimeline(props: { events: RunEvent[] }) {
  const { events } = props;
  const classes = useStyles();
  const { t } = useTranslationRef(kubechartTranslationRef);

  if (!events.length) {
    return <Typography color="textSecondary">{t('run.noEvents')}</Typography>;
  }

  return (
    <Box data-testid="kubechart-run-timeline">
      {events.map(event => {
        if (event.type === 'step' || event.type === 'status') {
          return (
            <Box
              key={event.seq}
              className={classes.step}
              display="flex"
              gridGap={8}
            >
              <RunStatus
                status={
                  STEP_STATUS[event.stepStatus ?? ''] ??
                  event.stepStatus ??
                  'pending'
                }
              />
              <Typography variant="body2">
                <strong>{event.step ?? event.type}</strong> {event.message}
              </Typography>
            </Box>
          );
        }
        const levelClass = {
          error: classes.error,
          warn: classes.warn,
          info: '',
        }[event.level];
        return (
          <pre key={event.seq} className={`${classes.log} ${levelClass ?? ''}`}>
            {formatTimestamp(event.at).slice(11)}{' '}
            {event.step ? `[${event.step}] ` : ''}
            {event.message}
          </pre>
        );
      })}
    </Box>
  );
}
