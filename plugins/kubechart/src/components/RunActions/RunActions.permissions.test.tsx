import { act, screen, waitFor } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
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
  await renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunActions run={run} onStarted={onStarted} />
    </TestApiProvider>,
    { apis: [mockApis.permission({ authorize }), mockApis.alert()] },
  );
  return { api, onStarted };
}

// In a file of its own: usePermission caches answers per permission for the whole module.
describe('RunActions without permissions', () => {
  it('offers nothing without the permissions', async () => {
    const authorize = jest.fn((): AuthorizeResult.DENY => AuthorizeResult.DENY);
    await renderActions(makeRun(), authorize);
    // Let the permission answers arrive before asserting absence.
    await waitFor(() => expect(authorize).toHaveBeenCalledTimes(2));
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.queryByRole('button', { name: 'Roll back to this revision' }),
    ).not.toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Retry' }),
    ).not.toBeInTheDocument();
  });
});
