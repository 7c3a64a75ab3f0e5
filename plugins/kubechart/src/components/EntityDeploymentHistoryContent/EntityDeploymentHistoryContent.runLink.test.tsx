import { waitFor } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { kubechartApiRef } from '../../api';
import {
  makeEntity,
  makeRun,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { EntityDeploymentHistoryContent } from './EntityDeploymentHistoryContent';

describe('EntityDeploymentHistoryContent opened from a task link', () => {
  it('opens the run named by ?run= (the link a template task shows)', async () => {
    const api = mockKubechartApi();
    const run = makeRun({ id: 'run-42' });
    api.listRuns.mockResolvedValue({ items: [run] });
    api.getRun.mockResolvedValue(run);
    api.getRunEvents.mockResolvedValue([]);
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <EntityProvider entity={makeEntity({ 'kubechart.io/cluster': 'dev' })}>
          <EntityDeploymentHistoryContent />
        </EntityProvider>
      </TestApiProvider>,
      {
        apis: [mockApis.permission(), mockApis.alert()],
        initialRouteEntries: ['/deployment-history?run=run-42'],
      },
    );
    await waitFor(() => expect(api.getRun).toHaveBeenCalledWith('run-42'));
  });
});
