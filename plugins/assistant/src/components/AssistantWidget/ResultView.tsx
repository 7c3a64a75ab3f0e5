import { ExecutionResult } from '@kubechart/plugin-assistant-common';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import Box from '@material-ui/core/Box';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableContainer from '@material-ui/core/TableContainer';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { assistantTranslationRef } from '../../translation';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
  withoutColours,
} from '../shared/visibleText';

const useStyles = makeStyles(theme => ({
  table: { maxHeight: 360 },
  text: {
    maxHeight: 360,
    overflow: 'auto',
    margin: 0,
    padding: theme.spacing(1),
    backgroundColor: theme.palette.background.default,
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    whiteSpace: 'pre-wrap',
  },
}));

/** A run's result: a table like kubectl's, log text, or a message. */
export function ResultView(props: { result: ExecutionResult }) {
  const classes = useStyles();
  const { t } = useTranslationRef(assistantTranslationRef);
  const { result } = props;
  // Logs, events and tables are text the workloads and tenants wrote: colour codes are dropped,
  // any other hidden character (a direction override, an escape) is shown as a marker, and counted.
  let shown: string[];
  if (result.type === 'table')
    shown = [...result.columns, ...result.rows.flat()];
  else if (result.type === 'diagnosis')
    shown = [result.answer, ...result.evidence.map(withoutColours)];
  else shown = [withoutColours(result.text)];
  const hidden = countHidden(...shown);
  let body: JSX.Element;
  if (result.type === 'table') {
    body =
      result.rows.length === 0 ? (
        <Typography variant="body2">{t('noRows')}</Typography>
      ) : (
        <TableContainer className={classes.table}>
          <Table size="small" stickyHeader aria-label="result">
            <TableHead>
              <TableRow>
                {result.columns.map(c => (
                  <TableCell key={c}>
                    <VisibleText text={c} />
                  </TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {result.rows.map((row, i) => (
                <TableRow key={i}>
                  {row.map((cell, j) => (
                    <TableCell key={j}>
                      <VisibleText text={cell} />
                    </TableCell>
                  ))}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      );
  } else if (result.type === 'text') {
    body = (
      <pre className={classes.text}>
        <VisibleText text={withoutColours(result.text)} />
      </pre>
    );
  } else if (result.type === 'diagnosis') {
    body = (
      <>
        <Typography
          variant="body2"
          paragraph
          data-testid="assistant-diagnosis"
          color={result.healthy ? 'textPrimary' : 'error'}
        >
          <VisibleText text={result.answer} />
        </Typography>
        {result.evidence.length > 0 && (
          <>
            <Typography variant="caption" color="textSecondary">
              {t('evidence')}
            </Typography>
            <pre className={classes.text}>
              <VisibleText
                text={result.evidence.map(withoutColours).join('\n')}
              />
            </pre>
          </>
        )}
        <Typography variant="caption" color="textSecondary">
          {t('diagnosisSteps', { steps: result.steps.join('; ') })}
        </Typography>
      </>
    );
  } else {
    body = (
      <Typography variant="body2">
        <VisibleText text={withoutColours(result.text)} />
      </Typography>
    );
  }
  return (
    <Box mt={1}>
      <HiddenCharactersWarning count={hidden} />
      {body}
      {'truncated' in result && result.truncated && (
        <Typography variant="caption" color="textSecondary">
          {result.truncated}
        </Typography>
      )}
    </Box>
  );
}
