import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  KUBECHART_RUNS_CHANNEL,
  entityRunsSignalChannel,
  runSignalChannel,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import {
  makeEntity,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { FakeSignalApi } from '../../testUtils/fakeSignalApi';
import { EntityDeploymentHistoryContent } from './EntityDeploymentHistoryContent';

describe('EntityDeploymentHistoryContent live updates', () => {
  it('puts a rollback run at the top and follows it through signals', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const original = makeRun({ id: 'run-1' });
    const rollback = makeRun({
      id: 'run-2',
      kind: 'rollback',
      status: 'running',
      helmRevision: undefined,
      createdAt: '2026-01-05T00:00:00Z',
      finishedAt: undefined,
      durationMs: undefined,
    });
    // A later upgrade: revision 3 (run-1's) is no longer the release's current one, so it can be
    // rolled back to.
    const upgrade = makeRun({
      id: 'run-0',
      helmRevision: 4,
      createdAt: '2026-01-04T00:00:00Z',
    });
    let history = [upgrade, original];
    api.listRuns.mockImplementation(async () => ({ items: history }));
    api.getRun.mockImplementation(async id => history.find(r => r.id === id)!);
    api.getRunEvents.mockResolvedValue([]);
    api.createRun.mockImplementation(async () => {
      history = [rollback, upgrade, original];
      return { id: 'run-2', status: 'pending' };
    });

    renderInTestApp(
      <TestApiProvider
        apis={[
          [kubechartApiRef, api],
          [signalApiRef, signals],
        ]}
      >
        <EntityProvider entity={makeEntity({ 'kubechart.io/cluster': 'dev' })}>
          <EntityDeploymentHistoryContent />
        </EntityProvider>
      </TestApiProvider>,
      { apis: [mockApis.permission(), mockApis.alert()] },
    );

    // Open the older run and roll back to its revision.
    await userEvent.click((await screen.findAllByText('dev / shop / web'))[1]);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back' }),
    );

    expect(await screen.findByText('Run run-2')).toBeInTheDocument();
    await waitFor(() => {
      const rows = screen.getAllByRole('row');
      expect(rows[1]).toHaveTextContent('rollback');
      expect(rows[1]).toHaveTextContent('running');
    });

    // The run finishes: the backend publishes on the runs', the entity's and the run's channels.
    history = [
      { ...rollback, status: 'succeeded', helmRevision: 5 },
      upgrade,
      original,
    ];
    const listCalls = api.listRuns.mock.calls.length;
    await waitFor(() =>
      expect(signals.subscriberCount(runSignalChannel('run-2'))).toBe(1),
    );
    act(() => {
      const message = {
        type: 'run-updated',
        runId: 'run-2',
        status: 'succeeded',
      };
      // The common channel and the entity's own say only that runs changed.
      signals.publish(entityRunsSignalChannel('component:default/shop'), {
        type: 'refetch',
      });
      signals.publish(KUBECHART_RUNS_CHANNEL, { type: 'refetch' });
      signals.publish(runSignalChannel('run-2'), message);
    });
    await waitFor(() =>
      expect(api.listRuns.mock.calls.length).toBeGreaterThan(listCalls),
    );
    await waitFor(() => {
      const rows = screen.getAllByRole('row');
      expect(rows[1]).toHaveTextContent('succeeded');
      expect(rows[1]).toHaveTextContent('5');
    });
  });

  it('ignores run signals of other entities', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    api.listRuns.mockResolvedValue({ items: [makeRun()] });
    renderInTestApp(
      <TestApiProvider
        apis={[
          [kubechartApiRef, api],
          [signalApiRef, signals],
        ]}
      >
        <EntityProvider entity={makeEntity({ 'kubechart.io/cluster': 'dev' })}>
          <EntityDeploymentHistoryContent />
        </EntityProvider>
      </TestApiProvider>,
      { apis: [mockApis.permission(), mockApis.alert()] },
    );
    await screen.findByText('dev / shop / web');
    // The page listens on its entity's channel only: every run's channel names no entity.
    await waitFor(() =>
      expect(
        signals.subscriberCount(
          entityRunsSignalChannel('component:default/shop'),
        ),
      ).toBe(1),
    );
    expect(signals.subscriberCount(KUBECHART_RUNS_CHANNEL)).toBe(0);
    const calls = api.listRuns.mock.calls.length;
    act(() =>
      signals.publish(entityRunsSignalChannel('component:default/other'), {
        type: 'refetch',
      }),
    );
    await act(() => new Promise(resolve => setTimeout(resolve, 100)));
    expect(api.listRuns.mock.calls.length).toBe(calls);
  });
});
