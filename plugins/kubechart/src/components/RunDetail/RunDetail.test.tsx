import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import { makeEvent, makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { RunDetail } from './RunDetail';

const current = makeRun({ id: 'run-2', helmRevision: 4 });
const previous = makeRun({
  id: 'run-1',
  helmRevision: 3,
  createdAt: '2026-01-01T09:00:00Z',
});

const VALUES_PATCH = [
  'Index: values',
  '===================================================================',
  '--- values@run-1',
  '+++ values@run-2',
  '@@ -1,2 +1,2 @@',
  '-replicas: 2',
  '+replicas: 3',
  ' image: nginx',
  '',
].join('\n');

function render(api: ReturnType<typeof mockKubechartApi>) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunDetail runId="run-2" candidates={[current, previous]} />
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
}

describe('RunDetail', () => {
  it('shows the error when the run cannot be read', async () => {
    const api = mockKubechartApi();
    api.getRun.mockRejectedValue(new Error('Run run-2 not found'));
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    expect(
      await screen.findByText('Error: Run run-2 not found', { selector: 'h6' }),
    ).toBeInTheDocument();
  });

  it('shows redacted values, the manifest and the steps', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    api.getRunEvents.mockResolvedValue([
      makeEvent(2, { message: 'second' }),
      makeEvent(1, { message: 'first' }),
    ]);
    render(api);
    expect(await screen.findByText('Run run-2')).toBeInTheDocument();
    // The code view splits text into highlighted tokens; compare the rendered text.
    const values = screen.getByText('Values (secrets redacted)').parentElement!;
    await waitFor(() =>
      expect(values.textContent).toContain('"password": "***"'),
    );
    const manifest = screen.getByText('Manifest').parentElement!;
    await waitFor(() =>
      expect(manifest.textContent).toContain('kind: Service'),
    );
    const timeline = screen.getByTestId('kubechart-run-timeline');
    expect(timeline.textContent!.indexOf('first')).toBeLessThan(
      timeline.textContent!.indexOf('second'),
    );
  });

  it('renders the policy report with failed rules first', async () => {
    const report: PolicyReport = {
      mode: 'enforce',
      passed: false,
      blocking: true,
      summary: { objects: 2, errors: 1, warnings: 0, infos: 0 },
      results: [
        {
          ruleId: 'resources-limits',
          severity: 'error',
          passed: true,
          object: { kind: 'Deployment', name: 'web', namespace: 'shop' },
          message: 'limits set',
          fix: '',
        },
        {
          ruleId: 'no-privileged',
          severity: 'error',
          passed: false,
          object: { kind: 'Deployment', name: 'api', namespace: 'shop' },
          message: 'container api runs privileged',
          fix: 'set securityContext.privileged: false',
        },
      ],
    };
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      policyReport: report,
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    expect(await screen.findByText('Policy report')).toBeInTheDocument();
    const rows = screen
      .getAllByRole('row')
      .filter(r => within(r).queryByText(/Deployment\/shop/));
    expect(rows[0]).toHaveTextContent('no-privileged');
    expect(rows[0]).toHaveTextContent('set securityContext.privileged: false');
    expect(rows[1]).toHaveTextContent('resources-limits');
  });

  it('diffs against another run chosen from the list', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    api.getRunEvents.mockResolvedValue([]);
    api.getRunDiff.mockResolvedValue({
      from: 'run-1',
      to: 'run-2',
      values: VALUES_PATCH,
      manifest: '',
    });
    render(api);
    await screen.findByText('Run run-2');
    expect(api.getRunDiff).not.toHaveBeenCalled();

    await userEvent.click(screen.getByLabelText('Compare with'));
    const options = within(await screen.findByRole('listbox')).getAllByRole(
      'option',
    );
    // The run itself is not offered.
    expect(options).toHaveLength(1);
    await userEvent.click(options[0]);

    await waitFor(() =>
      expect(api.getRunDiff).toHaveBeenCalledWith('run-1', 'run-2'),
    );
    const removed = await screen.findByText('-replicas: 2');
    expect(removed).toHaveAttribute('data-diff', '-');
    expect(screen.getByText('+replicas: 3')).toHaveAttribute('data-diff', '+');
    expect(screen.getByText(/image: nginx/)).toHaveAttribute('data-diff', ' ');
    expect(screen.getByText('No differences.')).toBeInTheDocument();
  });
});
