import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  ApprovalsPage,
  KUBECHART_RUNS_CHANNEL,
  RefetchSignal,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';

type Page = ApprovalsPage & { truncated: boolean };

/**
 * Open approval requests the user may decide on, and the user's own (`GET /approvals`), a page at a
 * time: `loadMore` reads the page after the last one loaded (its `nextCursor`), `more` tells how
 * that goes. `value` holds every page loaded, with the last page's `truncated` and `nextCursor`.
 * Reloads from the first page when a run changes, as told on `kubechart:runs` (which says nothing
 * else: the list is read again through the API); the older pages loaded are dropped then.
 */
export function useApprovals() {
  const api = useApi(kubechartApiRef);
  const { lastSignal } = useSignal<RefetchSignal>(KUBECHART_RUNS_CHANNEL);
  const [older, setOlder] = useState<Page[]>([]);
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({
    loading: false,
  });
  // Each load of the first page starts a new list: a page after an older one is not added to it.
  const generation = useRef(0);

  const first = useAsyncRetry(async () => {
    const page = await api.listApprovals();
    generation.current += 1;
    setOlder([]);
    setMore({ loading: false });
    return page;
  }, [api]);

  const { retry } = first;
  useEffect(() => {
    if (lastSignal) {
      retry();
    }
    // Only a new signal should trigger a reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  const value = useMemo((): Page | undefined => {
    if (!first.value) return undefined;
    const last = older.length ? older[older.length - 1] : first.value;
    return {
      items: [first.value, ...older].flatMap(p => p.items),
      truncated: last.truncated,
      ...(last.nextCursor ? { nextCursor: last.nextCursor } : {}),
    };
  }, [first.value, older]);

  const cursor = value?.nextCursor;
  const loadMore = useCallback(async () => {
    if (!cursor || more.loading) return;
    const started = generation.current;
    setMore({ loading: true });
    try {
      const page = await api.listApprovals({ cursor });
      if (generation.current !== started) return;
      setOlder(pages => [...pages, page]);
      setMore({ loading: false });
    } catch (e) {
      if (generation.current !== started) return;
      setMore({ loading: false, error: e as Error });
    }
  }, [api, cursor, more.loading]);

  return {
    value,
    loading: first.loading,
    error: first.error,
    retry,
    loadMore,
    more,
  };
}
