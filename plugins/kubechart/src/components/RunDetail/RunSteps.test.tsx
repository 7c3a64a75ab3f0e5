import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { makeEvent } from '../../testUtils/fixtures';
import { RunSteps } from './RunSteps';

describe('RunSteps', () => {
  it('shows a coloured log line and step message without the colour codes, nor a warning', async () => {
    await renderInTestApp(
      <RunSteps
        runStatus="succeeded"
        events={[
          makeEvent(1, {
            type: 'step',
            step: 'helm',
            stepStatus: 'succeeded',
            message: '\u001b[32mdeployed\u001b[0m',
          }),
          makeEvent(2, {
            message: 'release \u001b[1;32mweb\u001b[0m deployed',
          }),
        ]}
      />,
    );
    expect(screen.getByTestId('kubechart-run-steps').textContent).toContain(
      'helm' + 'deployed',
    );
    const log = screen.getByTestId('kubechart-run-log');
    expect(log.textContent).toContain('release web deployed');
    expect(log.textContent).not.toContain('\u001b');
    expect(document.querySelector('[data-hidden-character]')).toBeNull();
    expect(screen.queryByText(/invisible or direction-changing/)).toBeNull();
  });

  it('still marks an escape that is not a colour, and other hidden characters', async () => {
    await renderInTestApp(
      <RunSteps
        runStatus="succeeded"
        events={[
          makeEvent(1, { message: '\u001b[2Jcleared \u001b[32mok\u001b[0m' }),
          makeEvent(2, { message: 'family 👨\u200D👩\u200D👧 \u202Eok' }),
        ]}
      />,
    );
    const log = screen.getByTestId('kubechart-run-log');
    expect(log.textContent).toContain('⟨U+001B⟩[2Jcleared ok');
    expect(log.textContent).toContain('family 👨\u200D👩\u200D👧 ⟨U+202E⟩ok');
    expect(
      screen.getByText(
        'This text holds 2 invisible or direction-changing characters, shown as ⟨U+…⟩.',
      ),
    ).toBeInTheDocument();
  });
});
