import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { assistantPlugin } from '../plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from '../__testUtils__/backend';

jest.setTimeout(60_000);

const JANE = 'user:default/jane';

const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () =>
    ({
      async authorize(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
      },
      async authorizeConditional(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.ALLOW }));
      },
    } as any),
});

/** A user's credentials as the MCP actions backend passes them on to the action. */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

/**
 * A question an AI agent asks through the MCP tool `kube-assistant:plan-question` (credentials
 * passed on by plugin:mcp-actions) names that plugin in its audit event, so the trail tells an
 * agent's plans (dangerous ones included) from what the user typed in the portal.
 */
describe('the audit trail of a question planned through the MCP tool', () => {
  const audit: AuditCall[] = [];
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', tls: true, podReadyDelayMs: 50 });
    const backend = await startTestBackend({
      features: [
        assistantPlugin,
        permissions,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        catalogServiceMock.factory({ entities: [] }),
        recordingAuditor(audit),
        mockServices.rootConfig.factory({
          data: {
            backend: { actions: { pluginSources: ['kube-assistant'] } },
            kubernetes: simCluster(sim),
            kubeAssistant: {
              allowDangerous: true,
              providers: [{ id: 'builtin' }],
            },
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('names plugin:mcp-actions as relayedBy on the question event of a dangerous plan', async () => {
    audit.length = 0;
    const r = await request(server)
      .post(
        '/api/kube-assistant/.backstage/actions/v1/actions/kube-assistant:plan-question/invoke',
      )
      .set('Authorization', passedOn(JANE, 'plugin:mcp-actions'))
      .send({ question: 'delete deployment checkout-web in shop' });
    expect(r.status).toBe(200);
    expect(r.body.output.safety.level).toBe('dangerous');
    const questions = audit.filter(a => a.options.eventId === 'question');
    expect(questions).toHaveLength(1);
    const started = questions[0].options.meta as Record<string, unknown>;
    const outcome = (questions[0].success.mock.calls[0]?.[0]?.meta ??
      {}) as Record<string, unknown>;
    expect({ ...started, ...outcome }).toMatchObject({
      user: JANE,
      outcome: 'planned',
      relayedBy: 'plugin:mcp-actions',
    });
  });

  it('names no relaying plugin on a question the user asked in the portal', async () => {
    audit.length = 0;
    const r = await request(server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', `Bearer ${mockCredentials.user.token(JANE)}`)
      .send({ question: 'list pods in shop' });
    expect(r.status).toBe(200);
    const questions = audit.filter(a => a.options.eventId === 'question');
    expect(questions).toHaveLength(1);
    const started = questions[0].options.meta as Record<string, unknown>;
    const outcome = (questions[0].success.mock.calls[0]?.[0]?.meta ??
      {}) as Record<string, unknown>;
    expect({ ...started, ...outcome }).toMatchObject({
      user: JANE,
      outcome: 'planned',
    });
    expect({ ...started, ...outcome }).not.toHaveProperty('relayedBy');
  });
});
