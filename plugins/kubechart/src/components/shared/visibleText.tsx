import { Fragment } from 'react';
import Box from '@material-ui/core/Box';
import { makeStyles } from '@material-ui/core/styles';
import Typography from '@material-ui/core/Typography';
import WarningIcon from '@material-ui/icons/Warning';
import { CopyTextButton } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';

/**
 * Characters a browser does not show as they are: format characters (bidi
 * controls U+202A–U+202E and U+2066–U+2069, the marks U+200E and U+200F,
 * zero-width U+200B, U+2060, the BOM U+FEFF, tag characters), line and
 * paragraph separators, and control characters other than the tab and line
 * break. A bidi control reorders the text after it and a zero-width one hides
 * in it, so a line would read differently from what is applied.
 *
 * The assistant-common package holds the same rules (`src/hiddenCharacters.ts`):
 * keep the two in step.
 */
const CANDIDATE = /[\p{Cf}\p{Zl}\p{Zp}]|(?![\t\n])\p{Cc}/gu;

/** What a joiner (U+200C, U+200D) may follow: a letter, a combining mark (a virama, U+FE0F), an emoji. */
const JOINS_AFTER = /[\p{L}\p{M}\p{Extended_Pictographic}\p{Emoji_Modifier}]$/u;

/** What a joiner may precede: a letter or an emoji. */
const JOINS_BEFORE = /^[\p{L}\p{Extended_Pictographic}]/u;

/**
 * A subdivision flag (England's is U+1F3F4 then `gbeng` as tag characters and
 * U+E007F): the only emoji tag sequences there are. Tag characters anywhere
 * else spell invisible text.
 */
const FLAG =
  /\u{1F3F4}[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{2,7}\u{E007F}/gu;

/**
 * The characters of `text` a browser would not show as they are, with where
 * each is (UTF-16 index). Not counted, for text needs them: a soft hyphen
 * (U+00AD), a carriage return right before a line break, U+200C and U+200D
 * between two letters or emoji (Persian, Indic scripts, emoji sequences), and
 * the tag characters of a subdivision flag.
 */
export function hiddenCharacters(
  text: string,
): Array<{ index: number; char: string }> {
  const inFlags = new Set<number>();
  for (const flag of text.matchAll(FLAG)) {
    // The black flag and each tag character are two UTF-16 units.
    for (let at = flag.index! + 2; at < flag.index! + flag[0].length; at += 2) {
      inFlags.add(at);
    }
  }
  const found: Array<{ index: number; char: string }> = [];
  for (const match of text.matchAll(CANDIDATE)) {
    const index = match.index!;
    const char = match[0];
    const end = index + char.length;
    const legit =
      char === '\u00AD' ||
      (char === '\r' && text[end] === '\n') ||
      ((char === '\u200C' || char === '\u200D') &&
        JOINS_AFTER.test(text.slice(Math.max(0, index - 2), index)) &&
        JOINS_BEFORE.test(text.slice(end, end + 2))) ||
      inFlags.has(index);
    if (!legit) found.push({ index, char });
  }
  return found;
}

/** Terminal colour codes (SGR, `ESC[32m`): what a log line's colours are written in. */
// eslint-disable-next-line no-control-regex -- the escape is what is matched
const COLOURS = /\u001b\[[0-9;]*m/g;

/**
 * A log line or step message without its colour codes (`ESC[32mdeployed ESC[0m`
 * reads `deployed`); any other escape stays, and is marked.
 */
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
