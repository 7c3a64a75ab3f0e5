import { ReactNode } from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { TestApiProvider } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  entityRunsSignalChannel,
  RunsPage,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { listedRun, makeRun, mockKubechartApi } from '../testUtils/fixtures';
import { FakeSignalApi } from '../testUtils/fakeSignalApi';
import { useDeploymentRuns } from './useDeploymentRuns';

const ENTITY = 'component:default/web';

/**
 * The deployment history reloads only on signals (no polling): a signal that arrives while a reload
 * is under way is read by one more reload after it, or the history would show a run that ended as
 * running for good (the reload under way read it before its end was written).
 */
describe('useDeploymentRuns', () => {
  it('reads again after a signal that came while a reload was under way', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const running: RunsPage = {
      items: [listedRun(makeRun({ id: 'r1', status: 'running' }))],
    };
    const succeeded: RunsPage = {
      items: [listedRun(makeRun({ id: 'r1', status: 'succeeded' }))],
    };
    let answerReload: (p: RunsPage) => void = () => {};
    api.listRuns
      .mockResolvedValueOnce(running) // first load
      .mockImplementationOnce(
        // the reload of the first signal: read before the run's end was written
        () => new Promise<RunsPage>(r => (answerReload = r)),
      )
      .mockResolvedValue(succeeded); // any later read sees the end
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
    const hook = renderHook(
      () => useDeploymentRuns({ entityRef: ENTITY, filters: {} }),
      { wrapper },
    );
    await waitFor(() =>
      expect(hook.result.current.value?.items[0].status).toBe('running'),
    );
    await waitFor(() =>
      expect(signals.subscriberCount(entityRunsSignalChannel(ENTITY))).toBe(1),
    );
    // The run moved on (e.g. running -> applying): reload 2 starts.
    act(() =>
      signals.publish(entityRunsSignalChannel(ENTITY), { type: 'refetch' }),
    );
    await waitFor(() => expect(api.listRuns).toHaveBeenCalledTimes(2));
    // The run ended while reload 2 is under way: its signal arrives now.
    act(() =>
      signals.publish(entityRunsSignalChannel(ENTITY), { type: 'refetch' }),
    );
    // Reload 2 answers with what it read before the end.
    await act(async () => answerReload(running));
    // The history must end up telling the truth: the run succeeded.
    await waitFor(
      () =>
        expect(hook.result.current.value?.items[0].status).toBe('succeeded'),
      { timeout: 3000 },
    );
  });

  it('reads once more after several signals during one reload', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const page = (status: 'running' | 'succeeded'): RunsPage => ({
      items: [listedRun(makeRun({ id: 'r1', status }))],
    });
    let answerReload: (p: RunsPage) => void = () => {};
    api.listRuns
      .mockResolvedValueOnce(page('running'))
      .mockImplementationOnce(
        () => new Promise<RunsPage>(r => (answerReload = r)),
      )
      .mockResolvedValue(page('succeeded'));
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
    const hook = renderHook(
      () => useDeploymentRuns({ entityRef: ENTITY, filters: {} }),
      { wrapper },
    );
    await waitFor(() =>
      expect(hook.result.current.value?.items[0].status).toBe('running'),
    );
    await waitFor(() =>
      expect(signals.subscriberCount(entityRunsSignalChannel(ENTITY))).toBe(1),
    );
    act(() =>
      signals.publish(entityRunsSignalChannel(ENTITY), { type: 'refetch' }),
    );
    await waitFor(() => expect(api.listRuns).toHaveBeenCalledTimes(2));
    for (let i = 0; i < 3; i++)
      act(() =>
        signals.publish(entityRunsSignalChannel(ENTITY), { type: 'refetch' }),
      );
    await act(async () => answerReload(page('running')));
    await waitFor(() =>
      expect(hook.result.current.value?.items[0].status).toBe('succeeded'),
    );
    // The signals that came during the reload are read by one more, not one each.
    await new Promise(r => setTimeout(r, 100));
    expect(api.listRuns).toHaveBeenCalledTimes(3);
    // The rows stayed on screen while it read.
    expect(hook.result.current.error).toBeUndefined();
  });
});
