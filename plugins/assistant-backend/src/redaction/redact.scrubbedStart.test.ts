import { scrubText, scrubbedStart } from './redact';

describe('scrubbedStart', () => {
  it('shows the start of a long text, scrubbed, and counts the rest', () => {
    const text = `pull https://robot:Pa55word@registry.example/${'x'.repeat(
      5_000_000,
    )}`;
    const shown = scrubbedStart(text, 100);
    expect(shown).not.toContain('Pa55word');
    expect(shown).toMatch(
      /^pull https:\/\/robot:\*\*\*@registry\.example\/x+… \(\d+ more characters\)$/,
    );
    expect(shown).toContain(`(${text.length - 100} more characters)`);
  });

  it('hides a secret that starts in what is shown and ends after it', () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(
      3000,
    )}\n-----END RSA PRIVATE KEY-----`;
    // As a log line quotes one: the whole block is hidden, as in the whole text.
    const text = `loaded\n${key}\nand more`;
    const shown = scrubbedStart(text, 200);
    expect(shown).not.toContain('AAAA');
    expect(shown).toBe(scrubText(text).slice(0, 200));
  });

  it('shows a short text whole', () => {
    expect(scrubbedStart('Back-off pulling image "nginx:1.27"', 100)).toBe(
      'Back-off pulling image "nginx:1.27"',
    );
  });
});
