import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceFactory } from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { assistantPlugin } from './plugin';
import {
  AuditCall,
  recordingAuditor,
  simCluster,
} from './__testUtils__/backend';

jest.setTimeout(60_000);

const JANE = 'user:default/jane';
const SETTING = 'kubeAssistant.onBehalfOf.relayingPlugins';

/** A user's credentials as a plugin passes them on (`getPluginRequestToken({ onBehalfOf })`). */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

const refusal = (plugin: string, user: string) =>
  `${plugin} may not act on behalf of ${user}: a user's credentials are accepted when passed on only from the plugins listed in ${SETTING}; nothing was done. ${user} calls kube-assistant with their own token`;

/** Everyone may do everything. */
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

function start(sim: KubeSim, audit: AuditCall[], kubeAssistant: object = {}) {
  return startTestBackend({
    features: [
      assistantPlugin,
      permissions,
      actionsRegistryServiceFactory,
      catalogServiceMock.factory({ entities: [] }),
      recordingAuditor(audit),
      mockServices.rootConfig.factory({
        data: {
          backend: { actions: { pluginSources: ['kube-assistant'] } },
          kubernetes: simCluster(sim),
          kubeAssistant: {
            providers: [{ id: 'builtin', timeoutMs: 45_000 }],
            nameLookupTimeoutMs: 30_000,
            ...kubeAssistant,
          },
        },
      }),
    ],
  });
}

describe("a user's credentials passed on to the assistant by another plugin", () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const audit: AuditCall[] = [];

  const ask = (auth: string, question = 'list pods in namespace shop') =>
    request(server)
      .post('/api/kube-assistant/ask')
      .set('Authorization', auth)
      .send({ question });
  const execute = (auth: string, messageId: string) =>
    request(server)
      .post('/api/kube-assistant/execute')
      .set('Authorization', auth)
      .send({ messageId });
  const plan = (auth: string) =>
    request(server)
      .post(
        '/api/kube-assistant/.backstage/actions/v1/actions/kube-assistant:plan-question/invoke',
      )
      .set('Authorization', auth)
      .send({ question: 'list pods in namespace shop' });

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', tls: true, podReadyDelayMs: 50 });
    const backend = await start(sim, audit);
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  beforeEach(() => {
    audit.length = 0;
  });

  it(`are refused from a plugin not in ${SETTING}: nothing is asked or run, and the refusal is audited`, async () => {
    // Jane's own answer, which she could run herself.
    const own = await ask(mockCredentials.user.header(JANE));
    expect(own.status).toBe(200);
    audit.length = 0;

    const catalog = passedOn(JANE, 'plugin:catalog');
    const answers = await Promise.all([
      ask(catalog),
      execute(catalog, own.body.messageId),
      request(server)
        .get('/api/kube-assistant/conversations')
        .set('Authorization', catalog),
      request(server)
        .get(`/api/kube-assistant/conversations/${own.body.conversationId}`)
        .set('Authorization', catalog),
      plan(catalog),
    ]);
    expect(answers.map(r => [r.status, r.body.error?.message])).toEqual(
      answers.map(() => [403, refusal('plugin:catalog', JANE)]),
    );
    // The question (REST and action) and the run are in the trail as refused, naming the plugin;
    // nothing ran.
    expect(
      audit.map(a => [
        a.options.eventId,
        a.fail.mock.calls[0]?.[0].meta,
        a.success.mock.calls.length,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [
          'question',
          expect.objectContaining({
            outcome: 'refused',
            stage: 'relay',
            relayedBy: 'plugin:catalog',
            reason: refusal('plugin:catalog', JANE),
          }),
          0,
        ],
        [
          'execution',
          expect.objectContaining({
            outcome: 'refused',
            stage: 'relay',
            relayedBy: 'plugin:catalog',
            reason: refusal('plugin:catalog', JANE),
          }),
          0,
        ],
      ]),
    );
    expect(audit.map(a => a.options.eventId).sort()).toEqual([
      'execution',
      'question',
      'question',
    ]);
    expect(audit.every(a => a.success.mock.calls.length === 0)).toBe(true);
  });

  it("serves the user's own token and the plugins that pass a user's credentials on by default", async () => {
    const own = await ask(mockCredentials.user.header(JANE));
    expect([own.status, own.body.command]).toEqual([
      200,
      expect.stringMatching(/^kubectl get pods/),
    ]);
    const ran = await execute(
      mockCredentials.user.header(JANE),
      own.body.messageId,
    );
    expect([ran.status, ran.body.error?.message]).toEqual([200, undefined]);
    for (const plugin of ['plugin:mcp-actions', 'plugin:scaffolder']) {
      const planned = await plan(passedOn(JANE, plugin));
      expect([planned.status, planned.body.output?.command]).toEqual([
        200,
        expect.stringMatching(/^kubectl get pods/),
      ]);
    }
  });
});

describe(`${SETTING} configured`, () => {
  let sim: KubeSim;
  const audit: AuditCall[] = [];

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', tls: true, podReadyDelayMs: 50 });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  it('follows the list: the plugins it names act as the user, others are refused', async () => {
    const backend = await start(sim, audit, {
      onBehalfOf: { relayingPlugins: ['plugin:portal-bff'] },
    });
    try {
      const ask = (plugin: string) =>
        request(backend.server)
          .post('/api/kube-assistant/ask')
          .set('Authorization', passedOn(JANE, plugin))
          .send({ question: 'list pods in namespace shop' });
      expect((await ask('plugin:portal-bff')).status).toBe(200);
      const mcp = await ask('plugin:mcp-actions');
      expect([mcp.status, mcp.body.error?.message]).toEqual([
        403,
        refusal('plugin:mcp-actions', JANE),
      ]);
    } finally {
      await backend.stop();
    }
  });

  it('holds only plugins: an entry that is not plugin:<id> stops the backend at start-up', async () => {
    await expect(
      start(sim, audit, {
        onBehalfOf: { relayingPlugins: ['plugin:mcp-actions', 'external:bot'] },
      }),
    ).rejects.toThrow(
      `${SETTING}[1] is "external:bot", which is not a plugin: write plugin:<plugin id> (e.g. plugin:scaffolder); a user's credentials are passed on by a plugin, never by an external access subject`,
    );
  });
});
