import { useApi } from '@backstage/core-plugin-api';
import useAsync from 'react-use/esm/useAsync';
import type { Run, RunListItem } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';

const PAGE_SIZE = 50;
const MAX_PAGES = 5;

function sameRelease(a: RunListItem, b: Run): boolean {
  return (
    a.target.cluster === b.target.cluster &&
    a.target.namespace === b.target.namespace &&
    a.target.release === b.target.release
  );
}

/**
 * Whether a succeeded run's Helm revision is the release's current one, i.e. no later succeeded
 * run of the same release (an upgrade or a rollback) recorded a revision. `current` stays
 * undefined while loading, for runs without a release or revision, and when the history could not
 * tell (read error, or the run is further back than a few pages): callers treat that as unknown.
 */
export function useReleaseHead(run: Run): {
  loading: boolean;
  current?: boolean;
} {
  const api = useApi(kubechartApiRef);
  const applies =
    run.status === 'succeeded' &&
    run.helmRevision !== undefined &&
    Boolean(run.target.release);
  const state = useAsync(async () => {
    if (!applies) {
      return undefined;
    }
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { items, nextCursor } = await api.listRuns({
        entityRef: run.entityRef,
        status: 'succeeded',
        cursor,
        limit: PAGE_SIZE,
      });
      // Newest first: the first run of this release with a revision is the release's head.
      const head = [...items]
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .find(r => sameRelease(r, run) && r.helmRevision !== undefined);
      if (head) {
        return head.id === run.id || head.helmRevision === run.helmRevision;
      }
      if (!nextCursor) {
        return undefined;
      }
      cursor = nextCursor;
    }
    return undefined;
  }, [api, run.id, run.status, applies]);
  return {
    loading: state.loading,
    current: state.error ? undefined : state.value,
  };
}
