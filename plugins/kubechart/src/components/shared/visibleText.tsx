import { Fragment } from 'react';
import Box from '@material-ui/core/Box';
import { makeStyles } from '@material-ui/core/styles';
import Typography from '@material-ui/core/Typography';
import WarningIcon from '@material-ui/icons/Warning';
import { CopyTextButton } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import {
  codePointName,
  countHiddenCharacters,
  hiddenCharacters,
  withMarkers,
  withoutColours,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';

/** A log line without its colour codes; the text with markers, for where only a string goes. */
export { withoutColours, withMarkers };

/** The marker a hidden character is shown as: `⟨U+202E⟩`. */
export function markerOf(char: string): string {
  return `⟨${codePointName(char)}⟩`;
}

/** How many hidden characters the texts hold. */
export const countHidden = countHiddenCharacters;

const useStyles = makeStyles(theme => ({
  marker: {
    color: theme.palette.warning.contrastText,
    backgroundColor: theme.palette.warning.main,
    borderRadius: 2,
    padding: '0 2px',
    fontFamily: 'monospace',
    fontSize: '0.85em',
  },
  warning: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    color: theme.palette.warning.dark,
    margin: theme.spacing(0.5, 0),
  },
  code: {
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    whiteSpace: 'pre',
    overflowX: 'auto',
    margin: 0,
    padding: theme.spacing(1),
    backgroundColor: theme.palette.background.default,
  },
}));

/**
 * Text as it is, except each hidden character, shown as a marker styled apart
 * (`⟨U+202E⟩`, its code point in the title): what is shown reads in the order
 * and with the characters that are applied.
 */
export function VisibleText(props: {
  text: string;
  /** The text is a line whose line break is left out (a diff line): a carriage return ending it is that line break's. */
  lineBreakAfter?: boolean;
}) {
  const classes = useStyles();
  const { text } = props;
  const hidden = hiddenCharacters(props.lineBreakAfter ? `${text}\n` : text);
  if (!hidden.length) {
    return <>{text}</>;
  }
  const parts: JSX.Element[] = [];
  let last = 0;
  for (const { index: at, char } of hidden) {
    const marker = markerOf(char);
    parts.push(
      <Fragment key={`t${at}`}>{text.slice(last, at)}</Fragment>,
      <span
        key={`m${at}`}
        className={classes.marker}
        data-hidden-character={marker.slice(1, -1)}
        title={marker.slice(1, -1)}
      >
        {marker}
      </span>,
    );
    last = at + char.length;
  }
  parts.push(<Fragment key="end">{text.slice(last)}</Fragment>);
  return <>{parts}</>;
}

/** Says how many hidden characters a text holds and how they are shown; nothing when none. */
export function HiddenCharactersWarning(props: { count: number }) {
  const classes = useStyles();
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (!props.count) {
    return null;
  }
  return (
    <Typography
      variant="body2"
      role="note"
      className={classes.warning}
      data-testid="kubechart-hidden-characters"
    >
      <WarningIcon fontSize="small" />
      {t('hiddenCharacters', { count: props.count })}
    </Typography>
  );
}

/**
 * A code view (manifest, values): `CodeSnippet` for text without hidden
 * characters; otherwise the warning and the text with its markers, and a copy
 * button that copies the text itself.
 */
export function VisibleCode(props: {
  text: string;
  /** Renders the text when it holds no hidden character. */
  children: JSX.Element;
}) {
  const classes = useStyles();
  const count = countHidden(props.text);
  if (!count) {
    return props.children;
  }
  return (
    <Box>
      <HiddenCharactersWarning count={count} />
      <Box display="flex" alignItems="flex-start">
        <pre className={classes.code} style={{ flex: 1 }}>
          <VisibleText text={props.text} />
        </pre>
        <CopyTextButton text={props.text} />
      </Box>
    </Box>
  );
}
