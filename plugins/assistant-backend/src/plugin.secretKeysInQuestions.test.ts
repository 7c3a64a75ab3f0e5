import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(120_000);

const SECRET = 'Hunter2xyz9Q';

/**
 * A value typed into a change under a key the plan's redaction hides (the shared key rule of
 * `@kubechart/plugin-audit-log-common`: `signing-key`, `authorization`, `session-cookie`, `db.pass`)
 * is refused as a secret, as `db-password=…` is: the question is not kept with the value while
 * the plan made of it shows `***`.
 */
describe('kube-assistant: secret values under any key the plan hides', () => {
  let sim: KubeSim;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo' });
    backend = await startTestBackend({
      features: [
        assistantPlugin,
        mockServices.rootConfig.factory({
          data: {
            kubernetes: simCluster(sim, 'skip'),
            kubeAssistant: {
              // The builtin parser plans it, as it does for anyone when the model is down.
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

  const ask = (question: string) =>
    request(backend.server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', mockCredentials.user.header())
      .send({ question });

  it.each([
    [
      'annotate deployment inventory-service in shop signing-key=',
      'signing-key',
    ],
    [
      'annotate deployment inventory-service in shop authorization=',
      'authorization',
    ],
    ['label deployment inventory-service in shop ssh-key=', 'ssh-key'],
    [
      'annotate deployment inventory-service in shop session-cookie=',
      'session-cookie',
    ],
    ['annotate deployment inventory-service in shop db.pass=', 'db.pass'],
  ])('refuses "%s…" and keeps the value nowhere', async (change, key) => {
    audit.length = 0;
    const asked = await ask(`${change}${SECRET}`);
    expect(asked.status).toBe(400);
    expect(asked.body.error.message).toContain(
      `This question holds a secret value (${key}=***)`,
    );
    expect(asked.body.messageId).toBeUndefined();
    const [event] = audit;
    expect(event.options.meta?.question).toBe(`${change}***`);
    expect(event.fail.mock.calls[0][0].meta.stage).toBe('screening');
    const conversations = await request(backend.server)
      .get('/api/kube-assistant/conversations')
      .set('Authorization', mockCredentials.user.header());
    expect(conversations.body.items).toEqual([]);
    expect(
      JSON.stringify([
        asked.body,
        audit.map(a => [
          a.options.meta,
          a.fail.mock.calls,
          a.success.mock.calls,
        ]),
      ]),
    ).not.toContain(SECRET);
  });

  it('refuses a secret key written in a JSON patch body', async () => {
    audit.length = 0;
    const asked = await ask(
      `patch deployment inventory-service in shop '{"metadata":{"annotations":{"signing-key":"${SECRET}"}}}'`,
    );
    expect(asked.status).toBe(400);
    expect(asked.body.error.message).toContain(
      'This question holds a secret value (',
    );
    expect(JSON.stringify([asked.body, audit[0].options.meta])).not.toContain(
      SECRET,
    );
  });

  it('plans a change whose keys name no secret, as before', async () => {
    const asked = await ask(
      'annotate deployment inventory-service in shop owner=team-shop',
    );
    expect(asked.status).toBe(200);
    expect(asked.body.command).toContain('owner=team-shop');
  });
});
