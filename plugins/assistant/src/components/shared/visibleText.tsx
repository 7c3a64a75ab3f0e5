import { Fragment } from 'react';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { makeStyles } from '@material-ui/core/styles';
import Typography from '@material-ui/core/Typography';
import WarningIcon from '@material-ui/icons/Warning';
import { hiddenCharacters } from '@kubechart/plugin-assistant-common';
import { assistantTranslationRef } from '../../translation';

/**
 * Rendering of hidden characters as markers, as the kubechart plugin shows them
 * (its `components/shared/visibleText.tsx`, same marker and style). The rules of
 * what is hidden are not copied here: they are `hiddenCharacters` of
 * `@kubechart/plugin-assistant-common`.
 */

/** Terminal colour codes (SGR, `ESC[32m`); any other escape stays, and is marked. */
// eslint-disable-next-line no-control-regex -- the escape is what is matched
const COLOURS = /\u001b\[[0-9;]*m/g;

/** A log line without its colour codes (`ESC[32mdeployed ESC[0m` reads `deployed`). */
export function withoutColours(text: string): string {
  return text.replace(COLOURS, '');
}

/** The marker a hidden character is shown as: `⟨U+202E⟩`. */
export function markerOf(char: string): string {
  const code = char.codePointAt(0)!.toString(16).toUpperCase();
  return `⟨U+${code.padStart(4, '0')}⟩`;
}

/** How many hidden characters the texts hold. */
export function countHidden(...texts: ReadonlyArray<string | undefined>) {
  return texts.reduce(
    (n, text) => n + (text ? hiddenCharacters(text).length : 0),
    0,
  );
}

/** The text with each hidden character written as its marker, for where only a string goes. */
export function withMarkers(text: string): string {
  let out = '';
  let last = 0;
  for (const { index, char } of hiddenCharacters(text)) {
    out += text.slice(last, index) + markerOf(char);
    last = index + char.length;
  }
  return out + text.slice(last);
}

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
