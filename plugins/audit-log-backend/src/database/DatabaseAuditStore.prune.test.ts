import { TestDatabases } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { createGapEvent } from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import { DatabaseAuditStore } from './DatabaseAuditStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

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

function events(from: number, to: number): AuditEventInput[] {
  const out = [];
  for (let i = from; i <= to; i++) out.push(event(i));
  return out;
}

/** Makes the database refuse to delete event `seq` (a failure after the checkpoint moved). */
async function refuseDeleting(knex: Knex, seq: number) {
  if (knex.client.config.client === 'pg') {
    await knex.raw(
      `CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'deleting event % refused', OLD.seq; END $$`,
    );
    await knex.raw(
      `CREATE TRIGGER refuse_delete BEFORE DELETE ON audit_log_events
       FOR EACH ROW WHEN (OLD.seq = ${seq}) EXECUTE FUNCTION refuse_delete()`,
    );
  } else {
    await knex.raw(
      `CREATE TRIGGER refuse_delete BEFORE DELETE ON audit_log_events
       WHEN OLD.seq = ${seq} BEGIN SELECT RAISE(ABORT, 'deleting refused'); END`,
    );
  }
}

async function allowDeleting(knex: Knex) {
  await knex.raw(
    knex.client.config.client === 'pg'
      ? 'DROP TRIGGER refuse_delete ON audit_log_events'
      : 'DROP TRIGGER refuse_delete',
  );
}

/**
 * The message a promise rejects with. (The driver's error may come from another realm than the
 * test's, which `rejects.toThrow` does not take for an error.)
 */
async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    error => String(error?.message ?? error),
  );
}

async function storedSeqs(knex: Knex): Promise<number[]> {
  const rows = await knex('audit_log_events').orderBy('seq').select('seq');
  return rows.map(r => Number(r.seq));
}

describe.each(databases.eachSupportedId())(
  'DatabaseAuditStore prune that fails after moving the checkpoint (%p)',
  databaseId => {
    let knex: Knex;
    let store: DatabaseAuditStore;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      // (no background copy of the search text outliving the test: search reads what is not copied)
      store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
    });

    it('hides the events below the checkpoint it left, and the next prune deletes them', async () => {
      await store.append(events(1, 30));
      const before = new Date(event(21).occurredAt);
      await refuseDeleting(knex, 3);
      expect(await rejection(store.prune({ before }))).toMatch(/refused/);
      // the checkpoint moved, the events below it are still stored
      await expect(store.head()).resolves.toMatchObject({
        checkpoint: { seq: 20 },
      });
      expect(await storedSeqs(knex)).toHaveLength(30);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        firstSeq: 21,
        pruned: { throughSeq: 20 },
      });

      // an event below the checkpoint, which verify no longer covers, changed in the database
      await knex('audit_log_events')
        .where({ seq: 3 })
        .update({ actor: 'user:default/mallory' });
      // none of them is read back as an event of the trail
      await expect(store.get(3)).resolves.toBeUndefined();
      await expect(store.get(20)).resolves.toBeUndefined();
      await expect(store.get(21)).resolves.toMatchObject({ seq: 21 });
      const page = await store.query({ limit: 500 });
      expect(page.items.map(e => e.seq)).toEqual(
        Array.from({ length: 10 }, (_, i) => 30 - i),
      );
      expect(page.nextCursor).toBeUndefined();
      const mallory = await store.query({ actor: 'user:default/mallory' });
      expect(mallory.items).toEqual([]);
      const searched = await store.query({ q: 'mallory' });
      expect(searched.items).toEqual([]);
      const streamed: number[] = [];
      for await (const e of store.stream({})) streamed.push(e.seq);
      expect(streamed).toEqual(Array.from({ length: 10 }, (_, i) => 30 - i));
      const streamedText: number[] = [];
      for await (const e of store.stream({ q: 'team-1' })) {
        streamedText.push(e.seq);
      }
      expect(streamedText).toEqual([]);

      // the next prune, with nothing new to cut, deletes what the failed one left
      await allowDeleting(knex);
      await expect(store.prune({ before })).resolves.toMatchObject({
        deleted: 20,
        checkpoint: { throughSeq: 20 },
      });
      expect(await storedSeqs(knex)).toEqual(
        Array.from({ length: 10 }, (_, i) => 21 + i),
      );
      await expect(store.prune({ before })).resolves.toMatchObject({
        deleted: 0,
      });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 10,
        firstSeq: 21,
      });
    });

    it('appends no gap record of a loss older than the events kept, whatever it left below the checkpoint', async () => {
      await store.append(events(1, 30));
      await refuseDeleting(knex, 3);
      expect(
        await rejection(
          store.prune({ before: new Date(event(21).occurredAt) }),
        ),
      ).toMatch(/refused/);
      // events 1–20 are still stored below the checkpoint
      expect(await storedSeqs(knex)).toHaveLength(30);
      const loss = (id: string, n: number) => {
        const at = event(n).occurredAt;
        const gap = {
          dropped: 1,
          firstOccurredAt: at,
          lastOccurredAt: at,
          reasons: { 'queue full': 1 },
        };
        const gapEvent = createGapEvent(gap, id);
        return { id, at, event: gapEvent };
      };
      const older = '11111111-1111-4111-8111-111111111111';
      const newer = '22222222-2222-4222-8222-222222222222';
      // the loss of event 10's time: its gap record may have been pruned with the events below 21
      await expect(
        store.appendLosses([loss(older, 10), loss(newer, 25)]),
      ).resolves.toBe(1);
      const gaps = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(gaps.map(row => JSON.parse(row.meta).lossId)).toEqual([newer]);
    });

    it('deletes what an earlier failed prune left together with a new cut', async () => {
      await store.append(events(1, 30));
      await refuseDeleting(knex, 3);
      expect(
        await rejection(
          store.prune({ before: new Date(event(11).occurredAt) }),
        ),
      ).toMatch(/refused/);
      await allowDeleting(knex);
      await expect(
        store.prune({ before: new Date(event(21).occurredAt) }),
      ).resolves.toMatchObject({
        deleted: 20,
        checkpoint: { throughSeq: 20 },
        cut: { fromSeq: 11, throughSeq: 20 },
      });
      expect(await storedSeqs(knex)).toEqual(
        Array.from({ length: 10 }, (_, i) => 21 + i),
      );
    });
  },
);
