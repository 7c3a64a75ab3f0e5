import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import Alert from '@material-ui/lab/Alert';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { parsePatch } from 'diff';
import { kubechartTranslationRef } from '../../translation';
import {
  HiddenCharactersWarning,
  VisibleText,
  countHidden,
  withMarkers,
} from '../shared/visibleText';

const useStyles = makeStyles(theme => ({
  pre: {
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    margin: 0,
    padding: theme.spacing(1),
    overflowX: 'auto',
    backgroundColor: theme.palette.background.default,
  },
  line: { display: 'block', whiteSpace: 'pre' },
  added: { backgroundColor: 'rgba(46, 160, 67, 0.2)' },
  removed: { backgroundColor: 'rgba(248, 81, 73, 0.2)' },
  hunk: { color: theme.palette.text.secondary },
}));

/** The lines of a diff's text that are not the file headers jsdiff writes, even without hunks. */
function notHeaders(patch: string): string[] {
  return patch
    .split('\n')
    .filter(
      line =>
        line.trim() !== '' && !/^(Index: |={3,}$|--- |\+\+\+ )/.test(line),
    );
}

/**
 * Renders a unified diff with added and removed lines highlighted. `notComputed` is the backend's
 * reason for not diffing (its text then holds no hunk); a text with no hunk is `emptyText` only
 * when it holds nothing else, for no hunk is also what a diff given up on looks like. Invisible and
 * direction-changing characters are shown as markers, with a warning: the lines read as applied.
 */
export function DiffLines(props: {
  patch: string;
  emptyText: string;
  notComputed?: string;
}) {
  const classes = useStyles();
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (props.notComputed) {
    return (
      <Alert severity="warning">
        {t('run.diffNotComputed', { reason: props.notComputed })}
      </Alert>
    );
  }
  const hunks = parsePatch(props.patch).flatMap(file => file.hunks);
  if (!hunks.length) {
    const other = notHeaders(props.patch);
    if (other.length) {
      return (
        <Alert severity="warning">
          {t('run.diffUnreadable', { text: withMarkers(other.join(' ')) })}
        </Alert>
      );
    }
    return <Typography color="textSecondary">{props.emptyText}</Typography>;
  }
  // A diff line's line break is left out: a carriage return ending it is a `\r\n`'s.
  const hidden = countHidden(
    ...hunks.flatMap(hunk => hunk.lines.map(line => `${line}\n`)),
  );
  return (
    <>
      <HiddenCharactersWarning count={hidden} />
      <pre className={classes.pre}>
        {hunks.map(hunk => (
          <span key={`${hunk.oldStart}-${hunk.newStart}`}>
            <span className={`${classes.line} ${classes.hunk}`}>
              {`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`}
            </span>
            {hunk.lines.map((line, i) => {
              let kind: string | undefined;
              if (line.startsWith('+')) {
                kind = classes.added;
              } else if (line.startsWith('-')) {
                kind = classes.removed;
              }
              return (
                <span
                  key={i}
                  className={`${classes.line} ${kind ?? ''}`}
                  data-diff={kind ? line[0] : ' '}
                >
                  <VisibleText text={line} lineBreakAfter />
                </span>
              );
            })}
          </span>
        ))}
      </pre>
    </>
  );
}
