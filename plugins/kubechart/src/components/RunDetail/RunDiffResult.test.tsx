import { screen } from '@testing-library/react';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import type { RunDiff } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import { mockKubechartApi } from '../../testUtils/fixtures';
import { RunDiffResult } from './RunDiffResult';

/** Headers of a diff between equal texts, as the backend writes them: no hunk. */
const NO_HUNKS = [
  '===================================================================',
  '--- values@run-1',
  '+++ values@run-2',
  '',
].join('\n');

const GIVEN_UP =
  '# diff not shown: manifest@run-1 and manifest@run-2 differ in more than 2000 lines (or took over 2000 ms)\n';

async function render(diff: RunDiff) {
  const api = mockKubechartApi();
  api.getRunDiff.mockResolvedValue(diff);
  await renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunDiffResult runId="run-2" otherId="run-1" />
    </TestApiProvider>,
  );
  await screen.findByText('Values diff');
}

describe('RunDiffResult', () => {
  it('says "No differences." only of a diff with no changed lines', async () => {
    await render({
      from: 'run-1',
      to: 'run-2',
      values: NO_HUNKS,
      manifest: '',
    });
    expect(screen.getAllByText('No differences.')).toHaveLength(2);
  });

  it('warns that a diff the backend gave up on was not computed, and why', async () => {
    await render({
      from: 'run-1',
      to: 'run-2',
      values: NO_HUNKS,
      manifest: GIVEN_UP,
      notComputed: {
        manifest:
          'the texts differ in more than 2000 lines, or diffing them took over 2000 ms',
      },
    });
    expect(
      screen.getByText(
        'The diff was not computed: the texts differ in more than 2000 lines, or diffing them took over 2000 ms.',
      ),
    ).toBeInTheDocument();
    // The values did not change; the manifests' difference is not known.
    expect(screen.getAllByText('No differences.')).toHaveLength(1);
  });

  it('does not call a diff without changed lines "No differences." when its text says something else', async () => {
    // An older backend, which says it gave up in the text only.
    await render({
      from: 'run-1',
      to: 'run-2',
      values: NO_HUNKS,
      manifest: GIVEN_UP,
    });
    expect(
      screen.getByText(
        'No changed lines could be read from this diff. The backend answered: # diff not shown: manifest@run-1 and manifest@run-2 differ in more than 2000 lines (or took over 2000 ms)',
      ),
    ).toBeInTheDocument();
    expect(screen.getAllByText('No differences.')).toHaveLength(1);
  });
});
