import {
  BackstageCredentials,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  ActionsService,
  actionsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startKubechartBackend } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { permissionsDenying } from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
/** May read, not create runs nor roll back. */
const READER = 'user:default/reader';
/** As READER, each with a refusal window of its own. */
const OTHER_READER = 'user:default/reader-other';
const LOOPING = 'user:default/reader-looping';
const BOT = 'external:release-bot';
/** `kubechart.limits.refusedAttemptsAuditedPerMinute` here. */
const RECORDED_PER_MINUTE = 3;

const TOOLS = {
  'install-chart': {
    kind: 'chart',
    permission: 'kubechart.runs.create',
    input: {
      cluster: 'dev',
      namespace: 'tenant-agent',
      release: { name: 'bot', chart: 'webapp' },
      entityRef: 'component:default/agent',
    },
  },
  'rollback-release': {
    kind: 'rollback',
    permission: 'kubechart.runs.rollback',
    input: {
      cluster: 'dev',
      namespace: 'tenant-agent',
      release: 'bot',
      revision: 1,
    },
  },
  'provision-tenant': {
    kind: 'tenant',
    permission: 'kubechart.runs.create',
    input: { cluster: 'dev', tenant: 'bot-made', releases: [] },
  },
} as const;

describe('kubechart changes refused through its tools (actions registry / MCP)', () => {
  let sim: KubeSim;
  let server: any;
  let actions: ActionsService;
  let stop: () => Promise<void>;
  const audit: CapturedAuditEvent[] = [];

  const invoke = (
    name: string,
    input: Record<string, any>,
    credentials: BackstageCredentials = mockCredentials.user(ALICE),
  ) =>
    actions.invoke({ id: `kubechart:${name}`, input, credentials }).then(
      () => ({ statusCode: 200, message: '' }),
      (e: any) => ({
        statusCode: e.statusCode as number,
        message: String(e.body?.error?.message ?? e.message),
      }),
    );

  beforeAll(async () => {
    sim = await startSim();
    const config: any = testConfig(sim, { health: { startOnBoot: false } });
    config.kubechart.limits = {
      ...config.kubechart.limits,
      refusedAttemptsAuditedPerMinute: RECORDED_PER_MINUTE,
    };
    config.backend = { actions: { pluginSources: ['kubechart'] } };
    const probe = createBackendPlugin({
      pluginId: 'probe',
      register(env) {
        env.registerInit({
          deps: { actionsService: actionsServiceRef },
          async init({ actionsService }) {
            actions = actionsService;
          },
        });
      },
    });
    const backend = await startKubechartBackend({
      config,
      features: [
        probe,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        capturingAuditor(audit),
        permissionsDenying(
          (permission, principal) =>
            typeof principal?.userEntityRef === 'string' &&
            principal.userEntityRef.startsWith(READER) &&
            (permission === 'kubechart.runs.create' ||
              permission === 'kubechart.runs.rollback'),
        ),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('records a service refused a change by a tool as a failed run-create, refused, as POST /runs records one', async () => {
    for (const [name, tool] of Object.entries(TOOLS)) {
      audit.length = 0;
      const refused = await invoke(
        name,
        tool.input,
        mockCredentials.service(BOT),
      );
      expect(refused.statusCode).toBe(403);
      expect(audit).toEqual([
        {
          eventId: 'run-create',
          severityLevel: 'medium',
          status: 'failed',
          meta: {
            action: `kubechart:${name}`,
            kind: tool.kind,
            cluster: 'dev',
            requestedEntityRef:
              'entityRef' in tool.input ? tool.input.entityRef : null,
            actor: `service:${BOT}`,
            outcome: 'refused',
          },
          error: refused.message,
        },
      ]);
      expect(refused.message).toContain(
        `service:${BOT} is a service, which the kubechart backend would record as the kubechart plugin itself`,
      );
    }
    // A read refused to a service changes nothing: not a refused mutation.
    audit.length = 0;
    expect(
      (await invoke('list-runs', {}, mockCredentials.service(BOT))).statusCode,
    ).toBe(403);
    expect(audit).toEqual([]);
  });

  it('records a user the actions registry refuses a change (no permission) as POST /runs records it, the tool kept hidden', async () => {
    for (const [name, tool] of Object.entries(TOOLS)) {
      audit.length = 0;
      const refused = await invoke(
        name,
        tool.input,
        mockCredentials.user(READER),
      );
      // The registry's own answer, as for a tool that does not exist.
      expect(refused).toEqual({
        statusCode: 404,
        message: `Action "kubechart:${name}" not found`,
      });
      expect(audit).toEqual([
        {
          eventId: 'run-create',
          severityLevel: 'medium',
          status: 'failed',
          meta: {
            action: `kubechart:${name}`,
            kind: tool.kind,
            cluster: 'dev',
            requestedEntityRef:
              'entityRef' in tool.input ? tool.input.entityRef : null,
            actor: READER,
            outcome: 'refused',
          },
          error: `Not allowed: ${tool.permission}`,
        },
      ]);
    }
    // The same refusal through the REST API: the same event.
    audit.length = 0;
    const rest = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(OTHER_READER))
      .send({ kind: 'chart', ...TOOLS['install-chart'].input });
    expect(rest.status).toBe(403);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      eventId: 'run-create',
      status: 'failed',
      error: 'Not allowed: kubechart.runs.create',
      meta: {
        kind: 'chart',
        cluster: 'dev',
        requestedEntityRef: 'component:default/agent',
        actor: OTHER_READER,
        outcome: 'refused',
      },
    });

    // Nothing recorded as refused for a tool that does not exist, or bad input of a caller who may
    // change (the registry's 400).
    audit.length = 0;
    expect(
      (await invoke('no-such-tool', {}, mockCredentials.user(OTHER_READER)))
        .statusCode,
    ).toBe(404);
    expect((await invoke('install-chart', { cluster: 'dev' })).statusCode).toBe(
      400,
    );
    expect(audit).toEqual([]);
    // What of the refused input is not text of a length a run request takes is not recorded.
    const odd = await invoke(
      'install-chart',
      { cluster: 'x'.repeat(10_000), entityRef: ['not', 'text'] },
      mockCredentials.user(OTHER_READER),
    );
    expect(odd.statusCode).toBe(404);
    expect(audit.map(e => e.meta)).toEqual([
      {
        action: 'kubechart:install-chart',
        kind: 'chart',
        cluster: null,
        requestedEntityRef: null,
        actor: OTHER_READER,
        outcome: 'refused',
      },
    ]);
  });

  it('counts refusals through the tools and POST /runs in one window per caller', async () => {
    audit.length = 0;
    const statuses: number[] = [];
    const viaTool = async () =>
      statuses.push(
        (
          await invoke(
            'install-chart',
            TOOLS['install-chart'].input,
            mockCredentials.user(LOOPING),
          )
        ).statusCode,
      );
    await viaTool();
    await viaTool();
    const rest = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(LOOPING))
      .send({ kind: 'chart', ...TOOLS['install-chart'].input });
    statuses.push(rest.status);
    await viaTool();
    await viaTool();
    expect(statuses).toEqual([404, 404, 403, 404, 404]);
    // Three recorded one by one (kubechart.limits.refusedAttemptsAuditedPerMinute), the rest counted.
    expect(
      audit.map(e => [e.eventId, e.meta.actor, e.meta.action ?? 'POST /runs']),
    ).toEqual([
      ['run-create', LOOPING, 'kubechart:install-chart'],
      ['run-create', LOOPING, 'kubechart:install-chart'],
      ['run-create', LOOPING, 'POST /runs'],
    ]);
  });
  it("refuses a user's credentials passed on by a plugin not allowed to act as a user, audited, and runs nothing", async () => {
    const RELAYED = 'user:default/relayed-bob';
    const passedOn = (plugin: string) =>
      `Bearer ${mockCredentials.user.token(RELAYED, {
        actor: { subject: plugin },
      })}`;
    const invokeAs = (name: string, input: object, auth: string) =>
      request(server)
        .post(
          `/api/kubechart/.backstage/actions/v1/actions/kubechart:${name}/invoke`,
        )
        .set('Authorization', auth)
        .send(input);
    const runsOf = async () =>
      (
        await request(server)
          .get('/api/kubechart/runs?limit=200')
          .set('Authorization', mockCredentials.user.header(ALICE))
      ).body.items.filter((r: any) => r.actor === RELAYED);
    audit.length = 0;
    const refused = await invokeAs(
      'provision-tenant',
      { cluster: 'dev', tenant: 'via-catalog', releases: [] },
      passedOn('plugin:catalog'),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      `plugin:catalog may not act on behalf of ${RELAYED}: a user's credentials are accepted when passed on only from the plugins listed in kubechart.onBehalfOf.relayingPlugins; nothing was done. ${RELAYED} calls kubechart with their own token`,
    );
    expect(await runsOf()).toEqual([]);
    expect(audit).toEqual([
      {
        eventId: 'run-create',
        severityLevel: 'medium',
        status: 'failed',
        meta: {
          action: 'kubechart:provision-tenant',
          kind: 'tenant',
          cluster: 'dev',
          requestedEntityRef: null,
          actor: RELAYED,
          relayedBy: 'plugin:catalog',
          outcome: 'refused',
        },
        error: refused.body.error.message,
      },
    ]);
    // A read through a tool is refused alike, and changes nothing to record.
    audit.length = 0;
    expect(
      (await invokeAs('list-runs', {}, passedOn('plugin:catalog'))).status,
    ).toBe(403);
    expect(audit).toEqual([]);

    // Backstage's MCP actions backend and the scaffolder invoke tools with the user's credentials.
    for (const plugin of ['plugin:mcp-actions', 'plugin:scaffolder']) {
      const listed = await invokeAs('list-runs', {}, passedOn(plugin));
      expect([listed.status, listed.body.error?.message]).toEqual([
        200,
        undefined,
      ]);
    }
  });
});
