import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { Plan } from '@kubechart/plugin-assistant-common';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

/** How a request to the metrics API ended: answered, or given up by the client first. */
type MetricsRequest = { path: string; ended?: 'answered' | 'given up' };

/** An answer the proxy gives to the metrics API's requests in place of the cluster's. */
type MetricsAnswer = {
  status: number;
  headers: Record<string, string>;
  body: string;
};

/**
 * A plain-HTTP proxy in front of kube-sim that notes how each request to the metrics API ended:
 * whether the client hung up before the cluster's answer was sent on.
 */
async function metricsProxy(target: string) {
  const requests: MetricsRequest[] = [];
  const state: { answer?: MetricsAnswer } = {};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    const seen: MetricsRequest | undefined = url.pathname.startsWith(
      '/apis/metrics.k8s.io/',
    )
      ? { path: url.pathname }
      : undefined;
    if (seen) requests.push(seen);
    if (seen && state.answer) {
      res.writeHead(state.answer.status, state.answer.headers);
      res.end(state.answer.body);
      return;
    }
    const upstream = http.request(
      url,
      { method: req.method, headers: req.headers },
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (seen) seen.ended ??= res.writableFinished ? 'answered' : 'given up';
      upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Answers the metrics API's requests so (the cluster's answers again with `undefined`). */
    answerMetrics(answer: MetricsAnswer | undefined) {
      state.answer = answer;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

describe('kubectl top at the deadline', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof metricsProxy>>;
  let registry: ClusterRegistry;

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    // The metrics API lists a pod once it runs, a moment after the cluster starts.
    for (let i = 0; i < 400; i++) {
      const answer = await fetch(
        `${sim.url}/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods`,
        { headers: { Authorization: `Bearer ${sim.token}` } },
      );
      if (((await answer.json()) as { items?: unknown[] }).items?.length) break;
      await new Promise(resolve => setTimeout(resolve, 25));
    }
    proxy = await metricsProxy(sim.url);
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: proxy.url,
        serviceAccountToken: sim.token,
        // The proxy speaks plain HTTP, which client-node only allows with this flag; test only.
        skipTLSVerify: true,
      },
    ]);
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });
  afterEach(() => {
    sim.faults.clear();
    proxy.answerMetrics(undefined);
    proxy.requests.length = 0;
  });

  it('reads the metrics API when the cluster answers', async () => {
    const result = await new PlanExecutor({ maxRows: 200 }).execute(
      { verb: 'top', resource: 'pods', namespace: 'shop' },
      registry.kubeConfig('sim'),
    );
    expect(result).toMatchObject({
      type: 'table',
      columns: ['NAME', 'CPU(cores)', 'MEMORY(bytes)'],
    });
    expect((result as { rows: string[][] }).rows.length).toBeGreaterThan(0);
    expect(proxy.requests).toEqual([
      {
        path: '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods',
        ended: 'answered',
      },
    ]);
  });

  it('says what the metrics API answered when it refuses', async () => {
    sim.faults.failVerb({ verb: 'list', resource: 'nodes', status: 503 });
    const error = await new PlanExecutor({ maxRows: 200 })
      .execute({ verb: 'top', resource: 'nodes' }, registry.kubeConfig('sim'))
      .catch(e => e);
    expect(error.message).toBe(
      'The cluster refused: The metrics API (metrics-server) did not answer: kube-sim: injected failure for list nodes',
    );
  });

  it('says the metrics API is not installed when the cluster answers 404, as one without metrics-server does', async () => {
    // What an API server answers for a group it does not serve (../shared/reference/kube-api/crd).
    proxy.answerMetrics({
      status: 404,
      headers: {
        'Cache-Control': 'no-cache, private',
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
      },
      body: '404 page not found\n',
    });
    for (const plan of [
      { verb: 'top', resource: 'nodes' },
      { verb: 'top', resource: 'pods', namespace: 'shop' },
    ] as Plan[]) {
      const error = await new PlanExecutor({ maxRows: 200 })
        .execute(plan, registry.kubeConfig('sim'))
        .catch(e => e);
      expect(error.message).toBe(
        'The cluster refused: The metrics API is not available on this cluster (metrics-server is not installed).',
      );
    }
  });

  it("says what the metrics API answered in text, without the answer's headers", async () => {
    proxy.answerMetrics({
      status: 503,
      headers: {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Request-Id': 'req-7f3a',
      },
      body: '  service unavailable: metrics-server is starting\n',
    });
    const error = await new PlanExecutor({ maxRows: 200 })
      .execute({ verb: 'top', resource: 'nodes' }, registry.kubeConfig('sim'))
      .catch(e => e);
    expect(error.message).toBe(
      'The cluster refused: The metrics API (metrics-server) did not answer: HTTP 503: service unavailable: metrics-server is starting',
    );
    // An answer with no text says its status.
    proxy.answerMetrics({
      status: 502,
      headers: { 'X-Request-Id': 'req-7f3b' },
      body: '',
    });
    const empty = await new PlanExecutor({ maxRows: 200 })
      .execute({ verb: 'top', resource: 'nodes' }, registry.kubeConfig('sim'))
      .catch(e => e);
    expect(empty.message).toBe(
      'The cluster refused: The metrics API (metrics-server) did not answer: HTTP 502 with no message',
    );
  });

  it('says a JSON answer of the metrics API that is not a Status as text, bounded and scrubbed', async () => {
    proxy.answerMetrics({
      status: 502,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        message: `bad gateway password=hunter2 ${'z'.repeat(3000)}`,
      }),
    });
    const error = await new PlanExecutor({ maxRows: 200 })
      .execute({ verb: 'top', resource: 'nodes' }, registry.kubeConfig('sim'))
      .catch(e => e);
    expect(error.message).toMatch(
      /^The cluster refused: The metrics API \(metrics-server\) did not answer: HTTP 502: \{"message":"bad gateway password=\*\*\*/,
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message.length).toBeLessThan(450);
  });

  it.each<[string, Plan, string]>([
    [
      'pods',
      { verb: 'top', resource: 'pods', namespace: 'shop' },
      '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods',
    ],
    [
      'pods of every namespace',
      { verb: 'top', resource: 'pods', allNamespaces: true },
      '/apis/metrics.k8s.io/v1beta1/pods',
    ],
    [
      'nodes',
      { verb: 'top', resource: 'nodes' },
      '/apis/metrics.k8s.io/v1beta1/nodes',
    ],
  ])(
    'gives up the metrics request of %s at the deadline, as every other request, not leaving it open until the cluster answers',
    async (_, plan, path) => {
      // The cluster holds its answers far beyond the deadline.
      sim.faults.setLatency(5_000);
      const impatient = new PlanExecutor({ maxRows: 200, timeoutMs: 300 });
      await expect(
        impatient.execute(plan, registry.kubeConfig('sim')),
      ).rejects.toMatchObject({
        name: 'ServiceUnavailableError',
        message:
          'The cluster did not answer within 0.3 s, so the assistant stopped waiting (kubeAssistant.executionTimeoutSeconds). A change may still be applied: look before asking again.',
      });
      // How the request ended: the cluster's answer comes after 5 s if the client still waits.
      for (let i = 0; i < 1000 && !proxy.requests[0]?.ended; i++)
        await new Promise(resolve => setTimeout(resolve, 10));
      expect(proxy.requests).toEqual([{ path, ended: 'given up' }]);
    },
  );
});
