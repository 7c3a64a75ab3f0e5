import { useApi } from '@backstage/core-plugin-api';
import { AuditEventFilters } from '@kubechart/plugin-audit-log-common';
import { useCallback, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { auditLogApiRef } from '../api';

/**
 * Loads one page of audit events for the given filters, newest first, with
 * cursor paging towards older events and back.
 * @public
 */
export function useAuditEvents(filters: AuditEventFilters, pageSize = 50) {
  const api = useApi(auditLogApiRef);
  const filtersKey = JSON.stringify(filters);
  // cursors[i] loads page i; the first page has no cursor. They belong to
  // one set of filters: new filters start again from the newest page.
  const [paging, setPaging] = useState<{
    key: string;
    cursors: (string | undefined)[];
  }>({ key: filtersKey, cursors: [undefined] });
  const cursors = paging.key === filtersKey ? paging.cursors : [undefined];

  const cursor = cursors[cursors.length - 1];
  const state = useAsyncRetry(
    () => api.getEvents({ ...filters, cursor, limit: pageSize }),
    // filters are compared by value
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, filtersKey, cursor, pageSize],
  );

  const nextCursor = state.value?.nextCursor;
  const older = useCallback(() => {
    if (nextCursor) {
      setPaging(current => ({
        key: filtersKey,
        cursors: [
          ...(current.key === filtersKey ? current.cursors : [undefined]),
          nextCursor,
        ],
      }));
    }
  }, [nextCursor, filtersKey]);
  const newer = useCallback(() => {
    setPaging(current =>
      current.key === filtersKey && current.cursors.length > 1
        ? { key: filtersKey, cursors: current.cursors.slice(0, -1) }
        : current,
    );
  }, [filtersKey]);

  return {
    ...state,
    page: cursors.length,
    hasOlder: Boolean(nextCursor),
    hasNewer: cursors.length > 1,
    older,
    newer,
  };
}
