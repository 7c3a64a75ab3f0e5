import { act, screen } from '@testing-library/react';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { kubechartApiRef } from '../../api';
import { mockKubechartApi } from '../../testUtils/fixtures';
import { ClusterHealthCard } from './ClusterHealthCard';

describe('ClusterHealthCard with a hanging backend', () => {
  afterEach(() => jest.useRealTimers());

  it('ends in an error instead of spinning forever', async () => {
    jest.useFakeTimers();
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'slow', url: 'https://slow', status: 'unknown' },
    ]);
    api.getClusterHealth.mockReturnValue(new Promise(() => {}));
    renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <ClusterHealthCard />
      </TestApiProvider>,
    );
    await act(async () => {
      await jest.advanceTimersByTimeAsync(16_000);
    });
    expect(screen.getByTestId('kubechart-cluster-slow')).toHaveTextContent(
      'Cluster slow did not answer within 15 s',
    );
  });
});
