import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import {
  ApprovalsPage,
  KUBECHART_RUNS_CHANNEL,
  RefetchSignal,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';

type Page = ApprovalsPage & { truncated: boolean };

/**
 * How long a read of the approvals may take before the card gives up on it: a request the backend
 * never answers would otherwise hold every later reload (one runs at a time) and leave the list stale.
 */
export const APPROVALS_ANSWER_WITHIN_MS = 30_000;

/** `read`, or an error once it has not answered within {@link APPROVALS_ANSWER_WITHIN_MS}. */
function answeredInTime<T>(read: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `The approval requests were not read within ${
              APPROVALS_ANSWER_WITHIN_MS / 1000
            } s; try again.`,
          ),
        ),
      APPROVALS_ANSWER_WITHIN_MS,
    );
    read.then(
      value => {
        clearTimeout(timer);
        resolve(value);
      },
      error => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Open approval requests the user may decide on, and the user's own (`GET /approvals`), a page at a
 * time: `loadMore` reads the page after the last one loaded (its `nextCursor`), `more` tells how
 * that goes. `value` holds every page loaded, with the last page's `truncated` and `nextCursor`.
 * Reloads when a run changes, as told on `kubechart:runs` (which says nothing else: the list is read
 * again through the API): as many pages as were loaded are read again from the first, so a decided
 * request leaves, a new one shows and the older requests loaded stay. One reload at a time: runs
 * that change while one is under way are read by a single reload after it, and each reload that
 * finishes is applied; a reload supersedes the 'load older' answers before it. A read that does not
 * answer within {@link APPROVALS_ANSWER_WITHIN_MS} fails (its late answer is not applied).
 */
export function useApprovals() {
  const api = useApi(kubechartApiRef);
  const { lastSignal } = useSignal<RefetchSignal>(KUBECHART_RUNS_CHANNEL);
  const [list, setList] = useState<{
    pages?: Page[];
    loading: boolean;
    error?: Error;
  }>({ loading: true });
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({
    loading: false,
  });
  // Changes when a reload starts and when it replaces the list: an answer read before is not applied.
  const generation = useRef(0);
  // The pages to show: those loaded, and the one the user asked for next. A reload reads as many.
  const wanted = useRef(1);
  const reloading = useRef(false);
  // Runs changed while a reload was under way: it reads again once it is done.
  const again = useRef(false);

  const reload = useCallback(async () => {
    // Signals come on every run change anywhere: while a reload reads, they are merged into one more.
    if (reloading.current) {
      again.current = true;
      return;
    }
    reloading.current = true;
    do {
      again.current = false;
      const started = ++generation.current;
      setList(l => ({ ...l, loading: true }));
      const pages: Page[] = [];
      let failed: Error | undefined;
      try {
        for (;;) {
          const cursor = pages[pages.length - 1]?.nextCursor;
          const page = await answeredInTime(
            cursor ? api.listApprovals({ cursor }) : api.listApprovals(),
          );
          if (generation.current !== started) return;
          pages.push(page);
          if (!page.nextCursor || pages.length >= wanted.current) break;
        }
      } catch (e) {
        if (generation.current !== started) return;
        failed = e as Error;
      }
      generation.current += 1;
      if (!pages.length) {
        setList({ loading: false, error: failed });
        setMore({ loading: false });
      } else {
        // An older page that could not be read again is left out, and the user may load it again.
        wanted.current = pages.length;
        setList({ pages, loading: false });
        setMore(
          failed ? { loading: false, error: failed } : { loading: false },
        );
      }
    } while (again.current);
    reloading.current = false;
  }, [api]);

  useEffect(() => {
    reload();
    return () => {
      // A reload under way stops at its next answer.
      generation.current += 1;
      reloading.current = false;
      again.current = false;
    };
  }, [reload]);

  useEffect(() => {
    if (lastSignal) {
      reload();
    }
    // Only a new signal should trigger a reload.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  const { pages } = list;
  const value = useMemo((): Page | undefined => {
    if (!pages) return undefined;
    const last = pages[pages.length - 1];
    return {
      items: pages.flatMap(p => p.items),
      truncated: last.truncated,
      ...(last.nextCursor ? { nextCursor: last.nextCursor } : {}),
    };
  }, [pages]);

  const cursor = value?.nextCursor;
  const loadMore = useCallback(async () => {
    if (!pages || !cursor || more.loading) return;
    wanted.current = pages.length + 1;
    setMore({ loading: true });
    // A reload under way reads the page too, after its own newer ones.
    if (reloading.current) return;
    const started = generation.current;
    try {
      const page = await answeredInTime(api.listApprovals({ cursor }));
      if (generation.current !== started) return;
      setList(l => ({ ...l, pages: [...(l.pages ?? []), page] }));
      setMore({ loading: false });
    } catch (e) {
      if (generation.current !== started) return;
      wanted.current = pages.length;
      setMore({ loading: false, error: e as Error });
    }
  }, [api, pages, cursor, more.loading]);

  return {
    value,
    loading: list.loading,
    error: list.error,
    retry: reload,
    loadMore,
    more,
  };
}
