import { Fragment } from 'react';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { makeStyles } from '@material-ui/core/styles';
import Typography from '@material-ui/core/Typography';
import WarningIcon from '@material-ui/icons/Warning';
import {
  codePointName,
  countHiddenCharacters,
  hiddenCharacters,
  withMarkers,
  withoutColours,
} from '@kubechart/plugin-assistant-common';
import { assistantTranslationRef } from '../../translation';

/**
 * Rendering of hidden characters as markers, as the kubechart plugin shows them
 * (its `components/shared/visibleText.tsx`, same marker and style). The rules of
 * what is hidden are not copied here: they are `hiddenCharacters` of
 * `@kubechart/plugin-assistant-common`.
 */

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
}));

/**
 * Text as it is, except each hidden character, shown as a marker styled apart
 * (`⟨U+202E⟩`, its code point in the title): what is shown reads in the order
 * and with the characters that were recorded.
 */
export function VisibleText(props: { text: string }) {
  const classes = useStyles();
  const { text } = props;
  const hidden = hiddenCharacters(text);
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
  const { t } = useTranslationRef(assistantTranslationRef);
  if (!props.count) {
    return null;
  }
  return (
    <Typography variant="body2" role="note" className={classes.warning}>
      <WarningIcon fontSize="small" />
      {t('hiddenCharacters', { count: props.count })}
    </Typography>
  );
}
