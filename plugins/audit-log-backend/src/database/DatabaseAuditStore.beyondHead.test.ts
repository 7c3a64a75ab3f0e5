import { TestDatabases } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import { DatabaseAuditStore } from './DatabaseAuditStore';
import { ChainKeyring } from './chainKeys';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const KEY = 'test-chain-key-0123456789-abcdefghijklmnopqrstuvwxyz';

function event(n: number, note = `event ${n}`): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'chart-install',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev', namespace: `team-${n}` },
    meta: { note },
  };
}

/**
 * A row written around the store, above the chain head, by someone who can write the database
 * but has not the chain key: an approval by someone else, with a hash that links to nothing.
 */
async function forgeAbove(knex: Knex, seq: number) {
  const [row] = await knex('audit_log_events').where({ seq: 3 });
  const { content_digest: _digest, ...copy } = row;
  await knex('audit_log_events').insert({
    ...copy,
    seq,
    actor: 'user:default/alice',
    event_id: 'run-approve',
    meta: JSON.stringify({ approvedBy: 'user:default/alice' }),
    hash: 'f'.repeat(64),
  });
}

describe.each(databases.eachSupportedId())(
  'events stored beyond the chain head (%p)',
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

    it('are reported by verify and never shown as events of the trail', async () => {
      await forgeAbove(knex, 1000);

      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 1000,
        headSeq: 3,
        reason: expect.stringContaining(
          'Event 1000 is stored beyond the chain head (event 3)',
        ),
      });
      expect((await store.query({})).items.map(e => e.seq)).toEqual([3, 2, 1]);
      expect(
        (await store.query({ actor: 'user:default/alice' })).items,
      ).toEqual([]);
      const exported: number[] = [];
      for await (const e of store.stream({})) exported.push(e.seq);
      expect(exported.sort()).toEqual([1, 2, 3]);
      await expect(store.get(1000)).resolves.toBeUndefined();
      await expect(store.checkEvent(1000)).resolves.toBeUndefined();
    });

    it('that stop the trail at the next sequence number are reported by verify', async () => {
      await forgeAbove(knex, 4);
      await expect(store.append([event(5)])).rejects.toThrow();
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 4,
      });
    });

    it('do not hide later events from a free-text search', async () => {
      await forgeAbove(knex, 1000);
      await store.copySearchText();
      await store.append([event(4, 'findme-later-event')]);
      await store.copySearchText();
      expect(
        (await store.query({ q: 'findme-later-event' })).items.map(e => e.seq),
      ).toEqual([4]);
    });

    it('are not taken for the chain appended since verify started', async () => {
      // an append under way while verify walks: its events are above the head verify read, but
      // the head moved with them, so they are in the chain
      const verifying = store.verify();
      await store.append([event(4), event(5)]);
      await expect(verifying).resolves.toMatchObject({ ok: true });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        headSeq: 5,
      });
    });
  },
);
