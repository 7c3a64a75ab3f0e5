import { useEffect } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  RefetchSignal,
  tenantHealthSignalChannel,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../api';
import { withTimeout } from '../lib/withTimeout';
import { usePolling } from './usePolling';

/**
 * Health of a tenant per release, with its quota use. Read again on each signal of
 * `kubechart:tenant-health:<tenant>` (which says only that the tenant changed); refreshed every 60 s
 * with signals, 30 s without. `cluster`: the tenant's cluster, when known (a code may be on several).
 */
export function useTenantHealth(tenant: string, cluster?: string) {
  const api = useApi(kubechartApiRef);
  const { lastSignal, isSignalsAvailable } = useSignal<RefetchSignal>(
    tenantHealthSignalChannel(tenant),
  );
  const state = useAsyncRetry(
    () =>
      withTimeout(
        api.getTenantHealth(tenant, cluster),
        15_000,
        `Tenant ${tenant}`,
      ),
    [api, tenant, cluster],
  );

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
