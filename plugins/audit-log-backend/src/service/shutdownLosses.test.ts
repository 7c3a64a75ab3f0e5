import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { AuditLossRecord, readWitnessFile } from './checkpointWitness';
import { appendRecordedLosses } from './shutdownLosses';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

function loss(id: string, at: string, dropped = 1): AuditLossRecord {
  return {
    type: 'audit-log-gap',
    id,
    dropped,
    firstOccurredAt: at,
    lastOccurredAt: at,
    reasons: { 'database unavailable while the backend stopped': dropped },
    at,
  };
}

function event(occurredAt: string): AuditEventInput {
  return {
    occurredAt,
    plugin: 'test',
    eventId: 'tick',
    severity: 'low',
    status: 'succeeded',
    target: {},
  };
}

const ID_1 = '11111111-1111-4111-8111-111111111111';
const ID_2 = '22222222-2222-4222-8222-222222222222';

describe.each(databases.eachSupportedId())(
  'gap records of losses recorded at shutdown (%p)',
  databaseId => {
    it('appends each loss of the witness file once, also from replicas starting together', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const logger = mockServices.logger.mock();
      const witness = {
        read: async () => ({
          checkpoints: [],
          losses: [loss(ID_1, new Date().toISOString(), 3)],
        }),
      };
      const replicas = [
        new DatabaseAuditStore(knex),
        new DatabaseAuditStore(knex),
      ];
      await Promise.all(
        replicas.map(store => appendRecordedLosses({ store, witness, logger })),
      );
      await appendRecordedLosses({ store: replicas[0], witness, logger });

      const result = await replicas[0].verify();
      expect(result).toMatchObject({ ok: true, gapCount: 1, droppedEvents: 3 });
      expect(result.gaps?.[0].message).toMatch(
        /^3 events dropped between .* because database unavailable while the backend stopped \(3\)$/,
      );
      const [row] = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(JSON.parse(row.meta).lossId).toBe(ID_1);
    });

    it('does not append again a loss whose gap record retention pruned', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      await store.append([
        event('2020-01-01T00:00:00.000Z'),
        event('2020-06-01T00:00:00.000Z'),
      ]);
      await store.prune({ before: new Date('2020-03-01T00:00:00.000Z') });
      await appendRecordedLosses({
        store,
        witness: {
          read: async () => ({
            checkpoints: [],
            losses: [
              loss(ID_1, '2020-02-01T00:00:00.000Z'),
              loss(ID_2, '2020-07-01T00:00:00.000Z'),
            ],
          }),
        },
        logger: mockServices.logger.mock(),
      });
      const gaps = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(gaps.map(row => JSON.parse(row.meta).lossId)).toEqual([ID_2]);
    });
  },
);

describe('loss records in the witness file', () => {
  it('reads well-formed ones and ignores the rest', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'audit-loss-')), 'w.jsonl');
    const good = loss(ID_1, '2026-01-01T00:00:00.000Z', 2);
    await writeFile(
      file,
      [
        JSON.stringify(good),
        JSON.stringify({ ...good, id: 'not-a-uuid' }),
        JSON.stringify({ ...good, dropped: -1 }),
        JSON.stringify({ ...good, reasons: { x: 'many' } }),
        '{"type":"audit-log-gap"',
      ].join('\n'),
    );
    await expect(readWitnessFile(file)).resolves.toEqual({
      checkpoints: [],
      losses: [good],
    });
  });
});
