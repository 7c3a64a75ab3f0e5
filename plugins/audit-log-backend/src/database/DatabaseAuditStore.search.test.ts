import { TestDatabases } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import { DatabaseAuditStore, textArrayLiteral } from './DatabaseAuditStore';

jest.setTimeout(60_000);

// the searched text as the migration copies it
const {
  SEARCH_TEXT,
} = require('../../migrations/20261212000000_search_text.js');

const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });

function event(
  n: number,
  overrides: Partial<AuditEventInput> = {},
): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: n % 2 ? 'user:default/jane' : 'user:default/john',
    plugin: n % 3 ? 'catalog' : 'scaffolder',
    eventId: n % 3 ? 'entity-fetch' : 'task',
    severity: 'low',
    status: 'succeeded',
    target:
      n % 3
        ? { entityRef: `component:default/c${n}` }
        : { resource: `task:${n}` },
    request: { method: 'GET', path: `/api/x/${n}`, ip: '127.0.0.1' },
    meta: { n, nested: { z: 1, a: [1, 2] } },
    ...overrides,
  };
}

function events(from: number, to: number): AuditEventInput[] {
  const out = [];
  for (let i = from; i <= to; i++) out.push(event(i));
  return out;
}

/** Values that are awkward to store and match the same way everywhere. */
const AWKWARD = [
  'quote " backslash \\ slash / colon : 3:abc',
  'line\nbreak\ttab\r\u0001\u001f\u007f \u2028 \u2029',
  'ünïcödé ✓ 😀 中文 e\u0301 \ufffd \u{10ffff}',
  '',
  '😀'.repeat(300),
];

/** Events whose copied search text is the text of their columns now, and all copied ones. */
async function copiedText(knex: Knex) {
  const { rows } = await knex.raw(
    `SELECT count(*) FILTER (WHERE s.body = ${SEARCH_TEXT}) AS equal, count(*) AS copied
     FROM audit_log_search_text s JOIN audit_log_events e USING (seq)`,
  );
  return { equal: Number(rows[0].equal), copied: Number(rows[0].copied) };
}

describe('the search text of PostgreSQL, copied behind the appends', () => {
  const postgres = databases
    .eachSupportedId()
    .filter(([id]) => id === 'POSTGRES_15');

  it.each(postgres)(
    'searches the same text as the store matches in the events table (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append([
        ...events(1, 3),
        event(4, { error: 'AWKWARD', meta: { awkward: AWKWARD } }),
        event(5, { actor: undefined, target: {}, request: undefined }),
      ]);
      await store.copySearchText();
      await expect(copiedText(knex)).resolves.toEqual({ equal: 5, copied: 5 });
      // the store's own text of each event (what a search of the events not copied matches)
      const seen: string[] = [];
      const record = (query: { sql: string }) => seen.push(query.sql);
      knex.on('query', record);
      await store.query({ q: 'AWKWARD', limit: 5 });
      knex.off('query', record);
      expect(seen.some(sql => sql.includes(SEARCH_TEXT))).toBe(true);
    },
  );

  it.each(postgres)(
    'keeps the copied text of an event equal to its columns when a row is changed (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append(events(1, 10));
      await store.copySearchText();
      await knex('audit_log_events')
        .where({ seq: 4 })
        .update({ error: 'rewritten by hand' });
      await expect(copiedText(knex)).resolves.toEqual({
        equal: 10,
        copied: 10,
      });
      const q = async (text: string) =>
        (await store.query({ q: text })).items.map(e => e.seq);
      expect(await q('rewritten by hand')).toEqual([4]);
      // verify still reports the change
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 4,
      });
    },
  );

  it.each(postgres)(
    'copies again the text of events appended after the tail of the chain was cut (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append(events(1, 10));
      await store.copySearchText();
      // the tail cut back to 5 (verify reports such a cut only with an anchor), then appended to
      const fifth = await knex('audit_log_events').where({ seq: 5 }).first();
      await knex('audit_log_events').where('seq', '>', 5).delete();
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 5, last_hash: fifth.hash });
      await store.append(
        events(6, 10).map(e => ({ ...e, error: 'appended after the cut' })),
      );
      await expect(store.copySearchText()).resolves.toBe(5);
      await expect(copiedText(knex)).resolves.toEqual({
        equal: 10,
        copied: 10,
      });
      const q = async (text: string) =>
        (await store.query({ q: text })).items.map(e => e.seq);
      expect(await q('appended after the cut')).toEqual([10, 9, 8, 7, 6]);
    },
  );

  it.each(postgres)(
    'copies the text of the events stored before the migration and searches them at once (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      await knex.migrate.down({
        directory: DatabaseAuditStore.migrationsDirectory,
      });
      // the trigram index is back on the events table; events are appended there
      const indexes = async () =>
        (
          await knex.raw(
            `SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log_events' ORDER BY indexname`,
          )
        ).rows.map((r: { indexname: string }) => r.indexname);
      expect(await indexes()).toEqual(
        expect.arrayContaining([
          'audit_log_events_search_idx',
          'audit_log_events_seq_brin',
        ]),
      );
      const store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append(events(1, 30));
      await DatabaseAuditStore.runMigrations(knex);
      expect(await indexes()).not.toContain('audit_log_events_search_idx');
      expect(await indexes()).not.toContain('audit_log_events_seq_brin');
      await expect(copiedText(knex)).resolves.toEqual({
        equal: 30,
        copied: 30,
      });
      await expect(store.copySearchText()).resolves.toBe(0);
      expect(
        (await store.query({ q: 'component:default/c2' })).items.map(
          e => e.seq,
        ),
      ).toEqual([29, 28, 26, 25, 23, 22, 20, 2]);
      await store.append(events(31, 32));
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 32,
      });
    },
  );
});

describe('the copy behind the appends', () => {
  const postgres = databases
    .eachSupportedId()
    .filter(([id]) => id === 'POSTGRES_15');

  it.each(postgres)(
    'starts after appends until stopped, and copies what is left when asked (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const copiedThrough = async () =>
        Number(
          (await knex('audit_log_search_state').first('indexed_through'))
            .indexed_through,
        );
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 10));
      for (let i = 0; i < 200 && (await copiedThrough()) < 10; i++) {
        await new Promise(r => setTimeout(r, 50));
      }
      expect(await copiedThrough()).toBe(10);
      await store.stopCopyingSearchText();
      await store.append(events(11, 20));
      // several times the delay after which an append's copy starts
      await new Promise(r => setTimeout(r, 1000));
      expect(await copiedThrough()).toBe(10);
      // still found, from the events table
      expect(
        (await store.query({ q: '/api/x/2' })).items.map(e => e.seq),
      ).toEqual([20, 2]);
      await expect(store.copySearchText()).resolves.toBe(10);
      expect(await copiedThrough()).toBe(20);
    },
  );
});

describe('textArrayLiteral', () => {
  const postgres = databases
    .eachSupportedId()
    .filter(([id]) => id === 'POSTGRES_15');

  it.each(postgres)(
    'gives PostgreSQL every value as it is (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const values = [
        ...AWKWARD,
        null,
        'NULL',
        '{a,b}',
        ' padded ',
        '"quoted"',
        'back\\slash\\',
        '{"index":1,"values":{"image":"nginx:1.27"}}',
      ];
      const { rows } = await knex.raw('SELECT ?::text[] AS a', [
        textArrayLiteral(values),
      ]);
      expect(rows[0].a).toEqual(values);
      expect(
        (await knex.raw('SELECT ?::text[] AS a', [textArrayLiteral([])]))
          .rows[0].a,
      ).toEqual([]);
    },
  );
});
