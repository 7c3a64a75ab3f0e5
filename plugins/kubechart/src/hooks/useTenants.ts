import { useApi } from '@backstage/core-plugin-api';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { kubechartApiRef } from '../api';

/** Every tenant known to the kubechart backend. */
export function useTenants() {
  const api = useApi(kubechartApiRef);
  return useAsyncRetry(() => api.listTenants(), [api]);
}
