import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { ResponseError } from '@backstage/errors';
import { kubechartApiRef } from '../../api';
import type { Run } from '@kubechart/plugin-kubechart-common';
import {
  listedRun,
  makeEntity,
  makeEvent,
  makeRun,
  mockKubechartApi,
  refusingReport,
} from '../../testUtils/fixtures';
import { EntityDeploymentHistoryContent } from './EntityDeploymentHistoryContent';

const entity = makeEntity({ 'kubechart.io/cluster': 'dev' });

function render(api: ReturnType<typeof mockKubechartApi>) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <EntityProvider entity={entity}>
        <EntityDeploymentHistoryContent />
      </EntityProvider>
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
}

async function chooseOption(label: string, option: string) {
  await userEvent.click(screen.getByLabelText(label));
  await userEvent.click(
    within(await screen.findByRole('listbox')).getByRole('option', {
      name: option,
    }),
  );
}

describe('EntityDeploymentHistoryContent', () => {
  it('shows a progress bar while loading', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockReturnValue(new Promise(() => {}));
    render(api);
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('shows the error when the runs cannot be read', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockRejectedValue(new Error('backend exploded'));
    render(api);
    expect(
      await screen.findByText('Error: backend exploded', { selector: 'h6' }),
    ).toBeInTheDocument();
  });

  it('says the user may not see the history of an entity whose runs they may not read, not that it has none', async () => {
    const api = mockKubechartApi();
    const reason =
      'You may not read the runs of component:default/shop: kubechart.runs.read is granted to you for some entities only, and not for this one';
    // What the backend answers (NotAllowedError through Backstage's error handler).
    api.listRuns.mockRejectedValue(
      await ResponseError.fromResponse(
        new Response(
          JSON.stringify({
            error: { name: 'NotAllowedError', message: reason },
            request: { method: 'GET', url: '/api/kubechart/runs' },
            response: { statusCode: 403 },
          }),
          {
            status: 403,
            statusText: 'Forbidden',
            headers: { 'Content-Type': 'application/json' },
          },
        ),
      ),
    );
    render(api);
    const panel = await screen.findByRole('alert');
    expect(panel).toHaveTextContent(
      "You may not see this entity's deployment history",
    );
    expect(panel).toHaveTextContent(reason);
    expect(screen.queryByText('No deployments yet')).toBeNull();
    expect(screen.queryByText('Open the templates')).toBeNull();
    // Nothing there reads as a failure to retry.
    expect(panel).not.toHaveTextContent('Error');
  });

  it('points to the templates when there is no history', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockResolvedValue({ items: [] });
    render(api);
    expect(await screen.findByText('No deployments yet')).toBeInTheDocument();
    expect(screen.getByText('Open the templates').closest('a')).toHaveAttribute(
      'href',
      '/create',
    );
  });

  it('lists the runs of the entity newest first', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockResolvedValue({
      items: [
        makeRun({
          id: 'old',
          createdAt: '2026-01-01T00:00:00Z',
          helmRevision: 1,
        }),
        makeRun({
          id: 'new',
          status: 'failed',
          kind: 'tenant',
          createdAt: '2026-01-03T00:00:00Z',
          helmRevision: 2,
          actor: 'user:default/bob',
          durationMs: 125_000,
        }),
      ],
    });
    render(api);
    const rows = await screen.findAllByRole('row');
    // header row first, then newest run first
    expect(rows[1]).toHaveTextContent('failed');
    expect(rows[1]).toHaveTextContent('tenant');
    expect(rows[1]).toHaveTextContent('dev / shop / web');
    expect(rows[1]).toHaveTextContent('bob');
    expect(rows[1]).toHaveTextContent('2m 5s');
    expect(rows[2]).toHaveTextContent('succeeded');
    expect(api.listRuns).toHaveBeenCalledWith(
      expect.objectContaining({
        entityRef: 'component:default/shop',
        cursor: undefined,
      }),
    );
  });

  it('filters by status and kind on the server and resets the page', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockResolvedValue({ items: [makeRun()], nextCursor: 'page2' });
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Next page' }),
    );
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ cursor: 'page2' }),
      ),
    );

    await chooseOption('Status', 'failed');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ status: 'failed', cursor: undefined }),
      ),
    );
    await chooseOption('Kind', 'rollback');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ status: 'failed', kind: 'rollback' }),
      ),
    );
  });

  it('shows and filters runs awaiting approval by readable status', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockImplementation(async query => ({
      items: [
        makeRun({
          id: 'gated',
          status: query.status ?? 'awaiting-approval',
          createdAt: '2026-01-03T00:00:00Z',
        }),
      ],
    }));
    render(api);
    const rows = await screen.findAllByRole('row');
    expect(rows[1]).toHaveTextContent('awaiting approval');
    expect(rows[1]).not.toHaveTextContent('awaiting-approval');

    await chooseOption('Status', 'awaiting approval');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ status: 'awaiting-approval' }),
      ),
    );
    await chooseOption('Status', 'approved');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ status: 'approved' }),
      ),
    );
  });

  it('filters by actor and time range', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockResolvedValue({ items: [makeRun()] });
    render(api);
    await userEvent.type(await screen.findByLabelText('Actor'), 'alice');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({ actor: 'alice' }),
      ),
    );
    await chooseOption('Time range', 'Last 24 hours');
    await waitFor(() => {
      const query = api.listRuns.mock.calls.at(-1)![0];
      const from = new Date(query.from!).getTime();
      expect(Math.abs(Date.now() - 24 * 3600_000 - from)).toBeLessThan(60_000);
    });
  });

  it('filters by a custom time range', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockResolvedValue({ items: [makeRun()] });
    render(api);
    await screen.findByText('dev / shop / web');
    await chooseOption('Time range', 'Custom range');
    await userEvent.type(screen.getByLabelText('From'), '2026-01-01T08:00');
    await userEvent.type(screen.getByLabelText('To'), '2026-01-02T20:30');
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenLastCalledWith(
        expect.objectContaining({
          from: new Date('2026-01-01T08:00').toISOString(),
          to: new Date('2026-01-02T20:30').toISOString(),
        }),
      ),
    );
  });

  it('says so when no run matches the filters', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockImplementation(async query => ({
      items: query.status ? [] : [makeRun()],
    }));
    render(api);
    await screen.findByText('dev / shop / web');
    await chooseOption('Status', 'pending');
    expect(
      await screen.findByText('No runs match these filters.'),
    ).toBeInTheDocument();
  });

  it('opens the detail of a run with its log and failure reason', async () => {
    const api = mockKubechartApi();
    const run = makeRun({
      status: 'failed',
      failureReason: 'helm upgrade failed: timed out waiting for condition',
    });
    api.listRuns.mockResolvedValue({ items: [run] });
    api.getRun.mockResolvedValue(run);
    api.getRunEvents.mockResolvedValue([
      makeEvent(1, {
        type: 'step',
        step: 'namespace',
        stepStatus: 'succeeded',
        message: 'created',
      }),
      makeEvent(2, {
        level: 'error',
        step: 'release:web',
        message: 'Error: timed out',
      }),
    ]);
    render(api);
    await userEvent.click(await screen.findByText('dev / shop / web'));
    expect(await screen.findByText('Run run-1')).toBeInTheDocument();
    expect(
      screen.getByText('helm upgrade failed: timed out waiting for condition'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('kubechart-run-timeline')).toHaveTextContent(
      '[release:web] Error: timed out',
    );
    expect(api.getRun).toHaveBeenCalledWith('run-1');
  });

  it('reads a listed run whole before showing its values, manifest and policy report', async () => {
    const api = mockKubechartApi();
    const report = refusingReport(
      'web',
      'image nginx:latest uses the latest tag',
      'pin the image tag',
    );
    const refused = makeRun({
      status: 'failed',
      failureReason: 'Refused by the chart policy',
      values: { image: { tag: 'latest' } },
      manifest: 'kind: Deployment\nmetadata:\n  name: web\n',
      policyReport: report,
    });
    const older = makeRun({ id: 'run-0', createdAt: '2026-01-01T10:00:00Z' });
    // The page of history carries neither values, manifest nor report: the detail must read the run.
    api.listRuns.mockResolvedValue({
      items: [listedRun(refused), listedRun(older)],
    });
    let resolveRun: (run: Run) => void = () => {};
    api.getRun.mockReturnValue(new Promise<Run>(r => (resolveRun = r)));
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    await userEvent.click((await screen.findAllByText('dev / shop / web'))[0]);
    // Until the run is read: a progress bar, not the listed item's missing values.
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
    expect(
      screen.queryByTestId('kubechart-run-detail'),
    ).not.toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith('run-1');

    resolveRun(refused);
    const detail = await screen.findByTestId('kubechart-run-detail');
    await userEvent.click(within(detail).getByRole('tab', { name: 'Values' }));
    await waitFor(() =>
      expect(
        screen.getByLabelText('Values (secrets redacted)'),
      ).toHaveTextContent('"tag": "latest"'),
    );
    expect(detail).not.toHaveTextContent('This run recorded no values.');
    await userEvent.click(
      within(detail).getByRole('tab', { name: 'Manifest' }),
    );
    await waitFor(() =>
      expect(screen.getByLabelText('Manifest')).toHaveTextContent(
        'kind: Deployment',
      ),
    );
    expect(detail).not.toHaveTextContent('This run recorded no manifest.');
    await userEvent.click(within(detail).getByRole('tab', { name: 'Policy' }));
    expect(
      await within(detail).findByText('image nginx:latest uses the latest tag'),
    ).toBeInTheDocument();
  });
});
