import {
  codePointName,
  countHiddenCharacters,
  hiddenCharacters,
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

describe('Hangul fillers', () => {
  it('counts the fillers that show as blank as hidden, not Hangul text', () => {
    // U+3164 HANGUL FILLER and its halfwidth form are letters (Lo) that show nothing: a name
    // made of them looks empty, one beside a word looks like that word
    expect(hiddenCharacters('admin\u3164').map(h => h.char)).toEqual([
      '\u3164',
    ]);
    expect(hiddenCharacters('\uffa0').map(h => h.char)).toEqual(['\uffa0']);
    expect(hiddenCharacters('한국어 이름')).toEqual([]);
  });
});
