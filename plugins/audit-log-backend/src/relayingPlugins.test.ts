import {
  AuthService,
  BackstageCredentials,
  coreServices,
  createServiceFactory,
  RootLoggerService,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceFactory } from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import request from 'supertest';
import { auditLogPlugin } from './plugin';

jest.setTimeout(60_000);

const ADMIN = 'user:default/admin';
const admin = mockCredentials.user.header(ADMIN);
const SETTING = 'auditLog.onBehalfOf.relayingPlugins';

/** A user's credentials as a plugin passes them on (`getPluginRequestToken({ onBehalfOf })`). */
const passedOn = (user: string, plugin: string) =>
  `Bearer ${mockCredentials.user.token(user, { actor: { subject: plugin } })}`;

const refusal = (plugin: string, user: string) =>
  `${plugin} may not act on behalf of ${user}: a user's credentials are accepted when passed on only from the plugins listed in ${SETTING}; nothing was done. ${user} calls audit-log with their own token`;

/** admin and every service: everything; anyone else: nothing of the audit log. */
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () =>
    ({
      async authorize(requests: any[], options: any) {
        const principal = options?.credentials.principal;
        return requests.map(() => ({
          result:
            principal?.userEntityRef === ADMIN || principal?.type === 'service'
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
        }));
      },
      async authorizeConditional(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.DENY }));
      },
    } as any),
});

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

/** A root logger that keeps every warning. */
function warningsInto(warnings: string[]) {
  const logger: RootLoggerService = {
    error: () => {},
    warn: message => void warnings.push(message),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () => logger,
  });
}

function start(auditLog: object, warnings: string[] = []) {
  return startTestBackend({
    features: [
      auditLogPlugin,
      auditLogAuditorServiceFactory,
      permissions,
      actionsRegistryServiceFactory,
      authPassingOnAsBackstage,
      warningsInto(warnings),
      mockServices.rootConfig.factory({
        data: {
          backend: {
            database: { client: 'better-sqlite3', connection: ':memory:' },
            actions: { pluginSources: ['audit-log'] },
          },
          auditLog: { queue: { flushIntervalMs: 5 }, ...auditLog },
        },
      }),
    ],
  });
}

const invokeQuery = (server: any, auth: string) =>
  request(server)
    .post(
      '/api/audit-log/.backstage/actions/v1/actions/audit-log:query-audit-events/invoke',
    )
    .set('Authorization', auth)
    .send({ severity: ['high'] });

async function waitForEvents(
  server: any,
  query: Record<string, string>,
  count: number,
): Promise<AuditEvent[]> {
  for (let i = 0; i < 200; i++) {
    const res = await request(server)
      .get('/api/audit-log/events')
      .query(query)
      .set('Authorization', admin);
    expect(res.status).toBe(200);
    if (res.body.items.length >= count) return res.body.items;
    await new Promise(r => setTimeout(r, 50));
  }
  return [];
}

describe("a user's credentials passed on to the audit log by another plugin", () => {
  let server: any;
  let stop: () => Promise<void>;
  const warnings: string[] = [];

  beforeAll(async () => {
    const backend = await start({}, warnings);
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
  });

  it(`are refused from a plugin not in ${SETTING}, on every route, naming the plugin and the setting`, async () => {
    const catalog = passedOn(ADMIN, 'plugin:catalog');
    const answers = await Promise.all([
      request(server)
        .get('/api/audit-log/events')
        .set('Authorization', catalog),
      request(server)
        .get('/api/audit-log/events/1')
        .set('Authorization', catalog),
      request(server)
        .get('/api/audit-log/verify')
        .set('Authorization', catalog),
      request(server)
        .get('/api/audit-log/export?format=ndjson')
        .set('Authorization', catalog),
      request(server)
        .post('/api/audit-log/prune')
        .set('Authorization', catalog)
        .send({ before: '2003-03-03T00:00:00.000Z' }),
    ]);
    expect(answers.map(r => [r.status, r.body.error?.message])).toEqual(
      answers.map(() => [403, refusal('plugin:catalog', ADMIN)]),
    );
    // The refused prune is in the trail, with the plugin that passed the credentials on.
    const [prune] = await waitForEvents(
      server,
      { eventId: 'events-prune', status: 'failed', q: '2003-03-03' },
      1,
    );
    expect(prune).toMatchObject({
      meta: {
        outcome: 'refused',
        actor: ADMIN,
        relayedBy: 'plugin:catalog',
        before: '2003-03-03T00:00:00.000Z',
      },
    });
    expect(prune.error).toBe(
      `NotAllowedError: ${refusal('plugin:catalog', ADMIN)}`,
    );
  });

  it("serves the user's own token, a service, and the plugins that pass a user's credentials on by default", async () => {
    for (const auth of [
      admin,
      mockCredentials.service.header(),
      passedOn(ADMIN, 'plugin:mcp-actions'),
      passedOn(ADMIN, 'plugin:scaffolder'),
      passedOn(ADMIN, 'plugin:audit-log'),
    ]) {
      const r = await request(server)
        .get('/api/audit-log/events')
        .set('Authorization', auth);
      expect([r.status, r.body.error?.message]).toEqual([200, undefined]);
    }
    expect(warnings.filter(w => w.includes(SETTING))).toEqual([]);
  });

  it('answers the query-audit-events action invoked through the MCP actions backend, and refuses it through another plugin', async () => {
    const viaMcp = await invokeQuery(
      server,
      passedOn(ADMIN, 'plugin:mcp-actions'),
    );
    expect([viaMcp.status, viaMcp.body.error?.message]).toEqual([
      200,
      undefined,
    ]);
    expect(viaMcp.body.output.events).toEqual(expect.any(Array));
    const viaCatalog = await invokeQuery(
      server,
      passedOn(ADMIN, 'plugin:catalog'),
    );
    expect([viaCatalog.status, viaCatalog.body.error?.message]).toEqual([
      403,
      refusal('plugin:catalog', ADMIN),
    ]);
  });
});

describe(`${SETTING} configured`, () => {
  let server: any;
  let stop: () => Promise<void>;
  const warnings: string[] = [];

  beforeAll(async () => {
    const backend = await start(
      { onBehalfOf: { relayingPlugins: ['plugin:mcp-actions'] } },
      warnings,
    );
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
  });

  it('follows the list: the plugins it names act as the user, others are refused', async () => {
    const mcp = await request(server)
      .get('/api/audit-log/events')
      .set('Authorization', passedOn(ADMIN, 'plugin:mcp-actions'));
    expect(mcp.status).toBe(200);
    const scaffolder = await request(server)
      .get('/api/audit-log/events')
      .set('Authorization', passedOn(ADMIN, 'plugin:scaffolder'));
    expect([scaffolder.status, scaffolder.body.error?.message]).toEqual([
      403,
      refusal('plugin:scaffolder', ADMIN),
    ]);
  });

  it('warns at start-up, and refuses the action, when the list leaves out plugin:audit-log', async () => {
    expect(warnings.filter(w => w.includes(SETTING))).toEqual([
      `${SETTING} leaves out plugin:audit-log: the audit-log:query-audit-events action is refused (403) to every user, however it is invoked, since it reads the audit log REST API with the user's credentials passed on by plugin:audit-log. Add plugin:audit-log to the list to offer the action.`,
    ]);
    const viaMcp = await invokeQuery(
      server,
      passedOn(ADMIN, 'plugin:mcp-actions'),
    );
    expect([viaMcp.status, viaMcp.body.error?.message]).toEqual([
      403,
      refusal('plugin:audit-log', ADMIN),
    ]);
  });
});

describe('auditLog.onBehalfOf.relayingPlugins', () => {
  it('holds only plugins: an entry that is not plugin:<id> stops the backend at start-up', async () => {
    await expect(
      start({
        onBehalfOf: { relayingPlugins: ['plugin:mcp-actions', 'mcp-actions'] },
      }),
    ).rejects.toThrow(
      `${SETTING}[1] is "mcp-actions", which is not a plugin: write plugin:<plugin id> (e.g. plugin:scaffolder); a user's credentials are passed on by a plugin, never by an external access subject`,
    );
  });
});
