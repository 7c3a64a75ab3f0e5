import { ReactNode } from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { TestApiProvider } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { runSignalChannel } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { makeEvent, makeRun, mockKubechartApi } from '../testUtils/fixtures';
import { FakeSignalApi } from '../testUtils/fakeSignalApi';
import { APPROVAL_POLL_MS, RUN_POLL_MS, useRun } from './useRun';

function setup(
  status: 'running' | 'succeeded' | 'awaiting-approval' | 'approved',
) {
  const api = mockKubechartApi();
  const signals = new FakeSignalApi();
  api.getRun.mockResolvedValue(makeRun({ status }));
  api.getRunEvents
    .mockResolvedValueOnce([makeEvent(2), makeEvent(1)])
    // An overlapping answer: seq 2 again, plus a new line.
    .mockResolvedValue([makeEvent(2), makeEvent(3)]);
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
  const hook = renderHook(() => useRun('run-1'), { wrapper });
  return { api, signals, hook };
}

describe('useRun', () => {
  afterEach(() => jest.useRealTimers());

  it('loads the run and fetches only new events on its signal', async () => {
    const { api, signals, hook } = setup('succeeded');
    await waitFor(() =>
      expect(hook.result.current.value?.events.map(e => e.seq)).toEqual([1, 2]),
    );
    expect(api.getRunEvents).toHaveBeenLastCalledWith('run-1', undefined);

    await waitFor(() =>
      expect(signals.subscriberCount(runSignalChannel('run-1'))).toBe(1),
    );
    act(() =>
      signals.publish(runSignalChannel('run-1'), {
        type: 'run-updated',
        runId: 'run-1',
        status: 'succeeded',
        kind: 'chart',
      }),
    );
    await waitFor(() =>
      expect(hook.result.current.value?.events.map(e => e.seq)).toEqual([
        1, 2, 3,
      ]),
    );
    expect(api.getRunEvents).toHaveBeenLastCalledWith('run-1', 2);
  });

  it('keeps refreshing a run in progress', async () => {
    jest.useFakeTimers();
    const { api, hook } = setup('running');
    await act(async () => {
      await jest.advanceTimersByTimeAsync(0);
    });
    expect(hook.result.current.value?.run.status).toBe('running');
    const calls = api.getRun.mock.calls.length;
    // One act per interval: React runs the reload effects when each act ends.
    for (let i = 0; i < 2; i++) {
      await act(async () => {
        await jest.advanceTimersByTimeAsync(RUN_POLL_MS);
      });
    }
    expect(api.getRun.mock.calls.length).toBe(calls + 2);
  });

  it('stops refreshing a finished run', async () => {
    jest.useFakeTimers();
    const { api, hook } = setup('succeeded');
    await act(async () => {
      await jest.advanceTimersByTimeAsync(0);
    });
    expect(hook.result.current.value?.run.status).toBe('succeeded');
    const calls = api.getRun.mock.calls.length;
    for (let i = 0; i < 3; i++) {
      await act(async () => {
        await jest.advanceTimersByTimeAsync(RUN_POLL_MS);
      });
    }
    expect(api.getRun.mock.calls.length).toBe(calls);
  });

  it.each(['awaiting-approval', 'approved'] as const)(
    'keeps following a run that is %s, at the slower approval pace',
    async status => {
      jest.useFakeTimers();
      const { api, hook } = setup(status);
      await act(async () => {
        await jest.advanceTimersByTimeAsync(0);
      });
      expect(hook.result.current.value?.run.status).toBe(status);
      const calls = api.getRun.mock.calls.length;
      await act(async () => {
        await jest.advanceTimersByTimeAsync(APPROVAL_POLL_MS - 1);
      });
      expect(api.getRun.mock.calls.length).toBe(calls);
      for (let i = 0; i < 2; i++) {
        await act(async () => {
          await jest.advanceTimersByTimeAsync(i === 0 ? 1 : APPROVAL_POLL_MS);
        });
      }
      expect(api.getRun.mock.calls.length).toBe(calls + 2);
    },
  );
});
