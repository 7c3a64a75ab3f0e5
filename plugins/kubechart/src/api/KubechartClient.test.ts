import { ResponseError } from '@backstage/errors';
import { KubechartClient } from './KubechartClient';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

describe('KubechartClient', () => {
  const discoveryApi = {
    getBaseUrl: jest.fn(async () => 'http://backend/api/kubechart'),
  };
  const fetch = jest.fn();
  const client = new KubechartClient({ discoveryApi, fetchApi: { fetch } });

  beforeEach(() => fetch.mockReset());

  it('lists runs with the filters as query parameters', async () => {
    fetch.mockResolvedValue(jsonResponse(200, { items: [], nextCursor: 'c2' }));
    const page = await client.listRuns({
      entityRef: 'component:default/web',
      status: 'failed',
      actor: '',
      cursor: 'c1',
      limit: 10,
    });
    expect(page.nextCursor).toBe('c2');
    const url = new URL(fetch.mock.calls[0][0]);
    expect(url.pathname).toBe('/api/kubechart/runs');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      entityRef: 'component:default/web',
      status: 'failed',
      cursor: 'c1',
      limit: '10',
    });
  });

  it('posts a run as JSON', async () => {
    fetch.mockResolvedValue(jsonResponse(202, { id: 'r2', status: 'pending' }));
    const body = {
      kind: 'rollback' as const,
      cluster: 'dev',
      namespace: 'shop',
      release: 'web',
      revision: 3,
    };
    await expect(client.createRun(body)).resolves.toEqual({
      id: 'r2',
      status: 'pending',
    });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('http://backend/api/kubechart/runs');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual(body);
  });

  it.each([
    ['approveRun', 'approve'],
    ['rejectRun', 'reject'],
  ] as const)('%s posts the comment to /runs/:id/%s', async (method, path) => {
    const run = { id: 'r 1', status: 'awaiting-approval' };
    fetch.mockResolvedValue(jsonResponse(200, run));
    await expect(client[method]('r 1', 'looks good')).resolves.toEqual(run);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe(`http://backend/api/kubechart/runs/r%201/${path}`);
    expect(init.method).toBe('POST');
    expect(init.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(JSON.parse(init.body)).toEqual({ comment: 'looks good' });
  });

  it('surfaces why a decision was refused', async () => {
    fetch.mockResolvedValue(
      jsonResponse(403, {
        error: { name: 'NotAllowedError', message: 'you requested this run' },
        response: { statusCode: 403 },
      }),
    );
    const error = await client.approveRun('r1', 'ok').catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(403);
    expect(error.body.error.message).toBe('you requested this run');
  });

  it("lists the runs awaiting the caller's approval", async () => {
    fetch.mockResolvedValue(jsonResponse(200, { items: [{ id: 'r3' }] }));
    expect(await client.listApprovals()).toEqual({
      items: [{ id: 'r3' }],
      truncated: false,
    });
    expect(fetch.mock.calls[0][0]).toBe(
      'http://backend/api/kubechart/approvals',
    );
  });

  it('keeps the word that the approvals list is cut', async () => {
    fetch.mockResolvedValue(
      jsonResponse(200, { items: [{ id: 'r3' }], truncated: true }),
    );
    expect(await client.listApprovals()).toEqual({
      items: [{ id: 'r3' }],
      truncated: true,
    });
  });

  it('reads on from the cursor of the approvals list, keeping the next one', async () => {
    fetch.mockResolvedValue(
      jsonResponse(200, {
        items: [{ id: 'r4' }],
        truncated: true,
        nextCursor: 'c/2',
      }),
    );
    expect(await client.listApprovals({ cursor: 'c 1' })).toEqual({
      items: [{ id: 'r4' }],
      truncated: true,
      nextCursor: 'c/2',
    });
    expect(fetch.mock.calls[0][0]).toBe(
      'http://backend/api/kubechart/approvals?cursor=c+1',
    );
  });

  it('accepts lists as arrays or as { items }', async () => {
    fetch.mockResolvedValueOnce(jsonResponse(200, [{ name: 'a' }]));
    fetch.mockResolvedValueOnce(jsonResponse(200, { items: [{ name: 'b' }] }));
    expect(await client.listClusters()).toEqual([{ name: 'a' }]);
    expect(await client.listClusters()).toEqual([{ name: 'b' }]);
  });

  it('passes the events cursor', async () => {
    fetch.mockResolvedValue(jsonResponse(200, []));
    await client.getRunEvents('r 1', 7);
    expect(fetch.mock.calls[0][0]).toBe(
      'http://backend/api/kubechart/runs/r%201/events?after=7',
    );
  });

  it.each([400, 403, 404, 500])(
    'throws a ResponseError on HTTP %s',
    async status => {
      fetch.mockResolvedValue(
        jsonResponse(status, {
          error: { name: 'Error', message: `boom ${status}` },
          response: { statusCode: status },
        }),
      );
      const error = await client.getRun('r1').catch(e => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect(error.statusCode).toBe(status);
      expect(error.body.error.message).toBe(`boom ${status}`);
    },
  );

  it('returns the error health of an unreachable cluster', async () => {
    const health = {
      cluster: 'prod',
      status: 'error',
      message: 'connect ECONNREFUSED',
      observedAt: '2026-01-01T00:00:00Z',
    };
    fetch.mockResolvedValue(jsonResponse(503, health));
    await expect(client.getClusterHealth('prod')).resolves.toEqual(health);
  });

  it('returns the unknown health of a tenant whose cluster the backend does not follow', async () => {
    const health = {
      tenant: 'acme',
      cluster: 'dev',
      namespace: 'acme',
      status: 'unknown',
      message:
        'The health cache of cluster dev does not follow the cluster: Kubernetes API of cluster "dev" answered 500: boom',
      releases: [],
      quota: { hard: {}, used: {} },
      urls: [],
      observedAt: '2026-01-01T00:00:00Z',
    };
    fetch.mockResolvedValue(jsonResponse(503, health));
    await expect(client.getTenantHealth('acme')).resolves.toEqual(health);
    fetch.mockResolvedValue(
      jsonResponse(503, {
        error: { name: 'ServiceUnavailableError', message: 'down' },
        response: { statusCode: 503 },
      }),
    );
    await expect(client.getTenantHealth('acme')).rejects.toBeInstanceOf(
      ResponseError,
    );
  });

  it("asks for a tenant's health on its cluster when it knows it", async () => {
    // A response each: a body is read once.
    fetch.mockImplementation(async () => jsonResponse(200, { tenant: 'acme' }));
    await client.getTenantHealth('acme', 'prod/eu');
    await client.getTenantHealth('acme');
    expect(fetch.mock.calls.map(c => c[0])).toEqual([
      'http://backend/api/kubechart/tenants/acme/health?cluster=prod%2Feu',
      'http://backend/api/kubechart/tenants/acme/health',
    ]);
  });

  it('throws on a 503 that is not a health body', async () => {
    fetch.mockResolvedValue(
      jsonResponse(503, {
        error: { name: 'ServiceUnavailableError', message: 'down' },
        response: { statusCode: 503 },
      }),
    );
    await expect(client.getClusterHealth('prod')).rejects.toBeInstanceOf(
      ResponseError,
    );
  });
  it('reads drift by run and by entity, and posts a re-apply', async () => {
    fetch.mockResolvedValueOnce(
      jsonResponse(200, { runId: 'r1', status: 'in-sync', objects: [] }),
    );
    await expect(client.getRunDrift('r1')).resolves.toMatchObject({
      status: 'in-sync',
    });
    expect(new URL(fetch.mock.calls[0][0]).pathname).toBe(
      '/api/kubechart/runs/r1/drift',
    );
    fetch.mockResolvedValueOnce(
      jsonResponse(200, { items: [{ runId: 'r1' }] }),
    );
    await expect(
      client.listDrift({ entityRef: 'component:default/web' }),
    ).resolves.toEqual([{ runId: 'r1' }]);
    const url = new URL(fetch.mock.calls[1][0]);
    expect(url.pathname).toBe('/api/kubechart/drift');
    expect(url.searchParams.get('entityRef')).toBe('component:default/web');
    fetch.mockResolvedValueOnce(
      jsonResponse(400, {
        error: { name: 'InputError', message: 'has redacted values' },
        response: { statusCode: 400 },
      }),
    );
    await expect(client.reapplyRun('m1')).rejects.toBeInstanceOf(ResponseError);
    expect(fetch.mock.calls[2][1]).toMatchObject({
      method: 'POST',
      body: '{}',
    });
  });
});
