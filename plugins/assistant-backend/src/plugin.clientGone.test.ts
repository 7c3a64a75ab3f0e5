import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import { AuditCall, recordingAuditor } from './__testUtils__/backend';

jest.setTimeout(60_000);

/** A request the proxy holds, and how it ended: answered, or given up by its client first. */
type Held = {
  method: string;
  path: string;
  ended?: 'answered' | 'given up';
  release: () => void;
};

/**
 * A plain-HTTP proxy in front of kube-sim that holds the requests `hold` picks until they are
 * released (a slow cluster), and notes how each ended.
 */
async function holdingProxy(target: string) {
  const held: Held[] = [];
  const state: { hold?: (method: string, path: string) => boolean } = {};
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', target);
      const forward = () => {
        const upstream = http.request(
          url,
          { method: req.method, headers: req.headers },
          up => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(Buffer.concat(chunks));
      };
      if (!state.hold?.(req.method ?? 'GET', url.pathname)) {
        forward();
        return;
      }
      const entry: Held = {
        method: req.method ?? 'GET',
        path: url.pathname,
        release: () => {
          if (!res.destroyed) forward();
        },
      };
      held.push(entry);
      res.on('close', () => {
        entry.ended ??= res.writableFinished ? 'answered' : 'given up';
      });
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    set hold(hold: ((method: string, path: string) => boolean) | undefined) {
      state.hold = hold;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

/** Waits until `ready` holds, or gives up after a while (the assertion after it then fails). */
async function until(ready: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 400 && !(await ready()); i++) {
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}

describe('kube-assistant: a run whose client goes away', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    proxy = await holdingProxy(sim.url);
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: {
              clusterLocatorMethods: [
                {
                  type: 'config',
                  clusters: [
                    {
                      name: 'sim',
                      url: proxy.url,
                      serviceAccountToken: sim.token,
                      // The proxy speaks plain HTTP; test only.
                      skipTLSVerify: true,
                    },
                  ],
                },
              ],
            },
            kubeAssistant: {
              allowDangerous: true,
              providers: [{ id: 'builtin', timeoutMs: 45_000 }],
              nameLookupTimeoutMs: 30_000,
              // One run at a time: the next run shows whether the one before gave its place back.
              limits: { runsAtOncePerUser: 1 },
            },
          },
        }),
        recordingAuditor(audit),
        catalogServiceMock.factory({ entities: [] }),
      ],
    });
  });

  afterEach(() => {
    proxy.hold = undefined;
    for (const held of proxy.held) held.release();
    proxy.held.length = 0;
  });

  afterAll(async () => {
    await backend?.stop();
    await proxy?.close();
    await sim?.stop();
  });

  const post = (path: string, body: object) =>
    request(backend.server)
      .post(`/api/kube-assistant/${path}`)
      .set('Authorization', mockCredentials.user.header())
      .send(body);

  /** Sends `POST /execute` from a client of its own, which goes away when told. */
  function executeFromAClient(body: object) {
    const { port } = backend.server.address() as AddressInfo;
    const client = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/kube-assistant/execute',
      headers: {
        Authorization: mockCredentials.user.header(),
        'Content-Type': 'application/json',
      },
    });
    let answered = false;
    client.on('response', () => (answered = true));
    client.on('error', () => undefined);
    client.end(JSON.stringify(body));
    return {
      goAway: () => client.destroy(),
      answered: () => answered,
    };
  }

  const runsOf = async (conversationId: string) => {
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    return conversation.body.messages[0].executions as {
      status: string;
      summary: string;
    }[];
  };

  it('gives up the reads of a run whose client went away, records it as cancelled, and frees its place', async () => {
    const asked = await post('ask', { question: 'list pods in shop' });
    expect(asked.status).toBe(200);
    expect(asked.body.plan).toMatchObject({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
    });
    const { messageId, conversationId } = asked.body;

    // The cluster is slow to list the pods; the client goes away meanwhile.
    proxy.hold = (method, path) =>
      method === 'GET' && path === '/api/v1/namespaces/shop/pods';
    audit.length = 0;
    const client = executeFromAClient({ messageId });
    await until(() => proxy.held.length === 1);
    expect(proxy.held).toHaveLength(1);
    client.goAway();

    // The request to the cluster is given up, not left to run until the deadline.
    await until(() => proxy.held[0].ended !== undefined);
    expect(proxy.held[0]).toMatchObject({
      path: '/api/v1/namespaces/shop/pods',
      ended: 'given up',
    });
    expect(client.answered()).toBe(false);

    // Recorded as cancelled, in the conversation and in the audit trail, saying why.
    const said =
      'Cancelled: the client went away before the answer was sent, so the assistant stopped reading from the cluster.';
    await until(
      async () => (await runsOf(conversationId))[0]?.status !== 'running',
    );
    expect(await runsOf(conversationId)).toEqual([
      expect.objectContaining({ status: 'cancelled', summary: said }),
    ]);
    const execution = audit.filter(e => e.options.eventId === 'execution');
    expect(execution).toHaveLength(1);
    expect(execution[0].success).not.toHaveBeenCalled();
    expect(execution[0].fail).toHaveBeenCalledTimes(1);
    expect(execution[0].fail.mock.calls[0][0]).toMatchObject({
      error: { message: said },
      meta: { outcome: 'cancelled', reason: said },
    });

    // Its place is free: the next run of the user runs (one at a time).
    proxy.hold = undefined;
    const again = await post('execute', { messageId });
    expect(again.status).toBe(200);
    expect(again.body.result).toMatchObject({ type: 'table' });
    expect((await runsOf(conversationId)).map(r => r.status)).toEqual([
      'cancelled',
      'succeeded',
    ]);
  });

  it('carries a change through when its client goes away, and records what it did', async () => {
    const asked = await post('ask', {
      question: 'scale deployment inventory-service in shop to 2 replicas',
    });
    expect(asked.status).toBe(200);
    expect(asked.body.plan).toMatchObject({
      verb: 'scale',
      name: 'inventory-service',
      namespace: 'shop',
      replicas: 2,
    });
    const { messageId, conversationId } = asked.body;

    // The cluster is slow to take the change; the client goes away meanwhile.
    proxy.hold = method => method === 'PATCH';
    const client = executeFromAClient({
      messageId,
      confirm: true,
      typedConfirmation: 'inventory-service',
      confirmationToken: asked.body.requirements.confirmationToken,
    });
    await until(() => proxy.held.length === 1);
    expect(proxy.held).toHaveLength(1);
    client.goAway();
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(proxy.held[0].ended).toBeUndefined();
    proxy.held[0].release();

    await until(
      async () => (await runsOf(conversationId))[0]?.status !== 'running',
    );
    expect(await runsOf(conversationId)).toEqual([
      expect.objectContaining({ status: 'succeeded' }),
    ]);
    expect(proxy.held[0].ended).toBe('answered');
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const deployment = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({
        name: 'inventory-service',
        namespace: 'shop',
      });
    expect(deployment.spec?.replicas).toBe(2);
  });
});
