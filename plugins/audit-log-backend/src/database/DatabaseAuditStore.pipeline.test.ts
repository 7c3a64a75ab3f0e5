import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  AuditEventInput,
  describeGap,
} from '@kubechart/plugin-audit-log-common';
import {
  AuditEventQueue,
  createGapEvent,
} from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import { DatabaseAuditStore } from './DatabaseAuditStore';
import { ROW_LIMITS } from './rows';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

function event(
  n: number,
  overrides: Partial<AuditEventInput> = {},
): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'run-create',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev', namespace: 'team-a' },
    meta: { n },
    ...overrides,
  };
}

/** Makes the database refuse rows whose event_id is `eventId`. */
async function refuseEventId(knex: Knex, eventId: string) {
  const name = `refuse_${eventId.replace(/-/g, '_')}`;
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger AS $$
      BEGIN
        IF NEW.event_id = '${eventId}' THEN
          RAISE EXCEPTION 'row refused by test trigger';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await knex.raw(
      `CREATE TRIGGER ${name} BEFORE INSERT ON audit_log_events FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
  } else {
    await knex.raw(`
      CREATE TRIGGER ${name} BEFORE INSERT ON audit_log_events
      WHEN NEW.event_id = '${eventId}'
      BEGIN SELECT RAISE(ABORT, 'row refused by test trigger'); END`);
  }
}

describe.each(databases.eachSupportedId())(
  'audit pipeline on %p',
  databaseId => {
    let knex: Knex;
    let store: DatabaseAuditStore;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      store = new DatabaseAuditStore(knex);
    });

    it('stores an event whose cluster is "dev\\u0000" and keeps storing the ones after it', async () => {
      const queue = new AuditEventQueue({
        logger: mockServices.logger.mock(),
        flushIntervalMs: 1,
        maxRetryDelayMs: 20,
      });
      queue.attachSink(async batch => {
        await store.append(batch);
      });
      await queue.enqueue(event(1));
      await queue.enqueue(
        event(2, {
          target: { cluster: 'dev\u0000' },
          actor: 'user:default/\u0000jane',
          request: { path: '/api/kubechart/runs?x=\u0000' },
          meta: { cluster: 'dev\u0000' },
          error: 'nul \u0000 here',
        }),
      );
      await queue.drain();
      await queue.enqueue(event(3));
      await queue.drain();

      expect(queue.stats()).toMatchObject({
        written: 3,
        dropped: 0,
        buffered: 0,
      });
      const stored = await store.get(2);
      expect(stored).toMatchObject({
        target: { cluster: 'dev\ufffd' },
        actor: 'user:default/\ufffdjane',
        request: { path: '/api/kubechart/runs?x=\ufffd' },
        // JSON keeps the character itself, escaped
        meta: { cluster: 'dev\u0000' },
        error: 'nul \ufffd here',
      });
      await expect(store.get(3)).resolves.toMatchObject({ meta: { n: 3 } });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 3,
      });
    });

    it('cuts oversized fields to their limits', async () => {
      const huge = 'x'.repeat(1024 * 1024);
      await store.append([
        event(1, {
          request: { path: huge, userAgent: huge },
          error: huge,
          meta: { big: huge },
        }),
      ]);
      const stored = await store.get(1);
      expect(stored!.request!.path).toHaveLength(ROW_LIMITS.request_path);
      expect(stored!.request!.userAgent).toHaveLength(
        ROW_LIMITS.request_user_agent,
      );
      expect(stored!.error).toHaveLength(ROW_LIMITS.error);
      expect(stored!.meta).toEqual({
        big: `${'x'.repeat(8192)}…[${huge.length - 8192} more characters]`,
      });
      const manyLongKeys = Object.fromEntries(
        Array.from({ length: 1000 }, (_, i) => [`${'k'.repeat(200)}${i}`, 1]),
      );
      await store.append([event(2, { meta: manyLongKeys })]);
      const noted = await store.get(2);
      const { '…truncated': note, ...kept } = noted!.meta as Record<
        string,
        unknown
      >;
      // the values that fit are kept as given, under their keys (a placeholder for each key
      // past the string budget: 1000 keys of 200 characters are over it); the note says how
      // many were left out
      expect(Object.keys(kept).length).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(kept)) {
        expect([
          key in manyLongKeys || /^\[member \d+: name not shown\]$/.test(key),
          value,
        ]).toEqual([true, 1]);
      }
      expect(note).toMatch(
        new RegExp(
          `^metadata of \\d+ characters exceeded the 65536-character limit: left out the values of ${
            1000 - Object.keys(kept).length
          } keys: k+\\d* \\(\\d+ characters\\), `,
        ),
      );
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
    });

    it('stores a placeholder for an event the database still refuses and carries on', async () => {
      await refuseEventId(knex, 'poison');
      const result = await store.append([
        event(1),
        event(2, {
          eventId: 'poison',
          plugin: 'catalog',
          actor: 'user:default/mallory',
        }),
        event(3),
      ]);
      expect(result).toEqual({ firstSeq: 1, lastSeq: 3, placeholders: 1 });
      const page = await store.query({});
      expect(page.items.map(e => [e.seq, e.plugin, e.eventId])).toEqual([
        [3, 'kubechart', 'run-create'],
        [2, 'audit-log', 'event-unstorable'],
        [1, 'kubechart', 'run-create'],
      ]);
      expect(page.items[1]).toMatchObject({
        actor: 'user:default/mallory',
        severity: 'high',
        status: 'failed',
        meta: {
          original: {
            plugin: 'catalog',
            eventId: 'poison',
            severity: 'high',
            status: 'succeeded',
          },
        },
      });
      expect(page.items[1].error).toMatch(
        /^The database refused this event; stored a placeholder instead: .*refused by test trigger/,
      );
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 3,
      });
    });

    it('changes nothing when even the placeholder is refused, so the batch is retried', async () => {
      await store.append([event(1)]);
      await refuseEventId(knex, 'run-create');
      await refuseEventId(knex, 'event-unstorable');
      await expect(store.append([event(2), event(3)])).rejects.toThrow(
        /^The database refused an audit event and its placeholder; the batch will be retried/,
      );
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 1,
        headSeq: 1,
      });
    });

    it('reports gap records in verify', async () => {
      const gap = {
        dropped: 7,
        firstOccurredAt: '2026-01-01T10:00:00.000Z',
        lastOccurredAt: '2026-01-01T10:01:00.000Z',
        reasons: { 'queue full': 7 },
      };
      await store.append([event(1), createGapEvent(gap), event(2)]);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 3,
        gapCount: 1,
        droppedEvents: 7,
        gaps: [{ seq: 2, ...gap, message: describeGap(gap) }],
      });
    });

    it('hands the cut to the witness before pruning, and prunes nothing if the witness fails', async () => {
      await store.append([event(1), event(2), event(3)]);
      const before = new Date(event(3).occurredAt);
      await expect(
        store.prune({
          before,
          witness: async () => {
            throw new Error('witness unreachable');
          },
        }),
      ).rejects.toThrow('witness unreachable');
      await expect(store.query({})).resolves.toMatchObject({
        items: [{ seq: 3 }, { seq: 2 }, { seq: 1 }],
      });

      const second = await store.get(2);
      const cuts: unknown[] = [];
      const result = await store.prune({
        before,
        witness: async cut => {
          cuts.push(cut);
        },
      });
      expect(cuts).toEqual([
        {
          fromSeq: 1,
          throughSeq: 2,
          hash: second!.hash,
          cutoff: before.toISOString(),
        },
      ]);
      expect(result).toMatchObject({
        deleted: 2,
        checkpoint: { throughSeq: 2, hash: second!.hash },
      });
      // what an external witness checks: the kept chain continues from the cut
      await expect(store.get(3)).resolves.toMatchObject({
        prevHash: second!.hash,
      });
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
    });
  },
);
