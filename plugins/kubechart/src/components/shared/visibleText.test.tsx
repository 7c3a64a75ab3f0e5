import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  VisibleCode,
  VisibleText,
  countHidden,
  withMarkers,
  withoutColours,
} from './visibleText';
import { HIDING_TEXT, LEGIT_TEXT } from './hiddenCharacters.cases';

describe('visible text', () => {
  it.each(LEGIT_TEXT)('marks nothing in %s', (_, text) => {
    expect(countHidden(text)).toBe(0);
    expect(withMarkers(text)).toBe(text);
  });

  it.each(HIDING_TEXT)('marks %s', (_, text, code) => {
    expect(countHidden(text)).toBeGreaterThan(0);
    expect(withMarkers(text)).toContain(`⟨U+${code.padStart(4, '0')}⟩`);
  });

  it('marks each character as the code point it is', () => {
    expect(withMarkers('a\u200D\u200Db\r\u{E0067}')).toBe(
      'a⟨U+200D⟩⟨U+200D⟩b⟨U+000D⟩⟨U+E0067⟩',
    );
    expect(countHidden('a\u200D\u200Db\r\u{E0067}', 'x\u202E')).toBe(5);
  });

  it('shows a joined emoji, Persian and Windows line endings as they are', async () => {
    const text =
      'team: 👨\u200D👩\u200D👧 🏳\uFE0F\u200D🌈\r\nnote: می\u200Cخواهم\r\n';
    await renderInTestApp(
      <pre data-testid="shown">
        <VisibleText text={text} />
      </pre>,
    );
    expect(screen.getByTestId('shown').textContent).toBe(text);
    expect(document.querySelector('[data-hidden-character]')).toBeNull();
  });

  it('marks a terminal escape in a manifest', async () => {
    await renderInTestApp(
      <VisibleCode text={'data:\n  a: "\u001b[32mok"\n'}>
        <span>highlighted</span>
      </VisibleCode>,
    );
    expect(screen.queryByText('highlighted')).toBeNull();
    expect(screen.getByText('⟨U+001B⟩')).toBeInTheDocument();
  });

  it('keeps the highlighted code view for a manifest with only characters text needs', async () => {
    await renderInTestApp(
      <VisibleCode text={'a: 1\r\nteam: 👨\u200D👩\u200D👧\r\n'}>
        <span>highlighted</span>
      </VisibleCode>,
    );
    expect(screen.getByText('highlighted')).toBeInTheDocument();
    expect(screen.queryByText(/invisible or direction-changing/)).toBeNull();
  });

  it('drops the colour codes of a log line, and keeps other escapes', () => {
    expect(
      withoutColours('\u001b[32mdeployed\u001b[0m \u001b[1;31mX\u001b[m'),
    ).toBe('deployed X');
    expect(withoutColours('\u001b[2Jcleared')).toBe('\u001b[2Jcleared');
  });
});
