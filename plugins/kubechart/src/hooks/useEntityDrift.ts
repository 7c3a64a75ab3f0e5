import { useEffect } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  entityDriftSignalChannel,
  RefetchSignal,
  Run,
  RunDrift,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { usePolling } from './usePolling';

/** The drift of one of an entity's latest runs, with that run when it drifted (for re-apply). */
export type EntityDriftItem = { drift: RunDrift; run?: Run };

/**
 * Drift of the entity's latest applied runs (one per target). Read again on each signal of
 * `kubechart:drift:<entityRef>` (which says only that it changed); refreshed every 2 minutes with
 * signals (the drift job's default pace), every minute without.
 */
export function useEntityDrift(entityRef: string) {
  const api = useApi(kubechartApiRef);
  const { lastSignal, isSignalsAvailable } = useSignal<RefetchSignal>(
    entityDriftSignalChannel(entityRef),
  );
  const state = useAsyncRetry(async (): Promise<EntityDriftItem[]> => {
    const items = await api.listDrift({ entityRef });
    // The run of a drifted target decides which permission re-applying it needs.
    return Promise.all(
      items.map(async drift => ({
        drift,
        run:
          drift.status === 'drifted'
            ? await api.getRun(drift.runId).catch(() => undefined)
            : undefined,
      })),
    );
  }, [api, entityRef]);

  const { retry } = state;
  useEffect(() => {
    if (lastSignal) {
      retry();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);
  usePolling(retry, isSignalsAvailable ? 120_000 : 60_000, true);
  return state;
}
