import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import { auditLogPlugin } from './plugin';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'audit events on shutdown (%p)',
  databaseId => {
    it('drains the queue into the store when the backend stops', async () => {
      const knex = await databases.init(databaseId);
      let emit: () => Promise<void> = async () => {};
      const emitter = createBackendPlugin({
        pluginId: 'emitter',
        register(env) {
          env.registerInit({
            deps: { auditor: coreServices.auditor },
            async init({ auditor }) {
              emit = async () => {
                for (let i = 0; i < 25; i++) {
                  const event = await auditor.createEvent({
                    eventId: 'tick',
                    meta: { i },
                  });
                  await event.success();
                }
              };
            },
          });
        },
      });
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          emitter,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            // nothing would be written before the stop without the drain
            data: {
              auditLog: { queue: { flushIntervalMs: 600000, batchSize: 1000 } },
            },
          }),
        ],
      });
      await emit();
      expect(
        Number((await knex('audit_log_events').count({ n: '*' }))[0].n),
      ).toBe(0);
      await backend.stop();

      const rows = await knex('audit_log_events')
        .where({ plugin_id: 'emitter' })
        .orderBy('seq');
      expect(rows).toHaveLength(50);
      await expect(
        new DatabaseAuditStore(knex).verify(),
      ).resolves.toMatchObject({ ok: true });
    });
  },
);
