import { useEffect } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  KUBECHART_RUNS_CHANNEL,
  RunSignal,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';

/**
 * Open approval requests the user may decide on, and the user's own (`GET /approvals`). Reloads when a run starts waiting for
 * approval, or a listed run changes (decided elsewhere, expired), as signalled on `kubechart:runs`.
 */
export function useApprovals() {
  const api = useApi(kubechartApiRef);
  const { lastSignal } = useSignal<RunSignal>(KUBECHART_RUNS_CHANNEL);
  const state = useAsyncRetry(() => api.listApprovals(), [api]);

  const { retry, value } = state;
  useEffect(() => {
    if (
      lastSignal &&
      (lastSignal.status === 'awaiting-approval' ||
        value?.items.some(run => run.id === lastSignal.runId))
    ) {
      retry();
    }
    // Only a new signal should trigger a reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  return state;
}
