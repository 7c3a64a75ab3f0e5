/**
 * Text with characters that are not printed but belong to it, and text whose
 * characters would hide or reorder what it shows. The same table is in the
 * assistant-common package (`src/hiddenCharacters.cases.ts`): keep the
 * two in step.
 */
export const LEGIT_TEXT: ReadonlyArray<[string, string]> = [
  ['an emoji family joined by U+200D', 'family 👨\u200D👩\u200D👧'],
  ['the rainbow flag (U+FE0F, U+200D)', 'pride 🏳\uFE0F\u200D🌈'],
  ['a person with a skin tone at work', 'dev 👩🏽\u200D💻'],
  [
    "England's flag (tag characters closed by U+E007F)",
    'home \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
  ],
  ['Persian with U+200C', 'می\u200Cخواهم'],
  ['Devanagari with a virama and U+200D', 'क्\u200Dष'],
  ['a soft hyphen (U+00AD)', 'Ver\u00ADsicherung'],
  ['Windows line endings', 'a: 1\r\nb: 2\r\n'],
  ['tabs and line breaks', 'a\tb\nc'],
];

/** Each with the code point of the first character refused or marked. */
export const HIDING_TEXT: ReadonlyArray<[string, string, string]> = [
  ['a right-to-left override', 'ok\u202E hs', '202E'],
  ['a left-to-right embedding', '\u202Aok', '202A'],
  ['a pop directional formatting', 'ok\u202C', '202C'],
  ['a left-to-right isolate', '\u2066ok', '2066'],
  ['a pop directional isolate', 'ok\u2069', '2069'],
  ['a left-to-right mark', 'ok\u200E', '200E'],
  ['a right-to-left mark', 'ok\u200Fno', '200F'],
  ['a zero-width space', 'kube\u200Bctl', '200B'],
  ['a word joiner', 'kube\u2060ctl', '2060'],
  ['a byte order mark', '\uFEFFprod', 'FEFF'],
  ['a joiner at the start', '\u200Dabc', '200D'],
  ['a joiner at the end', 'abc\u200C', '200C'],
  ['two joiners in a row', 'a\u200D\u200Db', '200D'],
  ['a joiner next to punctuation', 'rm\u200D -rf', '200D'],
  ['a joiner after a digit', '1\u200D👩', '200D'],
  ['a carriage return not before a line break', 'a: 1\rb: 2', '000D'],
  ['a carriage return at the end', 'a: 1\r', '000D'],
  ['a terminal escape', 'ok\u001b[2Jdone', '001B'],
  ['a C1 control', 'ok\u0085', '0085'],
  ['a line separator', 'a\u2028b', '2028'],
  ['tag characters after a letter', 'ok\u{E0069}\u{E0067}\u{E007F}', 'E0069'],
  [
    'tag characters after an emoji other than the black flag',
    '😀\u{E0069}\u{E0067}\u{E007F}',
    'E0069',
  ],
  [
    'tag characters not closed by U+E007F',
    '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}',
    'E0067',
  ],
  [
    'capital and space tag characters (invisible text)',
    '\u{1F3F4}\u{E0049}\u{E0020}\u{E0061}\u{E007F}',
    'E0049',
  ],
];
