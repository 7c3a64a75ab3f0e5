import { Plan } from '@kubechart/plugin-assistant-common';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

/** What the stub answers every request with. */
type Answer = { status: number; headers: Record<string, string>; body: string };

/** A server speaking HTTP in place of the API server (a proxy or gateway in front of it). */
async function stubCluster() {
  const state: { answer: Answer } = {
    answer: { status: 500, headers: {}, body: '' },
  };
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(state.answer.status, state.answer.headers);
    res.end(state.answer.body);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answer(answer: Answer) {
      state.answer = answer;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

/** Headers a proxy answers with, which must never reach the user. */
const PROXY_HEADERS = {
  'Set-Cookie': 'proxy_session=s3ss10n-c00k1e; HttpOnly',
  'X-Request-Id': 'req-7f3a',
  'X-Upstream-Token': 'upstream-t0ken',
};

describe('PlanExecutor: an answer of the cluster that is not a Kubernetes Status', () => {
  let stub: Awaited<ReturnType<typeof stubCluster>>;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });

  beforeAll(async () => {
    stub = await stubCluster();
    registry = new ClusterRegistry([
      {
        name: 'stub',
        url: stub.url,
        serviceAccountToken: 'token',
        // The stub speaks plain HTTP; test only.
        skipTLSVerify: true,
      },
    ]);
  });
  afterAll(() => stub?.close());

  const failure = async (plan: Plan) => {
    const error = await executor
      .execute(plan, registry.kubeConfig('stub'))
      .then(
        () => undefined,
        e => e as Error,
      );
    expect(error).toBeInstanceOf(Error);
    return error!.message;
  };

  const plans: [string, Plan][] = [
    ['a list', { verb: 'get', resource: 'pods', namespace: 'shop' }],
    [
      'one object',
      {
        verb: 'get',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        output: 'yaml',
      },
    ],
  ];

  it.each(plans)(
    'says the status and the text of a 500 in plain text, without its headers (%s)',
    async (_, plan) => {
      stub.answer({
        status: 500,
        headers: {
          'Content-Type': 'text/plain; charset=utf-8',
          ...PROXY_HEADERS,
        },
        body: 'upstream connect error: connection refused\n  retry with password=hunter2\n',
      });
      const message = await failure(plan);
      expect(message).toBe(
        'The cluster refused: HTTP 500: upstream connect error: connection refused retry with password=***',
      );
      for (const hidden of [
        'Headers',
        's3ss10n-c00k1e',
        'req-7f3a',
        'upstream-t0ken',
        'hunter2',
      ]) {
        expect(message).not.toContain(hidden);
      }
    },
  );

  it.each(plans)(
    "says a 403 page's text, bounded, without its headers (%s)",
    async (_, plan) => {
      const page = `<html><body><h1>403 Forbidden</h1><p>Blocked by policy.</p>${'<p>padding</p>'.repeat(
        300,
      )}</body></html>`;
      stub.answer({
        status: 403,
        headers: { 'Content-Type': 'text/html', ...PROXY_HEADERS },
        body: page,
      });
      const message = await failure(plan);
      expect(message).toBe(
        `The cluster refused: HTTP 403: ${page.slice(0, 300)} …`,
      );
      expect(message).not.toContain('s3ss10n-c00k1e');
    },
  );

  it('says the status alone of an answer with no text, and a Status as before', async () => {
    stub.answer({ status: 502, headers: PROXY_HEADERS, body: '' });
    expect(
      await failure({ verb: 'get', resource: 'pods', namespace: 'shop' }),
    ).toBe('The cluster refused: HTTP 502 with no message');

    stub.answer({
      status: 503,
      headers: { 'Content-Type': 'application/json', ...PROXY_HEADERS },
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 503,
        message: 'the server is currently unable to handle the request',
      }),
    });
    expect(
      await failure({ verb: 'get', resource: 'pods', namespace: 'shop' }),
    ).toBe(
      'The cluster refused: the server is currently unable to handle the request',
    );
  });

  it('says a JSON answer that is not a Status as text, bounded and scrubbed, not its `message` alone', async () => {
    const jwt =
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJl';
    stub.answer({
      status: 502,
      headers: { 'Content-Type': 'application/json', ...PROXY_HEADERS },
      body: JSON.stringify({
        message: `upstream failed for ${jwt}: password=hunter2 Authorization: Bearer ${'x'.repeat(
          3000,
        )}`,
      }),
    });
    const message = await failure({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
    });
    expect(message).toBe(
      'The cluster refused: HTTP 502: {"message":"upstream failed for ***: password=*** …',
    );
    for (const hidden of ['hunter2', jwt, 'xxxxxxxxxx', 's3ss10n-c00k1e'])
      expect(message).not.toContain(hidden);
  });

  it("bounds and scrubs a Status's message", async () => {
    const jwt =
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJl';
    stub.answer({
      status: 500,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 500,
        message: `webhook failed: token ${jwt} password=hunter2 ${'y'.repeat(
          3000,
        )}`,
      }),
    });
    const message = await failure({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
    });
    expect(message).toBe(
      `The cluster refused: webhook failed: token *** password=*** ${'y'.repeat(
        1000 - 'webhook failed: token  password=hunter2 '.length - jwt.length,
      )} …`,
    );
  });
});
