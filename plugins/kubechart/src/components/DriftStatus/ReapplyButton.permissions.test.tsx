import { act, screen, waitFor } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { kubechartApiRef } from '../../api';
import { makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { ReapplyButton } from './ReapplyButton';

// In a file of its own: usePermission caches answers per permission for the whole module.
describe('ReapplyButton permissions', () => {
  it('needs kubechart.runs.rollback for a release and kubechart.runs.create for manifests', async () => {
    const authorize = jest.fn((request: { permission: { name: string } }) =>
      request.permission.name === 'kubechart.runs.create'
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    );
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, mockKubechartApi()]]}>
        <div data-testid="chart">
          <ReapplyButton
            run={makeRun({ id: 'c1', kind: 'chart' })}
            onStarted={jest.fn()}
          />
        </div>
        <div data-testid="manifests">
          <ReapplyButton
            run={makeRun({
              id: 'm1',
              kind: 'manifests',
              target: { cluster: 'dev', namespace: 'shop' },
            })}
            onStarted={jest.fn()}
          />
        </div>
      </TestApiProvider>,
      {
        apis: [
          mockApis.permission({ authorize: authorize as any }),
          mockApis.alert(),
        ],
      },
    );
    await waitFor(() => expect(authorize).toHaveBeenCalledTimes(2));
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.getAllByRole('button', { name: 'Re-apply last run' }),
    ).toHaveLength(1);
    expect(screen.getByTestId('manifests')).toContainElement(
      screen.getByRole('button', { name: 'Re-apply last run' }),
    );
  });
});
