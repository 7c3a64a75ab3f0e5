import { screen, within } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { kubechartApiRef } from '../../api';
import {
  makeApproval,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { RunDetail } from '../RunDetail';

/**
 * The approval panel's "input changes" table shows what a requester put in the run's input with
 * each hidden character as a marker, as the values and diffs do: a U+202E shown as it is reorders
 * the rest of the cell, and the approver reads another value than the one that will be applied.
 */
describe('approval input changes and hidden characters', () => {
  it('marks a bidi control in a changed input value shown to the approver', async () => {
    const api = mockKubechartApi();
    const previous = makeRun({
      id: 'run-1',
      input: {
        kind: 'chart',
        cluster: 'prod',
        namespace: 'shop-production',
        release: {
          name: 'web',
          chart: 'nginx',
          values: { image: 'registry.corp.example/shop/web' },
        },
      },
    });
    // Reads as "registry.corp.example/shop/web" once reordered by the browser.
    const spoofed = 'evil.example/x\u202Ebew/pohs/elpmaxe.proc.yrtsiger';
    const awaiting = makeRun({
      id: 'run-2',
      status: 'awaiting-approval',
      helmRevision: undefined,
      startedAt: undefined,
      finishedAt: undefined,
      durationMs: undefined,
      target: { cluster: 'prod', namespace: 'shop-production', release: 'web' },
      approval: makeApproval(),
      input: {
        kind: 'chart',
        cluster: 'prod',
        namespace: 'shop-production',
        release: { name: 'web', chart: 'nginx', values: { image: spoofed } },
      },
    });
    api.getRun.mockImplementation(async id =>
      id === 'run-1' ? previous : awaiting,
    );
    api.listRuns.mockResolvedValue({ items: [] });
    api.getRunEvents.mockResolvedValue([]);
    api.getRunDiff.mockResolvedValue({
      from: 'run-1',
      to: 'run-2',
      values: '',
      manifest: '',
    });
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <RunDetail runId="run-2" />
      </TestApiProvider>,
      { apis: [mockApis.permission(), mockApis.alert()] },
    );
    const table = await screen.findByTestId('kubechart-approval-input-changes');
    const row = within(table).getByText('release.values.image').closest('tr')!;
    // What the approver must see: the character as a marker, never the character itself.
    expect(row.textContent).not.toContain('\u202E');
    expect(row.textContent).toContain('⟨U+202E⟩');
    expect(
      await screen.findAllByTestId('kubechart-hidden-characters'),
    ).not.toHaveLength(0);
  });
});
