import { useApi } from '@backstage/core-plugin-api';
import useAsync from 'react-use/esm/useAsync';
import { kubechartApiRef } from '../api';

/** The diff of values and manifests between two runs; idle while `otherId` is unset. */
export function useRunDiff(runId: string, otherId?: string) {
  const api = useApi(kubechartApiRef);
  return useAsync(
    async () => (otherId ? api.getRunDiff(otherId, runId) : undefined),
    [api, runId, otherId],
  );
}
