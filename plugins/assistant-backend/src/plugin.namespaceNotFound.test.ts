import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';
import { assistantPlugin } from './plugin';

jest.setTimeout(60_000);

/**
 * "in <word>" is read as a namespace when the word is no other name ("show pods in trouble": `-n
 * trouble`). A namespace the cluster does not have answered an empty table, "No deployments
 * matched; nothing changed." or the named object's NotFound, as if the namespace were there and
 * empty: the question is refused, saying the cluster has no such namespace.
 */
describe('kube-assistant: a namespace the cluster does not have', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim, 'skip'),
            kubeAssistant: {
              // What is compared is the answer read with the cluster's names, not how fast.
              providers: [{ id: 'builtin', timeoutMs: 45_000 }],
              nameLookupTimeoutMs: 30_000,
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
    await sim?.stop();
  });

  beforeEach(() => {
    audit.length = 0;
  });

  const ask = (question: string) =>
    request(backend.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header())
      .send({ question });

  it.each([
    {
      question: 'show pods in trouble',
      message:
        'I understood that you want to list pods in namespace "trouble", but the cluster sim has no namespace "trouble", so there is nothing there to show. Name a namespace the cluster has. Nothing was planned.',
    },
    {
      question: 'warnings in prod',
      message:
        'I understood that you want to list events in namespace "prod", but the cluster sim has no namespace "prod", so there is nothing there to show. Name a namespace the cluster has. Nothing was planned.',
    },
    {
      question: 'show deployment checkout-web in prod',
      message:
        'I understood that you want to list deployments named checkout-web in namespace "prod", but the cluster sim has no namespace "prod", so there is nothing there to show. Name a namespace the cluster has. Nothing was planned.',
    },
    {
      question: 'restart deployments in prod',
      message:
        'I understood that you want to restart deployments in namespace "prod", but the cluster sim has no namespace "prod", so there is nothing there to change. Name a namespace the cluster has. Nothing was planned.',
    },
  ])(
    'refuses "$question", saying the cluster has no such namespace',
    async ({ question, message }) => {
      const res = await ask(question);
      expect([res.status, res.body.error?.message]).toEqual([400, message]);
      expect(res.body.messageId).toBeUndefined();
      const event = audit.find(a => a.options.eventId === 'question')!;
      expect(event.fail.mock.calls[0][0].meta).toMatchObject({
        outcome: 'refused',
        reason: message,
        stage: 'plan',
      });
    },
  );

  it('plans a question about a namespace the cluster has, as before', async () => {
    const res = await ask('show pods in shop');
    expect([res.status, res.body.command]).toEqual([
      200,
      'kubectl get pods --context sim -n shop',
    ]);
  });
});
