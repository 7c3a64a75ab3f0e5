import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import CircularProgress from '@material-ui/core/CircularProgress';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import PlayArrowIcon from '@material-ui/icons/PlayArrow';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import { AssistantTurn } from '../../hooks/useAssistant';
import { errorMessage } from '../../lib/errorMessage';
import { assistantTranslationRef } from '../../translation';
import { ConfirmDialog } from './ConfirmDialog';
import { ResultView } from './ResultView';
import { SafetyChip } from './SafetyChip';

const useStyles = makeStyles(theme => ({
  question: { fontWeight: theme.typography.fontWeightMedium as number },
  command: {
    display: 'block',
    padding: theme.spacing(1),
    margin: theme.spacing(1, 0),
    backgroundColor: theme.palette.background.default,
    fontFamily: 'monospace',
    overflowX: 'auto',
    whiteSpace: 'pre',
  },
  row: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    flexWrap: 'wrap',
  },
}));

/** One question: its command, explanation, safety, Run button and result. */
export function TurnView(props: {
  turn: AssistantTurn;
  onRun: (confirmation?: {
    confirm?: boolean;
    typedConfirmation?: string;
  }) => void;
}) {
  const { turn, onRun } = props;
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  const [confirming, setConfirming] = useState(false);
  const answer = turn.answer;

  return (
    <Box mb={2} data-testid="assistant-turn">
      <Typography className={classes.question}>{turn.question}</Typography>
      {!answer && !turn.askError && (
        <Box className={classes.row}>
          <CircularProgress size={16} />
          <Typography variant="body2">{t('asking')}</Typography>
        </Box>
      )}
      {turn.askError && (
        <Alert severity="error">{errorMessage(turn.askError)}</Alert>
      )}
      {answer && (
        <>
          <code className={classes.command} data-testid="assistant-command">
            {answer.command}
          </code>
          <Typography variant="body2" paragraph>
            {answer.explanation}
          </Typography>
          {answer.scope && (
            <Typography
              variant="caption"
              color="textSecondary"
              paragraph
              data-testid="assistant-scope"
            >
              {t('scope', { scope: answer.scope })}
            </Typography>
          )}
          <Box className={classes.row}>
            <SafetyChip safety={answer.safety} />
            <Typography variant="caption" color="textSecondary">
              {t('answeredBy', { provider: answer.provider })}
            </Typography>
            <Button
              size="small"
              variant="outlined"
              color="primary"
              startIcon={
                turn.running ? (
                  <CircularProgress size={14} />
                ) : (
                  <PlayArrowIcon />
                )
              }
              disabled={turn.running || !!answer.requirements.blockedReason}
              onClick={() =>
                answer.requirements.confirm ? setConfirming(true) : onRun()
              }
            >
              {turn.running ? t('running') : t('run')}
            </Button>
          </Box>
          {answer.requirements.blockedReason && (
            <Box mt={1}>
              <Alert severity="warning">
                {answer.requirements.blockedReason}
              </Alert>
            </Box>
          )}
          {turn.runError && (
            <Box mt={1}>
              <Alert severity="error">{errorMessage(turn.runError)}</Alert>
            </Box>
          )}
          {turn.execution && <ResultView result={turn.execution.result} />}
          {turn.execution?.notice && (
            <Box mt={1}>
              <Alert severity="warning">{turn.execution.notice}</Alert>
            </Box>
          )}
          {confirming && (
            <ConfirmDialog
              answer={answer}
              onCancel={() => setConfirming(false)}
              onConfirm={confirmation => {
                setConfirming(false);
                onRun(confirmation);
              }}
            />
          )}
        </>
      )}
    </Box>
  );
}
