import {
  AuthService,
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceFactory } from '@backstage/backend-defaults/alpha';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import {
  CapturedAuditEvent,
  capturingAuditor,
  capturingLogger,
} from '../__testUtils__/capture';
import { startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  permissionsDenying,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';
import { ACTION_INVOKER_HEADER } from '../service/identity';

jest.setTimeout(120_000);

const BOB = 'user:default/bob';

/**
 * The auth service as Backstage's passes a user's credentials on: the token another plugin receives
 * is the user's, with the plugin that passed it on as its `actor` (the mock auth service drops it).
 */
const authPassingOnAsBackstage = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }): AuthService {
    const auth = mockServices.auth({ pluginId: plugin.getId() });
    return Object.assign(Object.create(auth), {
      async getPluginRequestToken(options: {
        onBehalfOf: BackstageCredentials;
        targetPluginId: string;
      }) {
        const principal = options.onBehalfOf.principal as {
          type: string;
          userEntityRef?: string;
        };
        if (principal.type !== 'user')
          return auth.getPluginRequestToken(options);
        return {
          token: mockCredentials.user.token(principal.userEntityRef, {
            actor: { subject: `plugin:${plugin.getId()}` },
          }),
        };
      },
    });
  },
});

/** A user's credentials as a plugin passes them on (`getPluginRequestToken({ onBehalfOf })`). */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

describe("the audit trail of a change made through kubechart's actions", () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const audit: CapturedAuditEvent[] = [];
  const logs: string[] = [];

  const invoke = (name: string, input: object, auth: string) =>
    request(server)
      .post(
        `/api/kubechart/.backstage/actions/v1/actions/kubechart:${name}/invoke`,
      )
      .set('Authorization', auth)
      .send(input);
  /** The tenant each run started through an action provisions, by run id. */
  const tenantOf = new Map<string, string>();
  const runCreated = (tenant: string) =>
    audit.find(
      e =>
        e.eventId === 'run-create' &&
        e.status === 'succeeded' &&
        e.meta.kind === 'tenant' &&
        e.meta.runId !== undefined &&
        tenantOf.get(e.meta.runId) === tenant,
    );
  const settle = async () => {
    for (let i = 0; i < 300; i++) {
      const items = (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', mockCredentials.user.header(BOB))
      ).body.items as any[];
      if (!items.some(r => r.status === 'pending' || r.status === 'running'))
        return;
      await new Promise(r => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    sim = await startSim();
    const config: any = testConfig(sim, { health: { startOnBoot: false } });
    config.backend = { actions: { pluginSources: ['kubechart'] } };
    const backend = await startKubechartBackend({
      config,
      features: [
        actionsRegistryServiceFactory,
        authPassingOnAsBackstage,
        capturingAuditor(audit),
        capturingLogger(logs),
        permissionsDenying(() => false),
        userInfoWithGroups({ [BOB]: [] }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    if (server) await settle();
    await stop?.();
    await sim?.stop();
  });

  it('starts without a warning about kubechart.onBehalfOf.relayingPlugins by default', () => {
    expect(
      logs.filter(l => l.includes('kubechart.onBehalfOf.relayingPlugins')),
    ).toEqual([]);
  });

  it('names the plugin that invoked the action as relayedBy, not kubechart itself', async () => {
    const started = async (tenant: string, auth: string) => {
      const r = await invoke(
        'provision-tenant',
        { cluster: 'dev', tenant, releases: [] },
        auth,
      );
      expect([tenant, r.status]).toEqual([tenant, 200]);
      tenantOf.set(r.body.output.runId, tenant);
    };
    await started('via-mcp', passedOn(BOB, 'plugin:mcp-actions'));
    await started('via-scaffolder', passedOn(BOB, 'plugin:scaffolder'));
    await started('via-bob', mockCredentials.user.header(BOB));
    expect(runCreated('via-mcp')?.meta).toMatchObject({
      actor: BOB,
      relayedBy: 'plugin:mcp-actions',
    });
    expect(runCreated('via-scaffolder')?.meta).toMatchObject({
      actor: BOB,
      relayedBy: 'plugin:scaffolder',
    });
    // Invoked with Bob's own token: kubechart's action passed it on, and nobody before it.
    expect(runCreated('via-bob')?.meta).toMatchObject({
      actor: BOB,
      relayedBy: 'plugin:kubechart',
    });
  });

  it('takes the name of the invoking plugin from kubechart itself only', async () => {
    audit.length = 0;
    // Anyone else naming one changes nothing: the plugin that passed the credentials on is checked.
    const laundered = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', passedOn(BOB, 'plugin:catalog'))
      .set(ACTION_INVOKER_HEADER, 'plugin:scaffolder')
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'laundered',
        releases: [],
      });
    expect(laundered.status).toBe(403);
    expect(laundered.body.error.message).toContain(
      `plugin:catalog may not act on behalf of ${BOB}`,
    );
    const own = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(BOB))
      .set(ACTION_INVOKER_HEADER, 'plugin:scaffolder')
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'own-token',
        releases: [],
      });
    expect(own.status).toBe(202);
    expect(
      audit
        .filter(e => e.eventId === 'run-create')
        .map(e => [e.status, e.meta.relayedBy]),
    ).toEqual([
      ['failed', 'plugin:catalog'],
      ['succeeded', undefined],
    ]);
    // From kubechart's own actions, a name that is not a plugin is refused.
    const odd = await request(server)
      .get('/api/kubechart/runs')
      .set('Authorization', passedOn(BOB, 'plugin:kubechart'))
      .set(ACTION_INVOKER_HEADER, 'scaffolder');
    expect([odd.status, odd.body.error?.message]).toEqual([
      400,
      `${ACTION_INVOKER_HEADER} is "scaffolder", which is not a plugin: kubechart's actions name the plugin that invoked them as plugin:<plugin id>; nothing was done`,
    ]);
  });
});

describe("kubechart's actions when kubechart itself may not pass a user's credentials on", () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const audit: CapturedAuditEvent[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const config: any = testConfig(sim, { health: { startOnBoot: false } });
    config.backend = { actions: { pluginSources: ['kubechart'] } };
    config.kubechart.onBehalfOf = { relayingPlugins: ['plugin:mcp-actions'] };
    const backend = await startKubechartBackend({
      config,
      features: [
        actionsRegistryServiceFactory,
        authPassingOnAsBackstage,
        capturingAuditor(audit),
        capturingLogger(logs),
        permissionsDenying(() => false),
        userInfoWithGroups({ [BOB]: [] }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('warns at start-up that every kubechart action will be refused', () => {
    expect(
      logs
        .filter(l => l.includes('kubechart.onBehalfOf.relayingPlugins'))
        .map(l => l.trim()),
    ).toEqual([
      expect.stringMatching(
        /^warn kubechart\.onBehalfOf\.relayingPlugins leaves out plugin:kubechart: every kubechart\.\* action is refused \(403\) to every user, however it is invoked \(MCP, a template step\), since the actions call the kubechart REST API with the user's credentials passed on by plugin:kubechart\. Add plugin:kubechart to the list to offer the actions\./,
      ),
    ]);
  });

  it('refuses an action invoked through a listed plugin, as its call of the REST API is passed on by kubechart', async () => {
    const r = await request(server)
      .post(
        '/api/kubechart/.backstage/actions/v1/actions/kubechart:provision-tenant/invoke',
      )
      .set('Authorization', passedOn(BOB, 'plugin:mcp-actions'))
      .send({ cluster: 'dev', tenant: 'via-mcp', releases: [] });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain(
      `plugin:kubechart may not act on behalf of ${BOB}`,
    );
    const runs = await request(server)
      .get('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(BOB));
    expect(runs.body.items).toEqual([]);
    // The audit trail still names the plugin that invoked the action.
    expect(
      audit
        .filter(e => e.eventId === 'run-create')
        .map(e => [e.status, e.meta.relayedBy]),
    ).toEqual([['failed', 'plugin:mcp-actions']]);
  });
});
