import { useEffect, useRef } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  entityRunsSignalChannel,
  RefetchSignal,
  RunKind,
  RunStatus,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';

/** Filters of the deployment-history table. */
export type RunFilters = {
  status?: RunStatus;
  kind?: RunKind;
  actor?: string;
  /** Look-back window in hours; undefined means all time (or a custom range). */
  rangeHours?: number;
  /** A custom range instead of the look-back window: local `YYYY-MM-DDTHH:mm` values. */
  custom?: { from?: string; to?: string };
};

/** A local `datetime-local` value as an ISO timestamp; undefined when empty or invalid. */
function toIso(local: string | undefined): string | undefined {
  if (!local) {
    return undefined;
  }
  const date = new Date(local);
  return isNaN(date.getTime()) ? undefined : date.toISOString();
}

function timeRange(filters: RunFilters): { from?: string; to?: string } {
  if (filters.custom) {
    return { from: toIso(filters.custom.from), to: toIso(filters.custom.to) };
  }
  if (filters.rangeHours) {
    return {
      from: new Date(Date.now() - filters.rangeHours * 3600_000).toISOString(),
    };
  }
  return {};
}

/**
 * One page of an entity's runs, newest first. Reloads when a run of the entity changes (a signal on
 * `kubechart:runs:<entityRef>`, which says nothing else), keeping the current rows on screen while
 * it does. Signals that come while a reload is under way are read by one more reload after it.
 */
export function useDeploymentRuns(options: {
  entityRef: string;
  filters: RunFilters;
  cursor?: string;
  limit?: number;
}) {
  const api = useApi(kubechartApiRef);
  const { entityRef, filters, cursor, limit = 20 } = options;
  const { lastSignal } = useSignal<RefetchSignal>(
    entityRunsSignalChannel(entityRef),
  );

  const state = useAsyncRetry(
    () =>
      api.listRuns({
        entityRef,
        status: filters.status,
        kind: filters.kind,
        actor: filters.actor?.trim() || undefined,
        ...timeRange(filters),
        cursor,
        limit,
      }),
    [
      api,
      entityRef,
      filters.status,
      filters.kind,
      filters.actor,
      filters.rangeHours,
      filters.custom?.from,
      filters.custom?.to,
      cursor,
      limit,
    ],
  );

  const { retry, loading } = state;
  // A run changed while a reload was under way (`retry` does nothing then): read once more after it,
  // as what it read may be from before the change.
  const again = useRef(false);
  useEffect(() => {
    if (!lastSignal) return;
    if (loading) again.current = true;
    else retry();
    // Only a new signal should trigger a reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);
  useEffect(() => {
    if (!loading && again.current) {
      again.current = false;
      retry();
    }
  }, [loading, retry]);

  return state;
}
