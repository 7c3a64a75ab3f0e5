import { ReactNode } from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { TestApiProvider } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { KUBECHART_CLUSTER_HEALTH_CHANNEL } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { makeClusterHealth, mockKubechartApi } from '../testUtils/fixtures';
import { FakeSignalApi } from '../testUtils/fakeSignalApi';
import { useClusterHealth } from './useClusterHealth';

/**
 * `kubechart:cluster-health` is heard by every signed-in user, so it names no cluster and no status
 * (`{type: 'refetch'}`): the health is read again through the API, which checks who may read it.
 */
describe('useClusterHealth', () => {
  it("reads the named clusters' health again on a signal that names no cluster", async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    api.getClusterHealth
      .mockResolvedValueOnce(makeClusterHealth({ status: 'ok' }))
      .mockResolvedValue(makeClusterHealth({ status: 'degraded' }));
    const wrapper = ({ children }: { children: ReactNode }) => (
      <TestApiProvider
        apis={[
          [kubechartApiRef, api],
          [signalApiRef, signals],
        ]}
      >
        {children}
      </TestApiProvider>
    );
    const hook = renderHook(() => useClusterHealth(['dev']), { wrapper });
    await waitFor(() =>
      expect(hook.result.current.value?.[0].health?.status).toBe('ok'),
    );
    await waitFor(() =>
      expect(signals.subscriberCount(KUBECHART_CLUSTER_HEALTH_CHANNEL)).toBe(1),
    );
    act(() =>
      signals.publish(KUBECHART_CLUSTER_HEALTH_CHANNEL, { type: 'refetch' }),
    );
    await waitFor(() =>
      expect(hook.result.current.value?.[0].health?.status).toBe('degraded'),
    );
    expect(api.getClusterHealth).toHaveBeenCalledWith('dev');
    expect(api.listClusters).not.toHaveBeenCalled();
  });
});
