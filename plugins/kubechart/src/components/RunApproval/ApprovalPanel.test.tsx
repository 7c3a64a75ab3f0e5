import {
  act,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { ResponseError } from '@backstage/errors';
import type { Run, RunDiff } from '@kubechart/plugin-kubechart-common';
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
  approval: makeApproval(),
});

function render(
  api: ReturnType<typeof mockKubechartApi>,
  diff: Partial<RunDiff> = {},
) {
  api.listRuns.mockResolvedValue({ items: [] });
  api.getRunEvents.mockResolvedValue([]);
  api.getRunDiff.mockResolvedValue({
    from: 'run-1',
    to: 'run-2',
    values: [
      '--- values@run-1',
      '+++ values@run-2',
      '@@ -1,1 +1,1 @@',
      '-replicas: 2',
      '+replicas: 4',
      '',
    ].join('\n'),
    manifest: '',
    ...diff,
  });
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunDetail runId="run-2" />
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
}

async function responseError(status: number, message: string) {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: {
          name: status === 403 ? 'NotAllowedError' : 'ConflictError',
          message,
        },
        response: { statusCode: status },
      }),
      { status, headers: { 'Content-Type': 'application/json' } },
    ),
  );
}

function dialog() {
  return screen.getByRole('dialog');
}

describe('ApprovalPanel (in the run detail)', () => {
  it('shows what awaits approval: rule, progress, approvers, requester, times, decisions and the plan diff', async () => {
    const api = mockKubechartApi();
    const previous = makeRun({
      id: 'run-1',
      input: {
        ...awaiting.input,
        release: { name: 'web', chart: 'nginx', values: { replicas: 2 } },
      },
    });
    api.getRun.mockImplementation(async id =>
      id === 'run-1'
        ? previous
        : {
            ...awaiting,
            input: {
              ...awaiting.input,
              release: {
                name: 'web',
                chart: 'nginx',
                version: '1.2.0',
                values: { replicas: 4 },
              },
            },
          },
    );
    render(api);
    const panel = await screen.findByTestId('kubechart-run-approval');
    expect(screen.getByTestId('kubechart-run-header')).toHaveTextContent(
      'awaiting approval',
    );
    expect(panel).toHaveTextContent('awaiting decisions · 1 of 2 approvals');
    expect(panel).toHaveTextContent('Ruleproduction');
    expect(panel).toHaveTextContent('Requested byalice');
    expect(panel).toHaveTextContent(
      'Who may approvegroup:default/platform-team',
    );
    expect(panel).toHaveTextContent(/Requested2026-01-0\d .* ago\)/);
    expect(panel).toHaveTextContent(/Expires2099-01-02 .*\(in \d+d \d+h\)/);
    expect(panel).toHaveTextContent('Plansha256:ab12ab12ab12…');
    const decisions = within(panel).getByTestId('kubechart-approval-decisions');
    const [row] = within(decisions).getAllByRole('row').slice(1);
    expect(row).toHaveTextContent('carol');
    expect(row).toHaveTextContent('approved');
    expect(row).toHaveTextContent('replicas match the load test');

    // The plan is diffed against the run the request was made after.
    await waitFor(() =>
      expect(api.getRunDiff).toHaveBeenCalledWith('run-1', 'run-2'),
    );
    const diff = screen.getByTestId('kubechart-approval-plan-diff');
    expect(diff).toHaveTextContent('Previous run: run-1');
    expect(await within(diff).findByText('+replicas: 4')).toHaveAttribute(
      'data-diff',
      '+',
    );
    // The input fields that changed, which a values diff alone would not show (the chart version).
    const inputRows = within(
      within(diff).getByTestId('kubechart-approval-input-changes'),
    ).getAllByRole('row');
    expect(inputRows.slice(1).map(r => r.textContent)).toEqual([
      'release.values.replicas24',
      'release.version–"1.2.0"',
    ]);
    expect(
      within(panel).getByRole('button', { name: 'Approve' }),
    ).toBeEnabled();
    expect(within(panel).getByRole('button', { name: 'Reject' })).toBeEnabled();

    // What the run will apply is labelled as not applied yet.
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/will apply once approved \(nothing is applied yet\)/),
    ).toBeInTheDocument();
  });

  it('says so when there is no previous run to diff against', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      approval: makeApproval({ previousRunId: undefined }),
    });
    render(api);
    expect(
      await screen.findByText(/no earlier run on this target/),
    ).toBeInTheDocument();
    expect(api.getRunDiff).not.toHaveBeenCalled();
    expect(api.getRun).toHaveBeenCalledTimes(1);
  });

  it('warns when the backend did not compute the plan diff, rather than saying nothing differs', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(awaiting);
    render(api, {
      manifest:
        '# diff not shown: manifest@run-1 and manifest@run-2 differ in more than 2000 lines (or took over 2000 ms)\n',
      notComputed: {
        manifest:
          'the texts differ in more than 2000 lines, or diffing them took over 2000 ms',
      },
    });
    const diff = await screen.findByTestId('kubechart-approval-plan-diff');
    expect(
      await within(diff).findByText(
        'The diff was not computed: the texts differ in more than 2000 lines, or diffing them took over 2000 ms.',
      ),
    ).toBeInTheDocument();
    expect(within(diff).queryByText('No differences.')).toBeNull();
  });

  it('requires a comment of at most 2000 characters before approving', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(awaiting);
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Approve' }),
    );
    expect(dialog()).toHaveTextContent('Approve run run-2?');
    expect(dialog()).toHaveTextContent(`sha256:${'ab12'.repeat(16)}`);
    const submit = within(dialog()).getByRole('button', { name: 'Approve' });
    expect(submit).toBeDisabled();

    const comment = within(dialog()).getByRole('textbox', { name: /Comment/ });
    await userEvent.type(comment, '   ');
    expect(submit).toBeDisabled();
    fireEvent.change(comment, { target: { value: 'x'.repeat(2001) } });
    expect(submit).toBeDisabled();
    expect(dialog()).toHaveTextContent('At most 2000 characters (2001 now)');
    fireEvent.change(comment, { target: { value: 'x'.repeat(2000) } });
    expect(submit).toBeEnabled();
    expect(dialog()).toHaveTextContent('2000 / 2000 characters');

    await userEvent.click(
      within(dialog()).getByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.approveRun).not.toHaveBeenCalled();
  });

  it('approves with the comment, then shows the run as it is now', async () => {
    const api = mockKubechartApi();
    const decided: Run = {
      ...awaiting,
      status: 'pending',
      approval: makeApproval({
        state: 'executed',
        decisions: [
          ...makeApproval().decisions,
          {
            by: 'user:default/dave',
            decision: 'approve',
            comment: 'ship it',
            at: '2026-01-02T10:20:00Z',
          },
        ],
        viewer: { mayDecide: false, reason: 'already decided' },
      }),
    };
    api.getRun.mockResolvedValueOnce(awaiting).mockResolvedValue(decided);
    api.approveRun.mockResolvedValue(decided);
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Approve' }),
    );
    await userEvent.type(
      within(dialog()).getByRole('textbox', { name: /Comment/ }),
      '  ship it ',
    );
    await userEvent.click(
      within(dialog()).getByRole('button', { name: 'Approve' }),
    );

    expect(api.approveRun).toHaveBeenCalledWith('run-2', 'ship it');
    expect(api.rejectRun).not.toHaveBeenCalled();
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const panel = screen.getByTestId('kubechart-run-approval');
    await waitFor(() =>
      expect(panel).toHaveTextContent(
        'approved and started · 2 of 2 approvals',
      ),
    );
    const rows = within(
      within(panel).getByTestId('kubechart-approval-decisions'),
    ).getAllByRole('row');
    expect(rows[2]).toHaveTextContent('dave');
    expect(rows[2]).toHaveTextContent('ship it');
    expect(within(panel).queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(screen.getByTestId('kubechart-run-header')).toHaveTextContent(
      'pending',
    );
  });

  it('disables both decisions for the requester, with the reason', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      approval: makeApproval({
        viewer: {
          mayDecide: false,
          reason: 'you requested this run; another approver must decide.',
        },
      }),
    });
    render(api);
    const approve = await screen.findByRole('button', { name: 'Approve' });
    expect(approve).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Reject' })).toBeDisabled();
    expect(
      screen.getByTestId('kubechart-approval-cannot-decide'),
    ).toHaveTextContent(
      /^You cannot decide on this run: you requested this run; another approver must decide\.$/,
    );
  });

  it('keeps the decisions disabled when the server does not say the user may decide', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      approval: makeApproval({ viewer: undefined }),
    });
    render(api);
    expect(
      await screen.findByRole('button', { name: 'Approve' }),
    ).toBeDisabled();
    expect(
      screen.getByTestId('kubechart-approval-cannot-decide'),
    ).toHaveTextContent('the server did not say whether you may decide');
  });

  it("shows the server's refusal in the dialog", async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(awaiting);
    api.rejectRun.mockRejectedValue(
      await responseError(
        403,
        'only members of group:default/platform-team may approve',
      ),
    );
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Reject' }),
    );
    expect(dialog()).toHaveTextContent('Reject run run-2?');
    await userEvent.type(
      within(dialog()).getByRole('textbox', { name: /Comment/ }),
      'not scanned',
    );
    await userEvent.click(
      within(dialog()).getByRole('button', { name: 'Reject' }),
    );
    expect(api.rejectRun).toHaveBeenCalledWith('run-2', 'not scanned');
    expect(await within(dialog()).findByRole('alert')).toHaveTextContent(
      'Not allowed: only members of group:default/platform-team may approve',
    );
    // The comment stays for another try.
    expect(
      within(dialog()).getByRole('textbox', { name: /Comment/ }),
    ).toHaveValue('not scanned');
  });

  it('says when the run no longer awaits approval, and refreshes it', async () => {
    const api = mockKubechartApi();
    const expired: Run = {
      ...awaiting,
      status: 'failed',
      failureReason: 'approval expired',
      approval: makeApproval({ state: 'expired' }),
    };
    api.getRun.mockResolvedValueOnce(awaiting).mockResolvedValue(expired);
    api.approveRun.mockRejectedValue(
      await responseError(409, 'run run-2 is failed, not awaiting approval'),
    );
    render(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Approve' }),
    );
    await userEvent.type(
      within(dialog()).getByRole('textbox', { name: /Comment/ }),
      'ok',
    );
    await userEvent.click(
      within(dialog()).getByRole('button', { name: 'Approve' }),
    );
    expect(await within(dialog()).findByRole('alert')).toHaveTextContent(
      'The run no longer awaits approval: run run-2 is failed, not awaiting approval',
    );
    await waitFor(() =>
      expect(screen.getByTestId('kubechart-run-approval')).toHaveTextContent(
        'expired · 1 of 2 approvals',
      ),
    );
    await act(async () => {
      await userEvent.click(
        within(dialog()).getByRole('button', { name: 'Cancel' }),
      );
    });
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('shows a rejected run with its reason and the rejecting comment', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      status: 'failed',
      failureReason: 'rejected by user:default/dave: the image is not scanned',
      approval: makeApproval({
        state: 'rejected',
        decisions: [
          {
            by: 'user:default/dave',
            decision: 'reject',
            comment: 'the image is not scanned',
            at: '2026-01-02T10:30:00Z',
          },
        ],
        viewer: { mayDecide: false, reason: 'already decided' },
      }),
    });
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent(
      'rejected by user:default/dave: the image is not scanned',
    );
    const panel = screen.getByTestId('kubechart-run-approval');
    expect(panel).toHaveTextContent('rejected · 0 of 2 approvals');
    // A decided request no longer counts down to its expiry.
    expect(panel).toHaveTextContent(/Expires2099-01-02 \d\d:\d\d:\d\dPlan/);
    expect(panel).toHaveTextContent('Requested byalice');
    const [row] = within(
      within(panel).getByTestId('kubechart-approval-decisions'),
    )
      .getAllByRole('row')
      .slice(1);
    expect(row).toHaveTextContent('dave');
    expect(row).toHaveTextContent('rejected');
    expect(row).toHaveTextContent('the image is not scanned');
    expect(within(panel).queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(screen.queryByTestId('kubechart-approval-cannot-decide')).toBeNull();
  });

  it('says an approved run its install-time check refused applied nothing, with the reason', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      status: 'failed',
      failureReason:
        'Release web was not installed: the chart rendered differently at install than in the approved plan (ConfigMap web-cfg differs); nothing was applied.',
      applied: [],
      approval: makeApproval({
        state: 'refused',
        required: 1,
        viewer: { mayDecide: false, reason: 'already decided' },
      }),
    });
    render(api);
    const panel = await screen.findByTestId('kubechart-run-approval');
    expect(panel).toHaveTextContent(
      'approved, then refused at install: nothing was applied · 1 of 1 approvals',
    );
    expect(screen.getByTestId('kubechart-run-failure')).toHaveTextContent(
      'the chart rendered differently at install than in the approved plan',
    );
    expect(within(panel).queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('tells that an approved run waits for its requester to submit the input again', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...awaiting,
      status: 'approved',
      approval: makeApproval({
        state: 'approved',
        resubmit: true,
        required: 1,
      }),
    });
    render(api);
    const panel = await screen.findByTestId('kubechart-run-approval');
    expect(panel).toHaveTextContent('approved · 1 of 1 approvals');
    expect(panel).toHaveTextContent(
      'The run starts when the requester submits its input again',
    );
    expect(within(panel).queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('shows no approval panel on a run of an unprotected target', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(makeRun({ id: 'run-2' }));
    render(api);
    await screen.findByTestId('kubechart-run-header');
    expect(screen.queryByTestId('kubechart-run-approval')).toBeNull();
  });
});
