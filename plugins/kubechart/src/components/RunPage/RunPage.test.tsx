import { screen } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { kubechartApiRef } from '../../api';
import { makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { RunPage } from './RunPage';

function render(api: ReturnType<typeof mockKubechartApi>, path: string) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunPage />
    </TestApiProvider>,
    {
      apis: [mockApis.permission(), mockApis.alert()],
      initialRouteEntries: [path],
    },
  );
}

describe('RunPage', () => {
  it('shows the run named by ?run=, as the backend answers it', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(
      makeRun({ id: 'run-42', status: 'awaiting-approval' }),
    );
    api.getRunEvents.mockResolvedValue([]);
    render(api, '/kubechart/runs?run=run-42');
    expect(await screen.findByText('Run run-42')).toBeInTheDocument();
    expect(screen.getByText('awaiting approval')).toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith('run-42');
  });

  it('says how to open a run when none is given', async () => {
    const api = mockKubechartApi();
    render(api, '/kubechart/runs');
    expect(await screen.findByText(/No run given/)).toBeInTheDocument();
    expect(api.getRun).not.toHaveBeenCalled();
  });
});
