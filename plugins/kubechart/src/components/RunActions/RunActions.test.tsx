import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { ResponseError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { kubechartApiRef } from '../../api';
import { makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { RunActions } from './RunActions';

async function renderActions(
  run = makeRun(),
  authorize: () => AuthorizeResult.ALLOW | AuthorizeResult.DENY = () =>
    AuthorizeResult.ALLOW,
) {
  const api = mockKubechartApi();
  api.createRun.mockResolvedValue({ id: 'run-2', status: 'pending' });
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
  it('rolls back to the run revision after confirmation', async () => {
    const { api, onStarted } = await renderActions();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back to this revision' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent(
      'Helm release web in namespace shop on cluster dev will be rolled back to revision 3.',
    );
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
      entityRef: 'component:default/shop',
    });
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
