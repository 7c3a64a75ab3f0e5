import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ResponseError } from '@backstage/errors';
import { KubechartRunsClient } from './KubechartRunsClient';

function clientAnswering(status: number, statusText: string, body: unknown) {
  const fetch = (async () =>
    new Response(JSON.stringify(body), {
      status,
      statusText,
      headers: { 'Content-Type': 'application/json' },
    })) as typeof globalThis.fetch;
  return new KubechartRunsClient({
    auth: mockServices.auth(),
    discovery: {
      getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
      getExternalBaseUrl: async () => '',
    },
    fetch,
  });
}

const request = {
  kind: 'chart' as const,
  cluster: 'kube-sim',
  namespace: 'shop',
  release: { name: 'web', chart: 'kubechart-service' },
};

describe('KubechartRunsClient errors', () => {
  it('carry the backend’s error message, not only the status', async () => {
    const client = clientAnswering(400, 'Bad Request', {
      error: {
        name: 'InputError',
        message:
          'helm template failed: Error: non-absolute URLs should be in form of repo_name/path_to_chart, got: kubechart-service',
      },
      response: { statusCode: 400 },
    });
    const err = await client
      .previewRun(request as any, { credentials: mockCredentials.user() })
      .catch(e => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err.message).toBe(
      'Request failed with 400 Bad Request: helm template failed: Error: non-absolute URLs should be in form of repo_name/path_to_chart, got: kubechart-service',
    );
    expect(err.statusCode).toBe(400);
    expect(err.cause.name).toBe('InputError');
  });

  it('keep the plain status line when the backend sent no error body', async () => {
    const client = clientAnswering(502, 'Bad Gateway', 'upstream down');
    const err = await client
      .getRun('r1', { credentials: mockCredentials.user() })
      .catch(e => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err.message).toMatch(/^Request failed with 502 Bad Gateway/);
    expect(err.statusCode).toBe(502);
  });
});
