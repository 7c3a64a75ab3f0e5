import { useEffect, useRef } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  RunEvent,
  RunSignal,
  runSignalChannel,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { usePolling } from './usePolling';

/** How often a run in progress is refreshed; status changes also arrive as signals. */
export const RUN_POLL_MS = 3000;

/**
 * How often a run waiting for approvers (or for its requester) is refreshed. Decisions arrive as
 * signals; this catches an expiry and apps without signals, and writes no log lines to fetch.
 */
export const APPROVAL_POLL_MS = 15000;

/**
 * A run with its events (steps and log lines), in order. Live: reloads on the run's signal
 * channel, every few seconds while the run is in progress (log lines are not signalled), and
 * less often while it waits for approval.
 * Only events after the last one already loaded are fetched again.
 */
export function useRun(runId: string) {
  const api = useApi(kubechartApiRef);
  const { lastSignal } = useSignal<RunSignal>(runSignalChannel(runId));
  const loaded = useRef<{ runId: string; events: RunEvent[] }>({
    runId,
    events: [],
  });

  const state = useAsyncRetry(async () => {
    if (loaded.current.runId !== runId) {
      loaded.current = { runId, events: [] };
    }
    const known = loaded.current.events;
    const after = known.length ? known[known.length - 1].seq : undefined;
    const [run, fresh] = await Promise.all([
      api.getRun(runId),
      api.getRunEvents(runId, after),
    ]);
    // Keyed by seq, so overlapping refreshes never duplicate a line.
    const bySeq = new Map(known.map(e => [e.seq, e]));
    fresh.forEach(e => bySeq.set(e.seq, e));
    const events = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    if (loaded.current.runId === runId) {
      loaded.current = { runId, events };
    }
    return { run, events };
  }, [api, runId]);

  const { retry, value } = state;
  useEffect(() => {
    if (lastSignal) {
      retry();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  const status = value?.run.status;
  const inProgress = status === 'pending' || status === 'running';
  const waiting = status === 'awaiting-approval' || status === 'approved';
  usePolling(
    retry,
    inProgress ? RUN_POLL_MS : APPROVAL_POLL_MS,
    inProgress || waiting,
  );

  return state;
}
