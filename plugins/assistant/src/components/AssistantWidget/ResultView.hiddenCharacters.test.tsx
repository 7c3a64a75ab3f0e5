import { renderInTestApp } from '@backstage/test-utils';
import { screen } from '@testing-library/react';
import { ResultView } from './ResultView';

/**
 * what the assistant shows of a cluster (a pod's log, a table of events) is text the
 * workloads wrote. Its hidden characters (a direction override, a terminal escape) are made
 * visible, as the deployment-history log does, and not passed to the page as they are.
 */
describe('ResultView', () => {
  it('makes a direction override in a pod log visible', async () => {
    await renderInTestApp(
      <ResultView
        result={{
          type: 'text',
          // Reads "migration finished: 0 rows deleted" on screen.
          text: 'migration finished: \u202Edeteled swor 00021',
        }}
      />,
    );
    const log = screen.getByText(/migration finished/);
    expect(log.textContent).not.toContain('\u202E');
    expect(log.textContent).toMatch(/U\+202E/);
  });

  it('makes a zero-width space in a table cell visible', async () => {
    await renderInTestApp(
      <ResultView
        result={{
          type: 'table',
          columns: ['NAMESPACE', 'NAME', 'MESSAGE'],
          rows: [['tenant-shop', 'web-1', 'Back-off\u200B restarting']],
          totalRows: 1,
        }}
      />,
    );
    expect(screen.getByText(/Back-off/).textContent).toMatch(/U\+200B/);
  });
});

describe('ResultView hidden characters in a diagnosis', () => {
  it('marks evidence, strips colour codes, and says how many hidden characters there are', async () => {
    await renderInTestApp(
      <ResultView
        result={{
          type: 'diagnosis',
          healthy: false,
          answer: 'web-1 is crash-looping',
          evidence: ['\u001b[31mOOMKilled\u001b[0m \u001b[2J'],
          steps: ['get pods'],
        }}
      />,
    );
    expect(screen.getByText(/OOMKilled/).textContent).toBe(
      'OOMKilled ⟨U+001B⟩[2J',
    );
    expect(screen.getByRole('note').textContent).toContain(
      '1 invisible or direction-changing character',
    );
  });
});
