import { TestDatabases } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEventInput,
  AuditGapInfo,
} from '@kubechart/plugin-audit-log-common';
import { createGapEvent } from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import { DatabaseAuditStore } from './DatabaseAuditStore';
import { ChainKeyring } from './chainKeys';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const KEY = 'test-chain-key-0123456789-abcdefghijklmnopqrstuvwxyz';
/** The loss id an attacker read from the `auditLoss` log line, the webhook or the witness file. */
const LOSS_ID = '33333333-3333-4333-8333-333333333333';
const AT = '2026-01-01T00:00:00.000Z';

function event(n: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'chart-install',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev', namespace: `team-${n}` },
    meta: { n },
  };
}

function gap(dropped: number): AuditGapInfo {
  return {
    dropped,
    firstOccurredAt: AT,
    lastOccurredAt: AT,
    reasons: { 'queue full': dropped },
    bySeverity: { high: dropped },
  };
}

/**
 * What a database writer without the chain key adds: a gap record of `dropped` events under
 * the loss id, as row `seq`, outside the chain verify walks (the chain head is left alone).
 */
async function forgeGapRow(knex: Knex, seq: number, dropped: number) {
  await knex('audit_log_events').insert({
    seq,
    occurred_at: new Date(AT),
    plugin_id: AUDIT_LOG_PLUGIN_ID,
    event_id: AUDIT_GAP_EVENT_ID,
    severity: 'high',
    status: 'failed',
    meta: JSON.stringify({ gap: gap(dropped), lossId: LOSS_ID }),
    error: `${dropped} events dropped`,
    prev_hash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    chain_version: 3,
  });
}

/** The dropped counts of the gap records of the loss id in the chain (after the head's checkpoint). */
async function chainCounts(knex: Knex): Promise<number[]> {
  const head = await knex('audit_log_chain_head').where({ id: 1 }).first();
  const rows = await knex('audit_log_events')
    .where({ event_id: AUDIT_GAP_EVENT_ID })
    .where('seq', '>', Number(head.checkpoint_seq))
    .where('seq', '<=', Number(head.last_seq))
    .orderBy('seq');
  return rows
    .filter(row => JSON.parse(row.meta).lossId === LOSS_ID)
    .map(row => JSON.parse(row.meta).gap.dropped);
}

describe.each(databases.eachSupportedId())(
  'DatabaseAuditStore loss accounting against gap records outside the chain (%p)',
  databaseId => {
    let knex: Knex;
    let store: DatabaseAuditStore;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      store = new DatabaseAuditStore(knex, {
        chainKeys: ChainKeyring.fromSecrets(KEY),
      });
      await store.append([event(1), event(2), event(3)]);
    });

    // the forged row: below the chain it is never read; beyond the head it is reported by verify
    const verified = (seq: number) =>
      seq > 0
        ? {
            ok: false,
            failedSeq: seq,
            reason: expect.stringContaining('beyond the chain head'),
          }
        : { ok: true, keyed: true };

    it.each([
      ['below the chain (seq 0)', 0],
      ['beyond its head (seq 1000)', 1000],
    ])(
      'stores the queue gap record of real drops though a forged row %s claims their loss',
      async (_, seq) => {
        await forgeGapRow(knex, seq, 1_000_000);
        // the queue's gap record of 42 real drops, whose loss it recorded outside the database
        await store.append([
          createGapEvent(gap(42), LOSS_ID, { recorded: 42 }),
          event(4),
        ]);
        await expect(store.verify()).resolves.toMatchObject({
          ...verified(seq),
          gapCount: 1,
          droppedEvents: 42,
        });
        expect(await chainCounts(knex)).toEqual([42]);
      },
    );

    it.each([
      ['below the chain (seq 0)', 0],
      ['beyond its head (seq 1000)', 1000],
    ])(
      'appends at start-up the gap record of a loss record though a forged row %s claims it',
      async (_, seq) => {
        await forgeGapRow(knex, seq, 1_000_000);
        const lossEvent = createGapEvent(gap(42), LOSS_ID);
        await expect(
          store.appendLosses([{ id: LOSS_ID, at: AT, event: lossEvent }]),
        ).resolves.toBe(1);
        await expect(store.verify()).resolves.toMatchObject({
          ...verified(seq),
          gapCount: 1,
          droppedEvents: 42,
        });
      },
    );

    it('does not take for a gap record of the loss a chain event whose signature does not match', async () => {
      // event 2 rewritten in place by a database writer (verify reports it)
      await knex('audit_log_events')
        .where({ seq: 2 })
        .update({
          plugin_id: AUDIT_LOG_PLUGIN_ID,
          event_id: AUDIT_GAP_EVENT_ID,
          meta: JSON.stringify({ gap: gap(1_000_000), lossId: LOSS_ID }),
        });
      await store.append([createGapEvent(gap(42), LOSS_ID, { recorded: 42 })]);
      await store.appendLosses([
        { id: LOSS_ID, at: AT, event: createGapEvent(gap(42), LOSS_ID) },
      ]);
      // the rewritten event 2, then the queue's record of the 42 drops, stored whole, once
      expect(await chainCounts(knex)).toEqual([1_000_000, 42]);
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 2,
      });
    });

    it('subtracts from the queue gap record no more than its loss record outside the database counted', async () => {
      // a gap record of the loss appended from a loss record claiming far more than the queue
      // recorded (the witness file was written by someone else)
      await store.appendLosses([
        {
          id: LOSS_ID,
          at: AT,
          event: createGapEvent(gap(1_000_000), LOSS_ID),
        },
      ]);
      // the queue recorded 5 of its 42 drops outside the database before it stored its gap record
      await store.append([createGapEvent(gap(42), LOSS_ID, { recorded: 5 })]);
      expect(await chainCounts(knex)).toEqual([1_000_000, 37]);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        droppedEvents: 1_000_037,
      });
    });
  },
);
