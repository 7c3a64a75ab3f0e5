import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  ActionsService,
  actionsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import { auditLogPlugin } from '../plugin';

jest.setTimeout(60_000);

const ADMIN = 'user:default/admin';
const OUTSIDER = 'user:default/outsider';

/**
 * admin: everything; outsider: nothing of the audit log; a service: everything, as Backstage's
 * permission client decides for a service principal without access restrictions.
 */
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () =>
    ({
      async authorize(requests: any[], options: any) {
        const principal = options?.credentials.principal;
        const ref = principal?.userEntityRef;
        return requests.map(({ permission }) => ({
          result:
            !permission.name.startsWith('audit-log.') ||
            ref === ADMIN ||
            principal?.type === 'service'
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
        }));
      },
      async authorizeConditional(requests: any[]) {
        return requests.map(() => ({ result: AuthorizeResult.DENY }));
      },
    } as any),
});

let actions: ActionsService;
let audit: (eventId: string, severityLevel: 'low' | 'high') => Promise<void>;

/** Captures the actions service, and audits events the way a plugin does. */
const probe = createBackendPlugin({
  pluginId: 'kubechart',
  register(env) {
    env.registerInit({
      deps: {
        actionsService: actionsServiceRef,
        auditor: coreServices.auditor,
      },
      async init({ actionsService, auditor }) {
        actions = actionsService;
        audit = async (eventId, severityLevel) => {
          const event = await auditor.createEvent({
            eventId,
            severityLevel,
            meta: { cluster: 'dev', namespace: 'team-a', release: 'web' },
          });
          await event.success();
        };
      },
    });
  },
});

describe('audit-log actions (actions registry / MCP)', () => {
  let stop: () => Promise<void>;
  const invoke = (user: string, input: Record<string, any>) =>
    actions.invoke({
      id: 'audit-log:query-audit-events',
      input,
      credentials: mockCredentials.user(user),
    });

  beforeAll(async () => {
    const backend = await startTestBackend({
      features: [
        auditLogPlugin,
        auditLogAuditorServiceFactory,
        probe,
        permissions,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            backend: {
              database: { client: 'better-sqlite3', connection: ':memory:' },
              actions: { pluginSources: ['audit-log'] },
            },
            auditLog: { queue: { flushIntervalMs: 5 } },
          },
        }),
      ],
    });
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop();
  });

  it('is listed as read only for readers of the trail, and hidden from others', async () => {
    const listed = await actions.list({
      credentials: mockCredentials.user(ADMIN),
    });
    expect(
      listed.actions.find(a => a.id === 'audit-log:query-audit-events'),
    ).toMatchObject({
      attributes: { readOnly: true, destructive: false, idempotent: true },
    });
    const hidden = await actions.list({
      credentials: mockCredentials.user(OUTSIDER),
    });
    expect(hidden.actions.filter(a => a.pluginId === 'audit-log')).toEqual([]);
    await expect(invoke(OUTSIDER, {})).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('answers with the changes (medium and up) by default, newest first, and filters', async () => {
    await audit('chart-install', 'high');
    await audit('entity-fetch', 'low');
    await audit('rollback', 'high');
    let events: any[] = [];
    for (let i = 0; i < 100 && events.length < 2; i++) {
      events = (
        (await invoke(ADMIN, { plugin: 'kubechart', status: ['succeeded'] }))
          .output as any
      ).events;
      await new Promise(r => setTimeout(r, 50));
    }
    expect(events.map(e => [e.eventId, e.severity, e.actor])).toEqual([
      ['rollback', 'high', 'plugin:kubechart'],
      ['chart-install', 'high', 'plugin:kubechart'],
    ]);
    expect(events[0].meta).toMatchObject({ release: 'web' });

    const reads = (
      (
        await invoke(ADMIN, {
          plugin: 'kubechart',
          severity: ['low'],
          status: ['succeeded'],
        })
      ).output as any
    ).events;
    expect(reads.map((e: any) => e.eventId)).toEqual(['entity-fetch']);

    const one = (
      (await invoke(ADMIN, { eventId: 'chart-install', limit: 1 }))
        .output as any
    ).events;
    expect(one.map((e: any) => e.eventId)).toEqual(['chart-install']);
  });

  it('refuses a service, which the audit-log backend could only see as the audit-log plugin itself', async () => {
    // Backstage passes a service's credentials on as the calling plugin's own token: the read
    // would be authorized with the audit-log plugin's rights and under its name.
    const refused = await actions
      .invoke({
        id: 'audit-log:query-audit-events',
        input: {},
        credentials: mockCredentials.service('external:release-bot'),
      })
      .then(
        output => ({ answered: output }),
        (e: any) => ({
          statusCode: e.statusCode,
          message: String(e.body?.error?.message ?? e.message),
        }),
      );
    expect(refused).toEqual({
      statusCode: 403,
      message:
        'audit-log:query-audit-events reads for a signed-in user; service:external:release-bot is a service, ' +
        'which the audit-log backend would see as the audit-log plugin itself (its rights, and its name in the ' +
        'audit trail). A service reads through the audit log REST API (GET /api/audit-log/events) with its own token',
    });
  });

  it('refuses input outside its schema', async () => {
    const refused = await invoke(ADMIN, { severity: ['urgent'] }).catch(e => e);
    expect(refused.statusCode).toBe(400);
    expect(refused.body.error.message).toContain('Invalid input');
  });
});
