import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { InputError, ResponseError } from '@backstage/errors';
import { KubechartRunsClient } from './KubechartRunsClient';
import { RECORDED_RUN_LIMITS } from './recordedRunLimits';
import { createTextRedactor } from '../redaction';
import { REQUEST_BODY_LIMITS } from '../yaml';

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

describe('KubechartRunsClient health', () => {
  it('answers a tenant whose health is not known (503) with that answer, and why', async () => {
    const unknown = {
      tenant: 'shop',
      cluster: 'dev',
      namespace: 'tenant-shop',
      status: 'unknown',
      message:
        'The health cache of cluster dev does not follow the cluster: Kubernetes API of cluster "dev" answered 500: boom',
      releases: [],
      quota: { hard: {}, used: {} },
      urls: [],
      observedAt: '2026-01-01T00:00:00.000Z',
    };
    const client = clientAnswering(503, 'Service Unavailable', unknown);
    expect(
      await client.getTenantHealth('shop', {
        credentials: mockCredentials.user(),
      }),
    ).toEqual(unknown);
  });

  it('throws on a 503 of a tenant health that is not a health answer', async () => {
    const client = clientAnswering(503, 'Service Unavailable', {
      error: {
        name: 'ServiceUnavailableError',
        message: 'The catalog cannot be read',
      },
      response: { statusCode: 503 },
    });
    const err = await client
      .getTenantHealth('shop', { credentials: mockCredentials.user() })
      .catch(e => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err.message).toBe(
      'Request failed with 503 Service Unavailable: The catalog cannot be read',
    );
  });
});

describe('KubechartRunsClient events', () => {
  /** A backend whose run already finished with 5 events, answered 2 a page (as a 1 MiB page would cut them). */
  function pagedClient() {
    const events = [1, 2, 3, 4, 5].map(seq => ({
      seq,
      type: 'log',
      level: 'info',
      message: `line ${seq}`,
    }));
    const fetch = (async (url: string) => {
      const u = new URL(url);
      if (u.pathname.endsWith('/events')) {
        const after = Number(u.searchParams.get('after') ?? 0);
        const rest = events.filter(e => e.seq > after);
        const items = rest.slice(0, 2);
        return Response.json({
          items,
          ...(rest.length > items.length ? { more: true } : {}),
        });
      }
      return Response.json({ id: 'r1', status: 'succeeded' });
    }) as typeof globalThis.fetch;
    return new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
        getExternalBaseUrl: async () => '',
      },
      fetch,
    });
  }

  it('reads every page of a run’s events, following `more`', async () => {
    const client = pagedClient();
    const credentials = mockCredentials.user();
    expect(
      (await client.getEvents('r1', { credentials })).map(e => e.seq),
    ).toEqual([1, 2, 3, 4, 5]);
    const seen: number[] = [];
    const run = await client.followRun('r1', {
      credentials,
      onEvent: e => {
        seen.push(e.seq);
      },
      pollIntervalMs: 1,
    });
    expect(run.status).toBe('succeeded');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('KubechartRunsClient approvals', () => {
  it('keeps the word that the list is cut, so an empty list is not read as none open', async () => {
    const credentials = mockCredentials.user();
    expect(
      await clientAnswering(200, 'OK', {
        items: [],
        truncated: true,
      }).listApprovals({ credentials }),
    ).toEqual({ items: [], truncated: true });
    expect(
      await clientAnswering(200, 'OK', {
        items: [{ id: 'r3' }],
      }).listApprovals({ credentials }),
    ).toEqual({ items: [{ id: 'r3' }], truncated: false });
  });

  it('reads on from a cursor, and gives the next one', async () => {
    const urls: string[] = [];
    const fetch = (async (url: string) => {
      urls.push(url);
      return Response.json({
        items: [{ id: 'r4' }],
        truncated: true,
        nextCursor: 'c/2',
      });
    }) as typeof globalThis.fetch;
    const client = new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
        getExternalBaseUrl: async () => '',
      },
      fetch,
    });
    const credentials = mockCredentials.user();
    expect(await client.listApprovals({ credentials, cursor: 'c 1' })).toEqual({
      items: [{ id: 'r4' }],
      truncated: true,
      nextCursor: 'c/2',
    });
    await client.listApprovals({ credentials });
    expect(urls).toEqual([
      'http://kubechart.test/api/kubechart/approvals?cursor=c+1',
      'http://kubechart.test/api/kubechart/approvals',
    ]);
  });

  it('withdraws a run with POST /runs/:id/withdraw, the comment only when given', async () => {
    const sent: Array<{ url: string; method?: string; body?: unknown }> = [];
    const fetch = (async (url: string, init?: RequestInit) => {
      sent.push({ url, method: init?.method, body: init?.body });
      return Response.json({ id: 'r 1', status: 'failed' });
    }) as typeof globalThis.fetch;
    const client = new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
        getExternalBaseUrl: async () => '',
      },
      fetch,
    });
    const credentials = mockCredentials.user();
    expect(
      await client.withdrawRun('r 1', { credentials, comment: 'cancelled' }),
    ).toEqual({ id: 'r 1', status: 'failed' });
    await client.withdrawRun('r 1', { credentials });
    expect(sent).toEqual([
      {
        url: 'http://kubechart.test/api/kubechart/runs/r%201/withdraw',
        method: 'POST',
        body: JSON.stringify({ comment: 'cancelled' }),
      },
      {
        url: 'http://kubechart.test/api/kubechart/runs/r%201/withdraw',
        method: 'POST',
        body: '{}',
      },
    ]);
  });
});

describe('KubechartRunsClient recorded runs', () => {
  /** A backend that records run r1 and accepts what is sent to it: the paths it was sent. */
  function recordingClient() {
    const sent: string[] = [];
    const fetch = (async (url: string) => {
      const path = new URL(url).pathname.replace('/api/kubechart', '');
      sent.push(path);
      return path === '/runs/record'
        ? Response.json({ id: 'r1' }, { status: 201 })
        : new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    const client = new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
        getExternalBaseUrl: async () => '',
      },
      fetch,
    });
    const record = () =>
      client.recordRun(
        {
          kind: 'custom',
          action: 'acme:bulk:apply',
          target: { cluster: 'dev', namespace: 'team-a' },
        },
        { credentials: mockCredentials.user() },
      );
    return { sent, record };
  }

  it(`refuses, before sending it, a manifest of more than ${RECORDED_RUN_LIMITS.maxManifestObjects} objects, naming the limit`, async () => {
    const { sent, record } = recordingClient();
    const run = await record();
    const list = (n: number) =>
      [
        'apiVersion: v1',
        'kind: List',
        'items:',
        ...Array.from(
          { length: n },
          (_, i) =>
            `- {apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`,
        ),
      ].join('\n');
    const max = RECORDED_RUN_LIMITS.maxManifestObjects;
    const err = await run.succeed({ manifest: list(max + 1) }).catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      `The manifest of recorded run r1 holds more than ${max} objects (each item of a List counted); a recorded run may report at most ${max} (RECORDED_RUN_LIMITS.maxManifestObjects). Nothing was sent; the run is still open`,
    );
    expect(sent).toEqual(['/runs/record']);
    // Still the action's to end, and a manifest of as many objects as allowed is sent.
    await run.succeed({ manifest: list(max) });
    expect(sent).toEqual(['/runs/record', '/runs/r1/finish']);
  });

  it(`refuses, before sending it, a finish larger than the backend reads: a manifest over ${RECORDED_RUN_LIMITS.maxManifestCharacters} characters, a body over ${REQUEST_BODY_LIMITS.maxBytes} bytes or ${REQUEST_BODY_LIMITS.maxNodes} values`, async () => {
    const { sent, record } = recordingClient();
    const run = await record();
    const max = RECORDED_RUN_LIMITS.maxManifestCharacters;
    /** One ConfigMap of `length` characters, its data `fill` repeated. */
    const configMap = (length: number, fill = 'x') => {
      const head =
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {blob: "';
      const tail = '"}\n';
      return `${head}${fill.repeat(length - head.length - tail.length)}${tail}`;
    };
    const still = 'Nothing was sent; the run is still open';
    const refusal = (result: Parameters<typeof run.succeed>[0]) =>
      run.succeed(result).then(
        () => {
          throw new Error('sent');
        },
        e => e,
      );
    let err = await refusal({ manifest: configMap(max + 1) });
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      `The manifest of recorded run r1 holds ${
        max + 1
      } characters; a recorded run may report at most ${max} (RECORDED_RUN_LIMITS.maxManifestCharacters). ${still}`,
    );
    // As many characters as allowed, but each two bytes as UTF-8: more than one request body holds.
    err = await refusal({ manifest: configMap(max, 'é') });
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      `The finish of recorded run r1 is larger than ${REQUEST_BODY_LIMITS.maxBytes} bytes as JSON, the most the kubechart backend reads in one request body (REQUEST_BODY_LIMITS.maxBytes). ${still}`,
    );
    // Values of more nodes than one request body holds.
    err = await refusal({
      manifest: configMap(200),
      values: { ports: Array(REQUEST_BODY_LIMITS.maxNodes).fill(80) },
    });
    expect(err.message).toBe(
      `The finish of recorded run r1 holds more than ${REQUEST_BODY_LIMITS.maxNodes} values as JSON, the most the kubechart backend reads in one request body (REQUEST_BODY_LIMITS.maxNodes). ${still}`,
    );
    expect(sent).toEqual(['/runs/record']);
    // A finish within every bound is sent.
    await run.succeed({ manifest: configMap(max) });
    expect(sent).toEqual(['/runs/record', '/runs/r1/finish']);
  });

  it(`refuses, before sending them, events beyond the ${RECORDED_RUN_LIMITS.maxEvents} a recorded run stores`, async () => {
    const { sent, record } = recordingClient();
    const run = await record();
    const max = RECORDED_RUN_LIMITS.maxEvents;
    for (let i = 0; i < max; i++) await run.log(`line ${i}`);
    expect(sent).toHaveLength(1 + max);
    const err = await run.step('apply', 'succeeded').catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      `Recorded run r1 holds ${max} events; with this one it would hold ${
        max + 1
      }, more than the ${max} a recorded run may store (RECORDED_RUN_LIMITS.maxEvents). Nothing was sent`,
    );
    expect(sent).toHaveLength(1 + max);
    // Its end is no event.
    await run.fail('done');
    expect(sent[sent.length - 1]).toBe('/runs/r1/finish');
  });

  it('sends events whatever the characters of their messages: the backend counts them once it has removed their secrets', async () => {
    const { sent, record } = recordingClient();
    const run = await record();
    // A message holding a private key is stored as a few dozen characters: 5,000 of them hold far
    // fewer than RECORDED_RUN_LIMITS.maxEventCharacters once stored, though more as sent.
    const key = `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(
      2480,
    )}\n-----END PRIVATE KEY-----`;
    const message = `loaded ${key}`;
    expect(createTextRedactor()(message).length).toBeLessThan(100);
    const count =
      Math.floor(RECORDED_RUN_LIMITS.maxEventCharacters / message.length) + 1;
    for (let i = 0; i < count; i++) await run.log(message);
    // and characters beyond the UTF-16 units of a message's emoji are no concern of the handle's
    await run.log('🚀'.repeat(5000));
    expect(sent).toHaveLength(1 + count + 1);
  });

  it("answers with the backend's 413 beyond the characters a recorded run stores, the run still open", async () => {
    const sent: string[] = [];
    const fetch = (async (url: string) => {
      const path = new URL(url).pathname.replace('/api/kubechart', '');
      sent.push(path);
      if (path === '/runs/record')
        return Response.json({ id: 'r1' }, { status: 201 });
      if (path === '/runs/r1/events')
        return Response.json(
          {
            error: {
              name: 'PayloadTooLargeError',
              message:
                'Recorded run r1 holds 50000000 characters of event messages; with the 8 sent it would hold 50000008, more than the 50000000 a recorded run may store. Nothing was recorded',
            },
            response: { statusCode: 413 },
          },
          { status: 413 },
        );
      return new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    const client = new KubechartRunsClient({
      auth: mockServices.auth(),
      discovery: {
        getBaseUrl: async () => 'http://kubechart.test/api/kubechart',
        getExternalBaseUrl: async () => '',
      },
      fetch,
    });
    const run = await client.recordRun(
      {
        kind: 'custom',
        action: 'acme:bulk:apply',
        target: { cluster: 'dev', namespace: 'team-a' },
      },
      { credentials: mockCredentials.user() },
    );
    const err = await run.log('one more').catch(e => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err.response.status).toBe(413);
    expect(err.message).toMatch(
      /more than the 50000000 a recorded run may store/,
    );
    await run.fail('done');
    expect(sent).toEqual([
      '/runs/record',
      '/runs/r1/events',
      '/runs/r1/finish',
    ]);
  });
});
