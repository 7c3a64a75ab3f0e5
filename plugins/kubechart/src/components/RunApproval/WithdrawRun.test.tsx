import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import type { Run } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import {
  makeApproval,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { RunDetail } from '../RunDetail';

const awaiting = makeRun({
  id: 'run-2',
  status: 'awaiting-approval',
  helmRevision: undefined,
  startedAt: undefined,
  finishedAt: undefined,
  durationMs: undefined,
  target: { cluster: 'prod', namespace: 'shop-production', release: 'web' },
  approval: makeApproval({
    viewer: {
      mayDecide: false,
      reason: 'you requested this run; another approver must decide',
      mayWithdraw: true,
    },
  }),
});

function render(api: ReturnType<typeof mockKubechartApi>) {
  api.listRuns.mockResolvedValue({ items: [] });
  api.getRunEvents.mockResolvedValue([]);
  api.getRunDiff.mockResolvedValue({
    from: 'run-1',
    to: 'run-2',
    values: '',
    manifest: '',
  });
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunDetail runId="run-2" />
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
}

describe('withdrawing a run awaiting approval', () => {
  it('lets its requester withdraw it with an optional comment, then shows it withdrawn', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(awaiting);
    const withdrawn: Run = {
      ...awaiting,
      status: 'failed',
      failureReason:
        'Withdrawn by user:default/alice: wrong values; nothing was applied',
      approval: makeApproval({
        state: 'withdrawn',
        viewer: { mayDecide: false, reason: 'the approval is withdrawn' },
      }),
    };
    api.withdrawRun.mockResolvedValue(withdrawn);
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Withdraw' }),
    );
    const dialog = screen.getByRole('dialog');
    expect(dialog).toHaveTextContent('nothing is applied');
    api.getRun.mockResolvedValue(withdrawn);
    await userEvent.type(
      within(dialog).getByRole('textbox', { name: /Comment/ }),
      ' wrong values ',
    );
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Withdraw' }),
    );

    expect(api.withdrawRun).toHaveBeenCalledWith('run-2', 'wrong values');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const panel = screen.getByTestId('kubechart-run-approval');
    await waitFor(() =>
      expect(panel).toHaveTextContent(
        'withdrawn by the requester: nothing was applied',
      ),
    );
    expect(
      within(panel).queryByRole('button', { name: 'Withdraw' }),
    ).toBeNull();
  });

  it('withdraws without a comment too', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(awaiting);
    api.withdrawRun.mockResolvedValue(awaiting);
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Withdraw' }),
    );
    await userEvent.click(
      within(screen.getByRole('dialog')).getByRole('button', {
        name: 'Withdraw',
      }),
    );
    expect(api.withdrawRun).toHaveBeenCalledWith('run-2', undefined);
  });

  it('offers no Withdraw to anyone but the requester', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      approval: makeApproval({ viewer: { mayDecide: true } }),
    });
    render(api);
    expect(
      await screen.findByRole('button', { name: 'Approve' }),
    ).toBeEnabled();
    expect(screen.queryByRole('button', { name: 'Withdraw' })).toBeNull();
  });
});
