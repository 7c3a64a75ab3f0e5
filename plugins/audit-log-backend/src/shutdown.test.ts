import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
  RootLoggerService,
} from '@backstage/backend-plugin-api';
import {
  TestDatabaseId,
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AUDIT_GAP_EVENT_ID } from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import express from 'express';
import knexFactory, { Knex } from 'knex';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { auditLogPlugin } from './plugin';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

/**
 * The audit-log plugin's database, closed in the root shutdown as Backstage's DatabaseManager
 * closes PostgreSQL pools: at the same time as the HTTP server stops, not after it. Returns a
 * second connection to the same database for the test to read what was stored.
 */
async function closingDatabase(databaseId: TestDatabaseId) {
  let reader: Knex;
  let open: () => Knex;
  if (databaseId === 'SQLITE_3') {
    // an in-memory database would go with its connection: a file outlives it
    const filename = join(await mkdtemp(join(tmpdir(), 'audit-stop-')), 'db');
    open = () =>
      knexFactory({
        client: 'better-sqlite3',
        connection: { filename },
        useNullAsDefault: true,
      });
    reader = open();
  } else {
    reader = await databases.init(databaseId);
    open = () => knexFactory(reader.client.config);
  }
  const factory = () => {
    const knex = open();
    return createServiceFactory({
      service: coreServices.database,
      deps: { rootLifecycle: coreServices.rootLifecycle },
      async createRootContext({ rootLifecycle }) {
        rootLifecycle.addShutdownHook(() => knex.destroy());
      },
      factory: () => ({ getClient: async () => knex }),
    });
  };
  return { reader, factory };
}

/**
 * A plugin with an audited mutation: POST /mutate { n, slow, preSlow } records an event, makes
 * its change and records the outcome. `preSlow` ms pass before the event is created, `slow` ms
 * inside the audited part.
 */
function emitterPlugin() {
  const changes: number[] = [];
  const arrivals = new Map<number, () => void>();
  const plugin = createBackendPlugin({
    pluginId: 'emitter',
    register(env) {
      env.registerInit({
        deps: {
          auditor: coreServices.auditor,
          httpRouter: coreServices.httpRouter,
        },
        async init({ auditor, httpRouter }) {
          const router = express.Router();
          router.use(express.json());
          router.post('/mutate', async (req, res) => {
            const { n, slow = 0, preSlow = 0 } = req.body;
            arrivals.get(n)?.();
            await sleep(preSlow);
            const event = await auditor.createEvent({
              eventId: 'mutate',
              request: req,
              meta: { n },
            });
            await sleep(slow);
            changes.push(n);
            await event.success();
            res.json({ n });
          });
          httpRouter.use(router);
          httpRouter.addAuthPolicy({
            path: '/mutate',
            allow: 'unauthenticated',
          });
        },
      });
    },
  });
  /** Sends a request and resolves once the plugin has received it. */
  const start = (
    server: Parameters<typeof request>[0],
    body: { n: number; slow?: number; preSlow?: number },
  ) => {
    const arrived = new Promise<void>(resolve => arrivals.set(body.n, resolve));
    const response = request(server).post('/api/emitter/mutate').send(body);
    const done = response.then(r => r);
    return { arrived, done };
  };
  return { plugin, changes, start };
}

/** A plugin whose shutdown takes 1.5 s, keeping the plugins' shutdown phase open that long. */
const slowStopPlugin = createBackendPlugin({
  pluginId: 'slowstop',
  register(env) {
    env.registerInit({
      deps: { lifecycle: coreServices.lifecycle },
      async init({ lifecycle }) {
        lifecycle.addShutdownHook(() => sleep(1500));
      },
    });
  },
});

/** A root logger that keeps its `error` lines. */
function recordingLogger() {
  const errors: string[] = [];
  const logger: RootLoggerService = {
    error: message => errors.push(message),
    warn: () => {},
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  const factory = createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () => logger,
  });
  return { errors, factory };
}

async function storedMutations(knex: Knex) {
  const rows = await knex('audit_log_events')
    .where({ plugin_id: 'emitter' })
    .orderBy('seq');
  return rows
    .map(row => `${JSON.parse(row.meta).n} ${row.status}`)
    .sort((a, b) => a.localeCompare(b));
}

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

    it('stores the events of requests that complete while the plugins shut down', async () => {
      const { reader, factory } = await closingDatabase(databaseId);
      const emitter = emitterPlugin();
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          emitter.plugin,
          slowStopPlugin,
          factory(),
        ],
      });
      expect((await emitter.start(backend.server, { n: 0 }).done).status).toBe(
        200,
      );
      // in flight when the backend stops: one inside its audited part, one before it
      const slow = emitter.start(backend.server, { n: 1, slow: 800 });
      const preSlow = emitter.start(backend.server, { n: 2, preSlow: 400 });
      await Promise.all([slow.arrived, preSlow.arrived]);
      await backend.stop();

      expect((await slow.done).status).toBe(200);
      expect((await preSlow.done).status).toBe(200);
      expect(emitter.changes.sort()).toEqual([0, 1, 2]);
      expect(await storedMutations(reader)).toEqual([
        '0 initiated',
        '0 succeeded',
        '1 initiated',
        '1 succeeded',
        '2 initiated',
        '2 succeeded',
      ]);
      await expect(
        new DatabaseAuditStore(reader).verify(),
      ).resolves.toMatchObject({ ok: true });
    });

    it('waits for an audited request in progress before the database closes', async () => {
      const { reader, factory } = await closingDatabase(databaseId);
      const emitter = emitterPlugin();
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          emitter.plugin,
          factory(),
        ],
      });
      const slow = emitter.start(backend.server, { n: 1, slow: 800 });
      await slow.arrived;
      await sleep(50); // its event is created
      await backend.stop();

      expect((await slow.done).status).toBe(200);
      expect(await storedMutations(reader)).toEqual([
        '1 initiated',
        '1 succeeded',
      ]);
    });

    it('leaves a gap record for events that came after the database closed', async () => {
      const { reader, factory } = await closingDatabase(databaseId);
      const witnessFile = join(
        await mkdtemp(join(tmpdir(), 'audit-stop-witness-')),
        'witness.jsonl',
      );
      const config = mockServices.rootConfig.factory({
        data: {
          auditLog: { retention: { checkpoint: { file: witnessFile } } },
        },
      });
      const emitter = emitterPlugin();
      const logged = recordingLogger();
      const backend = await startTestBackend({
        features: [
          auditLogPlugin,
          auditLogAuditorServiceFactory,
          emitter.plugin,
          factory(),
          config,
          logged.factory,
        ],
      });
      expect((await emitter.start(backend.server, { n: 0 }).done).status).toBe(
        200,
      );
      // its event is created only after the plugins have shut down and the database closed
      const late = emitter.start(backend.server, { n: 1, preSlow: 600 });
      await late.arrived;
      await backend.stop();
      expect((await late.done).status).toBe(200);
      expect(emitter.changes).toEqual([0, 1]);
      expect(await storedMutations(reader)).toEqual([
        '0 initiated',
        '0 succeeded',
      ]);
      // events that come after the queue closed are recorded together a second after the first
      await new Promise(resolve => setTimeout(resolve, 1500));
      // recorded outside the database: in the log, with the counts
      const lost = logged.errors.flatMap(line => {
        const match = line.match(
          /^Audit events lost while the backend stopped: (\d+) events? dropped between /,
        );
        return match ? [Number(match[1])] : [];
      });
      expect(lost.reduce((sum, n) => sum + n, 0)).toBe(2);
      // and in the witness file
      const lines = (await readFile(witnessFile, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line))
        .filter(record => record.type === 'audit-log-gap');
      expect(lines.reduce((sum, r) => sum + r.dropped, 0)).toBe(2);

      // the next start appends the gap record to the chain, once
      for (let start = 0; start < 2; start++) {
        const next = await startTestBackend({
          features: [
            auditLogPlugin,
            auditLogAuditorServiceFactory,
            factory(),
            config,
          ],
        });
        await next.stop();
      }
      const verified = await new DatabaseAuditStore(reader).verify();
      expect(verified).toMatchObject({ ok: true, droppedEvents: 2 });
      expect(verified.gaps?.map(g => g.message).join('\n')).toMatch(
        /dropped between .* because /,
      );
      const gapRows = await reader('audit_log_events').where({
        plugin_id: 'audit-log',
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(
        gapRows.reduce((sum, row) => sum + JSON.parse(row.meta).gap.dropped, 0),
      ).toBe(2);
    });
  },
);
