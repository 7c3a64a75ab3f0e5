import { AuditLogClient, toSearchParams } from './AuditLogClient';

describe('AuditLogClient', () => {
  const discoveryApi = {
    getBaseUrl: jest.fn(async () => 'http://backend/api/audit-log'),
  };

  it('sends filters as query parameters', async () => {
    const fetch = jest.fn(
      async (_url: string) =>
        new Response(JSON.stringify({ items: [] }), { status: 200 }),
    );
    const client = new AuditLogClient({
      discoveryApi,
      fetchApi: { fetch } as any,
    });
    await client.getEvents({
      plugin: 'scaffolder',
      severity: ['high', 'critical'],
      q: '',
      cursor: 'abc',
      limit: 20,
    });
    expect(fetch).toHaveBeenCalledWith(
      'http://backend/api/audit-log/events?plugin=scaffolder&severity=high%2Ccritical&cursor=abc&limit=20',
    );
  });

  it('throws a ResponseError with the server error', async () => {
    const fetch = jest.fn(
      async () =>
        new Response(
          JSON.stringify({
            error: { name: 'NotAllowedError', message: 'Missing permission' },
            response: { statusCode: 403 },
          }),
          { status: 403, headers: { 'Content-Type': 'application/json' } },
        ),
    );
    const client = new AuditLogClient({
      discoveryApi,
      fetchApi: { fetch } as any,
    });
    await expect(client.verify()).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 403,
    });
  });

  it('reads the export filename', async () => {
    const fetch = jest.fn(
      async () =>
        new Response('seq\n', {
          status: 200,
          headers: {
            'Content-Disposition': 'attachment; filename="audit-log-x.csv"',
          },
        }),
    );
    const client = new AuditLogClient({
      discoveryApi,
      fetchApi: { fetch } as any,
    });
    const { filename } = await client.exportEvents({ actor: 'a' }, 'csv');
    expect(filename).toBe('audit-log-x.csv');
    expect(fetch).toHaveBeenCalledWith(
      'http://backend/api/audit-log/export?actor=a&format=csv',
    );
    expect(toSearchParams({ status: [] }).toString()).toBe('');
  });
});
