import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { parsePatch } from 'diff';

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

/** Renders a unified diff with added and removed lines highlighted. */
export function DiffLines(props: { patch: string; emptyText: string }) {
  const classes = useStyles();
  const hunks = parsePatch(props.patch).flatMap(file => file.hunks);
  if (!hunks.length) {
    return <Typography color="textSecondary">{props.emptyText}</Typography>;
  }
  return (
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
                {line}
              </span>
            );
          })}
        </span>
      ))}
    </pre>
  );
}
