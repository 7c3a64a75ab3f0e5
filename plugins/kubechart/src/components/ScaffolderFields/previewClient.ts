import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  CreateRunRequest,
  RunPreview,
} from '@kubechart/plugin-kubechart-common';

/**
 * Asks the kubechart backend for a dry run (`POST /runs/preview`): what would be applied and its
 * policy report. Nothing is applied.
 */
export async function previewRun(
  apis: { discoveryApi: DiscoveryApi; fetchApi: FetchApi },
  request: CreateRunRequest,
): Promise<RunPreview> {
  const base = await apis.discoveryApi.getBaseUrl('kubechart');
  const res = await apis.fetchApi.fetch(`${base}/runs/preview`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!res.ok) {
    throw await ResponseError.fromResponse(res);
  }
  return (await res.json()) as RunPreview;
}
