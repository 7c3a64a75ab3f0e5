import { useApi } from '@backstage/core-plugin-api';
import useAsyncFn from 'react-use/esm/useAsyncFn';
import { auditLogApiRef } from '../api';

/**
 * Runs a chain verification on demand.
 * @public
 */
export function useVerify() {
  const api = useApi(auditLogApiRef);
  return useAsyncFn(() => api.verify(), [api]);
}
