import { useEffect, useRef } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  ClusterHealth,
  KUBECHART_CLUSTER_HEALTH_CHANNEL,
  RefetchSignal,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { withTimeout } from '../lib/withTimeout';
import { usePolling } from './usePolling';

const TIMEOUT_MS = 15_000;

/**
 * Health of one cluster, or why it could not be read. `lastSeenAt` is when the cluster last
 * answered: until when the backend followed it (its `lastSeenAt`), else as observed while this view
 * was open; shown when it has become unreachable.
 */
export type ClusterHealthResult = { cluster: string; lastSeenAt?: string } & (
  | { health: ClusterHealth; error?: undefined }
  | { health?: undefined; error: Error }
);

/**
 * Health of the named clusters, or of every configured cluster when `clusters` is empty.
 * A cluster that cannot be read yields an `error` entry instead of failing the whole list.
 * Live through `kubechart:cluster-health` (which names no cluster: each signal reads the clusters
 * shown again); refreshed every 60 s with signals, 30 s without.
 */
export function useClusterHealth(clusters: string[]) {
  const api = useApi(kubechartApiRef);
  const { lastSignal, isSignalsAvailable } = useSignal<RefetchSignal>(
    KUBECHART_CLUSTER_HEALTH_CHANNEL,
  );
  const key = clusters.join(',');
  // The backend reports an unreachable cluster as of now, and until when it followed it when it
  // did; remember when each one last answered, for an older backend.
  const lastSeen = useRef(new Map<string, string>());

  const state = useAsyncRetry(async (): Promise<ClusterHealthResult[]> => {
    const names = clusters.length
      ? clusters
      : (
          await withTimeout(api.listClusters(), TIMEOUT_MS, 'The cluster list')
        ).map(c => c.name);
    const settled = await Promise.allSettled(
      names.map(name =>
        withTimeout(api.getClusterHealth(name), TIMEOUT_MS, `Cluster ${name}`),
      ),
    );
    return settled.map((result, i): ClusterHealthResult => {
      const cluster = names[i];
      if (result.status === 'fulfilled' && result.value.status !== 'error') {
        lastSeen.current.set(cluster, result.value.observedAt);
      }
      const lastSeenAt =
        (result.status === 'fulfilled' && result.value.lastSeenAt) ||
        lastSeen.current.get(cluster);
      return result.status === 'fulfilled'
        ? { cluster, lastSeenAt, health: result.value }
        : { cluster, lastSeenAt, error: toError(result.reason) };
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key]);

  const { retry } = state;
  useEffect(() => {
    if (lastSignal) {
      retry();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);
  // Signals bring changes; the slower refresh keeps "updated N s ago" honest.
  usePolling(retry, isSignalsAvailable ? 60_000 : 30_000, true);

  return state;
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
