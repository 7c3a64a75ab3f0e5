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
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { auditLogPlugin } from '../plugin';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ADMIN = 'user:default/admin';

const allowAll = createServiceFactory({
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

/**
 * The `query-audit-events` action reads its filters as `GET /events` does (`parseEventsQuery`): a
 * NUL (which PostgreSQL refuses in a query) or a lone surrogate is read as the store writes it
 * (U+FFFD), so the action finds the events stored from such text instead of failing, and refuses
 * what the route refuses with the route's own reason.
 */
describe.each(databases.eachSupportedId())(
  'audit-log action filters holding a NUL on %p',
  databaseId => {
    let actions: ActionsService;
    let stop: () => Promise<void>;
    let seq: number;

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

    const invoke = (input: Record<string, any>) =>
      actions.invoke({
        id: 'audit-log:query-audit-events',
        input,
        credentials: mockCredentials.user(ADMIN),
      });

    beforeAll(async () => {
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          probe,
          allowAll,
          actionsRegistryServiceFactory,
          actionsServiceFactory,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              backend: { actions: { pluginSources: ['audit-log'] } },
              auditLog: { queue: { flushIntervalMs: 5 } },
            },
          }),
        ],
      });
      stop = () => backend.stop();
      const store = new DatabaseAuditStore(knex);
      seq = (
        await store.append([
          {
            occurredAt: new Date().toISOString(),
            actor: 'user:default/a\u0000b',
            plugin: 'kube\u0000chart',
            eventId: 'run\u0000create',
            severity: 'medium',
            status: 'failed',
            target: {
              entityRef: 'component:default/shop\u0000x',
              namespace: 'other\u0000x',
            },
            error: 'namespace "other\u0000x" is outside the run',
          },
          {
            occurredAt: new Date().toISOString(),
            actor: 'user:default/ab',
            plugin: 'kubechart',
            eventId: 'run-create',
            severity: 'medium',
            status: 'succeeded',
            target: {},
          },
        ])
      ).lastSeq;
    });
    afterAll(async () => {
      await stop?.();
    });

    it.each([
      ['actor', 'user:default/a\u0000b'],
      ['actor', ' user:default/a\u0000b '],
      ['plugin', 'kube\u0000chart'],
      ['eventId', 'run\u0000create'],
      ['entityRef', 'component:default/shop\u0000x'],
      ['target', 'other\u0000x'],
      ['q', '"other\u0000x"'],
    ])('finds by %s %j the event stored with the NUL', async (name, value) => {
      const { output } = await invoke({ [name]: value });
      expect((output as any).events.map((e: any) => e.seq)).toEqual([seq - 1]);
    });

    it('answers no events to a NUL alone', async () => {
      const { output } = await invoke({ actor: '\u0000' });
      expect((output as any).events).toEqual([]);
    });

    it.each([
      ['an empty actor', { actor: '' }, 'actor'],
      ['an actor of 513 characters', { actor: 'a'.repeat(513) }, 'actor'],
      ['a cursor of 201 characters', { cursor: 'c'.repeat(201) }, 'cursor'],
      [
        'a range whose start is after its end',
        { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' },
        'from must not be after to',
      ],
    ])('refuses %s as GET /events does', async (_, input, named) => {
      const refused = await invoke(input).catch(e => e);
      expect(refused.statusCode).toBe(400);
      expect(refused.body.error.message).toContain(named);
    });
  },
);
