import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { ResponseError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { kubechartApiRef } from '../../api';
import {
  makeApproval,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { RunActions } from './RunActions';

// A later upgrade of the same release: revision 3 (makeRun's) is no longer the current one.
const upgrade = makeRun({
  id: 'run-5',
  helmRevision: 4,
  createdAt: '2026-01-03T10:00:00Z',
});

async function renderActions(
  run = makeRun(),
  authorize: () => AuthorizeResult.ALLOW | AuthorizeResult.DENY = () =>
    AuthorizeResult.ALLOW,
  history = [upgrade, makeRun()],
) {
  const api = mockKubechartApi();
  api.createRun.mockResolvedValue({ id: 'run-2', status: 'pending' });
  api.listRuns.mockResolvedValue({ items: history });
  const onStarted = jest.fn();
  const alertApi = mockApis.alert();
  await renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunActions run={run} onStarted={onStarted} />
    </TestApiProvider>,
    { apis: [mockApis.permission({ authorize }), alertApi] },
  );
  return { api, onStarted, alertApi };
}

describe('RunActions', () => {
  it('rolls back to the revision this run installed, naming the run, after confirmation', async () => {
    const { api, onStarted } = await renderActions();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent(
      'Helm release web in namespace shop on cluster dev will be rolled back to revision 3.',
    );
    expect(dialog).not.toHaveTextContent('cannot check');
    expect(api.createRun).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'Roll back' }));
    await waitFor(() => expect(onStarted).toHaveBeenCalledWith('run-2'));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.createRun).toHaveBeenCalledTimes(1);
    expect(api.createRun).toHaveBeenCalledWith({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'shop',
      release: 'web',
      revision: 3,
      // Bound to the record this run installed: revision numbers restart after an uninstall.
      fromRunId: 'run-1',
      entityRef: 'component:default/shop',
    });
  });

  it('rolls a run that recorded no release record back by number, saying the revision cannot be checked', async () => {
    // A run from before the backend recorded what each run installed.
    const { api, onStarted } = await renderActions(
      makeRun({ rollbackBound: false }),
    );
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent(
      'Helm release web in namespace shop on cluster dev will be rolled back to revision 3.',
    );
    expect(dialog).toHaveTextContent(
      'Revision 3 is taken as the release holds it now: KubeChart cannot check that it is what this run installed (revision numbers restart after an uninstall).',
    );

    await userEvent.click(screen.getByRole('button', { name: 'Roll back' }));
    await waitFor(() => expect(onStarted).toHaveBeenCalledWith('run-2'));
    expect(api.createRun).toHaveBeenCalledTimes(1);
    expect(api.createRun).toHaveBeenCalledWith({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'shop',
      release: 'web',
      revision: 3,
      entityRef: 'component:default/shop',
    });
    expect(api.createRun.mock.calls[0][0]).not.toHaveProperty('fromRunId');
  });

  it('offers no rollback on the revision the release is at', async () => {
    const { api } = await renderActions(makeRun(), undefined, [
      makeRun(),
      makeRun({
        id: 'run-0',
        helmRevision: 2,
        createdAt: '2025-12-01T00:00:00Z',
      }),
    ]);
    await waitFor(() =>
      expect(api.listRuns).toHaveBeenCalledWith(
        expect.objectContaining({
          entityRef: 'component:default/shop',
          status: 'succeeded',
        }),
      ),
    );
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.queryByRole('button', { name: 'Roll back to this revision' }),
    ).not.toBeInTheDocument();
  });

  it('offers no rollback while the history cannot tell the current revision', async () => {
    const api = mockKubechartApi();
    api.listRuns.mockRejectedValue(new Error('backend down'));
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <RunActions run={makeRun()} onStarted={jest.fn()} />
      </TestApiProvider>,
      { apis: [mockApis.permission(), mockApis.alert()] },
    );
    await waitFor(() => expect(api.listRuns).toHaveBeenCalled());
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.queryByRole('button', { name: 'Roll back to this revision' }),
    ).not.toBeInTheDocument();
  });

  it('offers no retry on a run the policy refused', async () => {
    const run = makeRun({
      status: 'failed',
      helmRevision: undefined,
      policyReport: {
        mode: 'enforce',
        passed: false,
        blocking: true,
        summary: { objects: 1, errors: 1, warnings: 0, infos: 0 },
        results: [],
      },
    });
    await renderActions(run);
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.queryByRole('button', { name: 'Retry' }),
    ).not.toBeInTheDocument();
  });

  it('starts nothing when the dialog is cancelled', async () => {
    const { api, onStarted } = await renderActions();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    await userEvent.click(
      await screen.findByRole('button', { name: 'Cancel' }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.createRun).not.toHaveBeenCalled();
    expect(onStarted).not.toHaveBeenCalled();
  });

  it('retries a failed run with the same input', async () => {
    const run = makeRun({
      status: 'failed',
      helmRevision: undefined,
      template: 'template:default/install-chart',
    });
    const { api } = await renderActions(run);
    expect(
      screen.queryByRole('button', { name: 'Roll back to this revision' }),
    ).not.toBeInTheDocument();
    await userEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('dialog')).toHaveTextContent(
      'A new chart run with the same input will be started against namespace shop on cluster dev.',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await waitFor(() => expect(api.createRun).toHaveBeenCalledTimes(1));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.createRun).toHaveBeenCalledWith({
      ...run.input,
      kind: 'chart',
      entityRef: 'component:default/shop',
      template: 'template:default/install-chart',
    });
  });

  it('says that a retry of a run of a protected target waits for approval', async () => {
    const run = makeRun({
      status: 'failed',
      helmRevision: undefined,
      failureReason: 'approval expired',
      approval: makeApproval({ state: 'expired' }),
    });
    const { api, onStarted, alertApi } = await renderActions(run);
    api.createRun.mockResolvedValue({
      id: 'run-8',
      status: 'awaiting-approval',
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('dialog')).toHaveTextContent(
      'This target was protected when this run was requested: the new run waits for approval if it still is.',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await waitFor(() => expect(onStarted).toHaveBeenCalledWith('run-8'));
    expect(alertApi.getAlerts()).toEqual([
      expect.objectContaining({
        message:
          'Run run-8 was created and waits for approval before anything is applied',
        severity: 'success',
      }),
    ]);
  });

  it('refuses to retry a run whose recorded input has redacted secrets', async () => {
    const run = makeRun({
      status: 'failed',
      input: {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'shop',
        release: { name: 'web', chart: 'nginx', values: { password: '***' } },
      },
    });
    const { api } = await renderActions(run);
    await userEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('dialog')).toHaveTextContent(
      'run its template again instead',
    );
    expect(screen.getByRole('button', { name: 'Start run' })).toBeDisabled();
    expect(api.createRun).not.toHaveBeenCalled();
  });

  it('keeps the dialog open and says why when the backend refuses', async () => {
    const { api, onStarted, alertApi } = await renderActions();
    api.createRun.mockRejectedValue(
      await ResponseError.fromResponse(
        new Response(
          JSON.stringify({
            error: {
              name: 'ConflictError',
              message: 'Run run-9 holds dev/shop/web',
            },
            response: { statusCode: 409 },
          }),
          { status: 409, headers: { 'Content-Type': 'application/json' } },
        ),
      ),
    );
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back' }),
    );
    await waitFor(() =>
      expect(alertApi.getAlerts()).toEqual([
        expect.objectContaining({
          message: 'Run not started: Run run-9 holds dev/shop/web',
          severity: 'error',
        }),
      ]),
    );
    expect(screen.getByRole('dialog')).toBeInTheDocument();
    expect(onStarted).not.toHaveBeenCalled();
  });
});
