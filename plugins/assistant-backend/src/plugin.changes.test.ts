import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import request from 'supertest';
import { recordingProxy } from './__testUtils__/recordingProxy';
import { assistantPlugin } from './plugin';
import { AuditCall, recordingAuditor } from './__testUtils__/backend';

jest.setTimeout(60_000);

describe('kube-assistant: a change over several objects that fails part-way', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    // A third deployment in shop, beside checkout-web and inventory-service.
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const labels = { app: 'cart-worker' };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'shop',
      body: {
        metadata: { name: 'cart-worker', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'worker', image: 'busybox:1.36' }] },
          },
        },
      },
    });
    proxy = await recordingProxy(sim.url);
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
            // Short, for the slow-cluster test below; the others are quick.
            kubeAssistant: {
              providers: [{ id: 'builtin' }],
              executionTimeoutSeconds: 4,
            },
          },
        }),
        recordingAuditor(audit),
        catalogServiceMock.factory({ entities: [] }),
      ],
    });
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

  it('names the objects changed before the failure and the one that failed, to the user and in the audit trail', async () => {
    const asked = await post('ask', {
      question: 'restart the deployments in shop',
    });
    expect(asked.status).toBe(200);
    expect(asked.body.plan).toMatchObject({
      verb: 'rollout',
      rolloutAction: 'restart',
      resource: 'deployments',
      namespace: 'shop',
    });
    // The cluster takes the first restart and refuses the second.
    proxy.sent.length = 0;
    proxy.refuse = sent =>
      sent.method === 'PATCH' &&
      proxy.sent.filter(s => s.method === 'PATCH').length === 2
        ? 403
        : undefined;
    audit.length = 0;
    const res = await post('execute', {
      messageId: asked.body.messageId,
      confirm: true,
      confirmationToken: asked.body.requirements.confirmationToken,
    });
    proxy.refuse = undefined;

    // Three deployments in shop: one restarted, one refused, one never tried.
    const [changed, failed] = proxy.sent.map(s => s.path.split('/').pop());
    expect(proxy.sent).toHaveLength(2);
    const notTried = ['cart-worker', 'checkout-web', 'inventory-service'].find(
      n => n !== changed && n !== failed,
    );
    const said = `The cluster refused: refused by the test proxy: /apis/apps/v1/namespaces/shop/deployments/${failed}. Stopped at deployment/${failed} in shop (2 of 3); restarted before it: deployment/${changed} in shop; not attempted: 1.`;
    expect(res.status).toBe(500);
    expect(res.body.error.message).toBe(said);
    expect(res.body.error.message).not.toContain(notTried);

    const [event] = audit.filter(a => a.options.eventId === 'execution');
    expect(event.success).not.toHaveBeenCalled();
    expect(event.fail.mock.calls[0][0].meta).toEqual({
      outcome: 'failed',
      latencyMs: expect.any(Number),
      changed: [`deployment/${changed} in shop`],
      changedCount: 1,
      failedOn: `deployment/${failed} in shop`,
      notAttempted: 1,
    });

    // The conversation keeps the same record of the run.
    const conversation = await request(backend.server)
      .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
      .set('Authorization', mockCredentials.user.header());
    expect(conversation.body.messages[0].executions).toEqual([
      expect.objectContaining({ status: 'failed', summary: said }),
    ]);
  });

  it('stops at the deadline: no object is changed after it, and the answer and the audit say which were and which were not', async () => {
    const asked = await post('ask', {
      question: 'restart the deployments in shop',
    });
    expect(asked.status).toBe(200);
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const apps = kc.makeApiClient(AppsV1Api);
    const restartedAt = async () =>
      Object.fromEntries(
        (await apps.listNamespacedDeployment({ namespace: 'shop' })).items.map(
          d => [
            d.metadata!.name!,
            d.spec?.template?.metadata?.annotations?.[
              'kubectl.kubernetes.io/restartedAt'
            ],
          ],
        ),
      );
    const before = await restartedAt();

    // A slow cluster: the first restart is answered at once, the second is held until the test lets
    // it through, so the 4 s deadline falls while it is under way however loaded the machine.
    proxy.sent.length = 0;
    let letThrough = () => {};
    const held = new Promise<void>(resolve => {
      letThrough = resolve;
    });
    const patches = () => proxy.sent.filter(s => s.method === 'PATCH');
    proxy.hold = sent =>
      sent.method === 'PATCH' && patches().length === 2 ? held : undefined;
    audit.length = 0;
    try {
      const res = await post('execute', {
        messageId: asked.body.messageId,
        confirm: true,
        confirmationToken: asked.body.requirements.confirmationToken,
      });
      expect(res.status).toBe(503);
      // Answered at the deadline, the restart under way still held: not after the cluster answered it.
      const atTheDeadline = await restartedAt();
      letThrough();
      const patched = patches().map(s => s.path.split('/').pop()!);
      // The first restart finished, the second was under way at the deadline.
      expect(patched).toHaveLength(2);
      const [changed, underWay] = patched;
      expect(atTheDeadline[underWay]).toEqual(before[underWay]);
      // Let through, the one under way is still applied (the cluster had it); no third request
      // follows it.
      let after = await restartedAt();
      for (
        let tries = 0;
        tries < 100 && after[underWay] === before[underWay];
        tries++
      ) {
        await new Promise(r => setTimeout(r, 50));
        after = await restartedAt();
      }
      expect(after[underWay]).not.toEqual(before[underWay]);
      await new Promise(r => setTimeout(r, 1000));
      expect(patches()).toHaveLength(2);
      const notChanged = [
        'cart-worker',
        'checkout-web',
        'inventory-service',
      ].find(n => !patched.includes(n))!;
      expect(after[notChanged]).toEqual(before[notChanged]);
      expect(after[changed]).not.toEqual(before[changed]);

      const said = `The cluster did not answer within 4 s, so the assistant stopped and sent no further change (kubeAssistant.executionTimeoutSeconds). 1 of 3 restarted: deployment/${changed} in shop; under way at the deadline, may still complete: deployment/${underWay} in shop; not restarted (no request sent): deployment/${notChanged} in shop.`;
      expect(res.body.error.message).toBe(said);

      const [event] = audit.filter(a => a.options.eventId === 'execution');
      expect(event.fail.mock.calls[0][0].meta).toEqual({
        outcome: 'failed',
        latencyMs: expect.any(Number),
        changed: [`deployment/${changed} in shop`],
        changedCount: 1,
        inFlight: `deployment/${underWay} in shop`,
        notAttempted: 1,
      });
      const conversation = await request(backend.server)
        .get(`/api/kube-assistant/conversations/${asked.body.conversationId}`)
        .set('Authorization', mockCredentials.user.header());
      expect(conversation.body.messages[0].executions).toEqual([
        expect.objectContaining({ status: 'failed', summary: said }),
      ]);
    } finally {
      letThrough();
      proxy.hold = undefined;
    }
  });
});
