import { redactText } from './redactText';
import { nameLookaheadSteps } from './secretPairs';

/** The characters the look-ahead for a `name:` after each `value:` reads while `text` is redacted. */
const lookaheadOf = (text: string) => {
  const before = nameLookaheadSteps();
  redactText(text);
  return nameLookaheadSteps() - before;
};

describe('the look-ahead for the name of a value', () => {
  // Each text of about `n` characters, dense in `value:` keys the look-ahead does not stop at.
  const hostile: Array<[string, (n: number) => string]> = [
    ['written line breaks', n => 'value:\\n'.repeat(n / 8)],
    ['opened lists', n => 'value:['.repeat(n / 7)],
    ['opened mappings', n => 'value: {'.repeat(n / 8)],
    ['quoted keys', n => '"value":"x\\nvalue"'.repeat(n / 18)],
  ];

  it.each(hostile)(
    'reads each character a few times at most, however many values it holds (%s)',
    (_, textOf) => {
      const text = textOf(200_000);
      // Before, each `value:` read up to 512 characters on: 64 times the text.
      expect(lookaheadOf(text)).toBeLessThanOrEqual(4 * text.length + 4096);
    },
  );

  it('still finds the name after a value in ordinary text', () => {
    expect(redactText('- value: hunter22\n  name: DB_PASSWORD')).toBe(
      '- value: [REDACTED]\n  name: DB_PASSWORD',
    );
    expect(
      redactText(
        '{"value":"hunter22","name":"API_TOKEN"} {"value":"x","name":"PORT"}',
      ),
    ).toBe(
      '{"value":"[REDACTED]","name":"API_TOKEN"} {"value":"x","name":"PORT"}',
    );
  });

  it('hides the values it no longer looks past once a text has taken its share of looking', () => {
    const filler = 'value:\\n'.repeat(50_000);
    const text = `${filler}\n- value: hunter22\n  note: the name is not looked for\n`;
    const shown = redactText(text);
    expect(shown.slice(shown.lastIndexOf('\n- value:'))).toBe(
      '\n- value: [REDACTED]\n  note: the name is not looked for\n',
    );
  });
});
