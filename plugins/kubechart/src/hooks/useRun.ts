import { useEffect } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  RunSignal,
  runSignalChannel,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { usePolling } from './usePolling';

/**
 * A run with its events (steps and log lines). Live: reloads on the run's signal channel, or
 * every 5 s while the run is in progress when signals are not available.
 */
export function useRun(runId: string) {
  const api = useApi(kubechartApiRef);
  const { lastSignal, isSignalsAvailable } = useSignal<RunSignal>(
    runSignalChannel(runId),
  );

  const state = useAsyncRetry(async () => {
    const [run, events] = await Promise.all([
      api.getRun(runId),
      api.getRunEvents(runId),
    ]);
    return { run, events: [...events].sort((a, b) => a.seq - b.seq) };
  }, [api, runId]);

  const { retry, value } = state;
  useEffect(() => {
    if (lastSignal) {
      retry();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  const inProgress =
    value?.run.status === 'pending' || value?.run.status === 'running';
  usePolling(retry, 5000, inProgress && !isSignalsAvailable);

  return state;
}
