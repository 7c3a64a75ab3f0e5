import { useApi } from '@backstage/core-plugin-api';
import { AuditEventFilters } from '@kubechart/plugin-audit-log-common';
import { useCallback, useEffect, useState } from 'react';
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
  // cursors[i] loads page i; the first page has no cursor
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);

  useEffect(() => {
    setCursors([undefined]);
  }, [filtersKey]);

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
      setCursors(current => [...current, nextCursor]);
    }
  }, [nextCursor]);
  const newer = useCallback(() => {
    setCursors(current =>
      current.length > 1 ? current.slice(0, -1) : current,
    );
  }, []);

  return {
    ...state,
    page: cursors.length,
    hasOlder: Boolean(nextCursor),
    hasNewer: cursors.length > 1,
    older,
    newer,
  };
}
