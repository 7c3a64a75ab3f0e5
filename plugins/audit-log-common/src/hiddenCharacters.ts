/**
 * Characters a browser does not show as they are: format characters (bidi
 * controls U+202A–U+202E and U+2066–U+2069, the marks U+200E and U+200F,
 * zero-width U+200B, U+2060, the BOM U+FEFF, tag characters), line and
 * paragraph separators, control characters other than the tab and line
 * break, and the Hangul fillers U+3164 and U+FFA0 (letters that show as
 * blank). A bidi control reorders the text after it and a zero-width one
 * hides in it, so a line would read differently from what it holds.
 *
 * The one copy of these rules: the KubeChart, audit log and assistant
 * frontends mark such characters where they show text, and backends refuse
 * them where a name is shown beside another (a tenant's display name, the
 * command the assistant runs). `@kubechart/plugin-kubechart-common` and
 * `@kubechart/plugin-assistant-common` export it too.
 */
// U+3164 HANGUL FILLER and U+FFA0 (its halfwidth form) are letters that show as nothing outside
// old-Hangul jamo sequences, where text uses the conjoining fillers U+115F/U+1160 instead.
const CANDIDATE = /[\p{Cf}\p{Zl}\p{Zp}\u3164\uFFA0]|(?![\t\n])\p{Cc}/gu;

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
 * @public
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

/**
 * How a character is named where it is shown in its place: `U+202E` (at least four hex digits).
 * @public
 */
export function codePointName(char: string): string {
  const code = char.codePointAt(0)!.toString(16).toUpperCase();
  return `U+${code.padStart(4, '0')}`;
}

/**
 * `text` in pieces, in order: runs shown as they are, and each hidden character (see
 * {@link hiddenCharacters}) with the name it is shown by (`U+202E`). What the frontends render as
 * text and markers.
 * @public
 */
export function visiblePieces(
  text: string,
): Array<
  { text: string; hidden?: undefined } | { text: string; hidden: string }
> {
  const pieces: Array<
    { text: string; hidden?: undefined } | { text: string; hidden: string }
  > = [];
  let last = 0;
  for (const { index, char } of hiddenCharacters(text)) {
    if (index > last) pieces.push({ text: text.slice(last, index) });
    pieces.push({ text: char, hidden: codePointName(char) });
    last = index + char.length;
  }
  if (last < text.length || !pieces.length)
    pieces.push({ text: text.slice(last) });
  return pieces;
}

/**
 * `text` with each hidden character written as its marker (`⟨U+202E⟩`), for where only a string
 * goes.
 * @public
 */
export function withMarkers(text: string): string {
  return visiblePieces(text)
    .map(p => (p.hidden ? `⟨${p.hidden}⟩` : p.text))
    .join('');
}

/** How many hidden characters the texts hold. @public */
export function countHiddenCharacters(
  ...texts: ReadonlyArray<string | undefined>
): number {
  return texts.reduce(
    (n, text) => n + (text ? hiddenCharacters(text).length : 0),
    0,
  );
}

/** Terminal colour codes (SGR, `ESC[32m`): what a log line's colours are written in. */
// eslint-disable-next-line no-control-regex -- the escape is what is matched
const COLOURS = /\u001b\[[0-9;]*m/g;

/**
 * A log line or message without its terminal colour codes (`ESC[32mdeployed ESC[0m` reads
 * `deployed`); any other escape stays (and is a hidden character).
 * @public
 */
export function withoutColours(text: string): string {
  return text.replace(COLOURS, '');
}
