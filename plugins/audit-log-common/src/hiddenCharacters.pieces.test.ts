import {
  codePointName,
  countHiddenCharacters,
  visiblePieces,
  withMarkers,
  withoutColours,
} from './hiddenCharacters';

describe('showing hidden characters', () => {
  it('names a character by its code point, four hex digits at least', () => {
    expect(codePointName('\u202e')).toBe('U+202E');
    expect(codePointName('\u0007')).toBe('U+0007');
    expect(codePointName('\u{e0067}')).toBe('U+E0067');
  });

  it('splits text into what is shown and each hidden character, in order', () => {
    expect(visiblePieces('image \u202enot allowed\u200b')).toEqual([
      { text: 'image ' },
      { text: '\u202e', hidden: 'U+202E' },
      { text: 'not allowed' },
      { text: '\u200b', hidden: 'U+200B' },
    ]);
    expect(visiblePieces('plain')).toEqual([{ text: 'plain' }]);
    expect(visiblePieces('')).toEqual([{ text: '' }]);
  });

  it('writes markers where only a string goes, and counts what is hidden', () => {
    expect(withMarkers('true\u200b')).toBe('true⟨U+200B⟩');
    expect(withMarkers('fam 👨\u200d👩')).toBe('fam 👨\u200d👩');
    expect(countHiddenCharacters('a\u202eb', undefined, 'c\u2066d\u2069')).toBe(
      3,
    );
  });

  it('takes terminal colour codes out of a log line and leaves other escapes', () => {
    expect(withoutColours('\u001b[32mdeployed\u001b[0m')).toBe('deployed');
    expect(withoutColours('\u001b]0;title\u0007x')).toBe(
      '\u001b]0;title\u0007x',
    );
  });
});
