import { TestDatabases } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import {
  caseInsensitiveLike,
  DatabaseAuditStore,
  rarestWord,
} from './DatabaseAuditStore';
import {
  contentDigest,
  hashRow,
  postgresContentDigest,
  postgresHashExpression,
  storedHashMatches,
} from './chain';
import { encodeCursor } from './cursor';
import { inputToRow } from './rows';

jest.setTimeout(60_000);

// the generated column's expression as the migration writes it out
const {
  CONTENT_DIGEST,
} = require('../../migrations/20261211000000_content_digest.js');
// the searched text as the migration copies it
const {
  SEARCH_TEXT,
} = require('../../migrations/20261212000000_search_text.js');

/** Events whose copied search text is the text of their columns now, and all copied ones. */
async function copiedText(knex: Knex) {
  const { rows } = await knex.raw(
    `SELECT count(*) FILTER (WHERE s.body = ${SEARCH_TEXT}) AS equal, count(*) AS copied
     FROM audit_log_search_text s JOIN audit_log_events e USING (seq)`,
  );
  return { equal: Number(rows[0].equal), copied: Number(rows[0].copied) };
}

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

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

/**
 * Appends as a replica without migration 20261204000000_chain_v2 does: canonical JSON
 * (version 1), rows that do not name chain_version (its default, 1, applies); or, with
 * `version` 2, as one without migration 20261211000000_content_digest does.
 */
async function appendV1(
  knex: Knex,
  batch: AuditEventInput[],
  version: 1 | 2 = 1,
) {
  await knex.transaction(async tx => {
    const head = await tx('audit_log_chain_head').where({ id: 1 }).first();
    let seq = Number(head.last_seq);
    let prevHash: string = head.last_hash;
    for (const e of batch) {
      const row = inputToRow(e, ++seq);
      const hash = hashRow(prevHash, row, version)!;
      await tx('audit_log_events').insert({
        ...row,
        ...(version === 2 ? { chain_version: 2 } : {}),
        prev_hash: prevHash,
        hash,
      });
      prevHash = hash;
    }
    await tx('audit_log_chain_head')
      .where({ id: 1 })
      .update({ last_seq: seq, last_hash: prevHash });
  });
}

/** Values that are awkward to hash the same way in SQL and JavaScript. */
const AWKWARD = [
  'quote " backslash \\ slash / colon : 3:abc',
  'line\nbreak\ttab\r\u0001\u001f\u007f \u2028 \u2029',
  'ünïcödé ✓ 😀 中文 e\u0301 \ufffd \u{10ffff}',
  '',
  '😀'.repeat(300),
];

describe.each(databases.eachSupportedId())(
  'DatabaseAuditStore (%p)',
  databaseId => {
    let knex: Knex;
    let store: DatabaseAuditStore;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      store = new DatabaseAuditStore(knex);
    });

    it('appends gapless sequence numbers forming a valid chain', async () => {
      await expect(store.append(events(1, 3))).resolves.toEqual({
        firstSeq: 1,
        lastSeq: 3,
      });
      await expect(store.append(events(4, 10))).resolves.toEqual({
        firstSeq: 4,
        lastSeq: 10,
      });
      const stored = await knex('audit_log_events').orderBy('seq');
      expect(stored.map(r => Number(r.seq))).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect(stored[0].prev_hash).toBe('0'.repeat(64));
      expect(stored[1].prev_hash).toBe(stored[0].hash);

      const result = await store.verify();
      expect(result).toMatchObject({
        ok: true,
        checked: 10,
        firstSeq: 1,
        lastSeq: 10,
        headSeq: 10,
      });
      expect(result.failedSeq).toBeUndefined();

      const one = await store.get(4);
      expect(one).toMatchObject({
        seq: 4,
        plugin: 'catalog',
        eventId: 'entity-fetch',
        actor: 'user:default/john',
        target: { entityRef: 'component:default/c4' },
        request: { method: 'GET', path: '/api/x/4', ip: '127.0.0.1' },
        meta: { n: 4, nested: { a: [1, 2], z: 1 } },
        occurredAt: event(4).occurredAt,
      });
      await expect(store.get(99)).resolves.toBeUndefined();
    });

    it('hides secrets written in the strings of an event appended by any writer', async () => {
      await store.append([
        event(1, {
          meta: {
            note: 'password: hunter2',
            cmd: 'mysql -phunter2 shop',
            dsn: 'postgres://app:hunter2@db/x',
            summary: 'tokenCount: 3, password-policy updated',
          },
          error: 'cannot connect to postgres://app:hunter2@db/x',
        }),
        // a list where an object belongs was stored as given
        event(2, { meta: ['postgres://app:hunter2@db/x'] as any }),
      ]);
      expect(await store.get(1)).toMatchObject({
        meta: {
          note: 'password: [REDACTED]',
          cmd: 'mysql -p[REDACTED] shop',
          dsn: 'postgres://app:[REDACTED]@db/x',
          summary: 'tokenCount: 3, password-policy updated',
        },
        error: 'cannot connect to postgres://app:[REDACTED]@db/x',
      });
      expect((await store.get(2))?.meta).toEqual([
        'postgres://app:[REDACTED]@db/x',
      ]);
      const rows = await knex('audit_log_events').select('meta', 'error');
      expect(JSON.stringify(rows)).not.toContain('hunter2');
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
    });

    it('hides secret query parameters and fragments of the request path appended by any writer', async () => {
      const path = (p: string) => ({ method: 'GET', path: p });
      await store.append([
        event(1, {
          request: path('/api/x/callback?access_token=abc123&state=1'),
        }),
        event(2, { request: path('/api/x?password=hunter2') }),
        event(3, {
          request: path('/api/x/cb#access_token=abc456&expires_in=3600'),
        }),
        event(4, {
          request: path('/api/x?access%5Ftoken=abc789&token=t1&token=t2'),
        }),
        event(5, { request: path('/api/x?page=2&q=tokenizer') }),
      ]);
      const paths = [];
      for (let seq = 1; seq <= 5; seq++) {
        paths.push((await store.get(seq))?.request?.path);
      }
      expect(paths).toEqual([
        '/api/x/callback?access_token=[REDACTED]&state=1',
        '/api/x?password=[REDACTED]',
        '/api/x/cb#access_token=[REDACTED]&expires_in=3600',
        '/api/x?access%5Ftoken=[REDACTED]&token=[REDACTED]&token=[REDACTED]',
        '/api/x?page=2&q=tokenizer',
      ]);
      const rows = await knex('audit_log_events').select('request_path');
      for (const secret of ['abc123', 'hunter2', 'abc456', 'abc789', 't1']) {
        expect(JSON.stringify(rows)).not.toContain(secret);
      }
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
    });

    it('stores odd events without breaking the batch or the chain', async () => {
      const long = 'x'.repeat(600);
      await store.append([
        event(1),
        event(2, {
          plugin: undefined as any,
          eventId: '',
          actor: `user:default/\ud800lone-${long}`,
          target: { entityRef: `component:default/${'😀'.repeat(600)}` },
          request: { method: 'PROPFIND-EXTENDED-METHOD', ip: long },
          meta: { bad: '\udfff' },
        }),
        event(3),
      ]);
      const odd = await store.get(2);
      expect(odd).toMatchObject({ plugin: 'unknown', eventId: 'unknown' });
      expect(odd!.actor).toHaveLength(512);
      expect(odd!.actor).toContain('\ufffd');
      expect(Array.from(odd!.target.entityRef!)).toHaveLength(512);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 3,
      });
    });

    it('verifies an empty chain', async () => {
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 0,
        headSeq: 0,
      });
    });

    it('reports the exact sequence number of a row changed in the database', async () => {
      await store.append(events(1, 25));
      await knex('audit_log_events')
        .where({ seq: 17 })
        .update({ actor: 'user:default/mallory' });
      const result = await store.verify();
      expect(result).toMatchObject({ ok: false, failedSeq: 17, checked: 16 });
      expect(result.reason).toMatch(/altered/);
    });

    it('reports a row whose hash was recomputed by the tamperer as a broken link', async () => {
      await store.append(events(1, 5));
      await knex('audit_log_events')
        .where({ seq: 3 })
        .update({ hash: 'f'.repeat(64) });
      const result = await store.verify();
      expect(result.ok).toBe(false);
      expect(result.failedSeq).toBe(3);
    });

    it('reports a deleted row and a truncated tail', async () => {
      await store.append(events(1, 8));
      await knex('audit_log_events').where({ seq: 5 }).delete();
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 5,
      });
      await knex('audit_log_events').where('seq', '>=', 4).delete();
      const result = await store.verify();
      expect(result).toMatchObject({ ok: false, failedSeq: 4 });
      expect(result.reason).toMatch(/missing/);
    });

    it('verifies across many small batches and finds a whole missing batch', async () => {
      const small = new DatabaseAuditStore(knex, { verifyBatchSize: 7 });
      await small.append(events(1, 50));
      await expect(small.verify()).resolves.toMatchObject({
        ok: true,
        checked: 50,
        lastSeq: 50,
      });
      // seq 29..35 is exactly the fifth batch
      await knex('audit_log_events').whereBetween('seq', [29, 35]).delete();
      await expect(small.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 29,
        checked: 28,
      });
      await knex('audit_log_events').where('seq', '>', 28).delete();
      await expect(small.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 29,
      });
    });

    it('finds the first bad event wherever it sits in a verify range', async () => {
      // ranges of 7: 1–7, 8–14, 15–21, …
      const small = new DatabaseAuditStore(knex, { verifyBatchSize: 7 });
      await small.append(events(1, 30));
      const original = await knex('audit_log_events').orderBy('seq');
      const restore = async () => {
        for (const row of original) {
          await knex('audit_log_events')
            .where({ seq: row.seq })
            .update({ ...row, content_digest: undefined });
        }
      };

      for (const [seq, checked] of [
        [8, 7], // first of a range
        [14, 13], // last of a range
        [18, 17], // inside a range
        [30, 29], // the head
      ]) {
        await knex('audit_log_events')
          .where({ seq })
          .update({ actor: 'user:default/mallory' });
        const altered = await small.verify();
        expect(altered).toMatchObject({ ok: false, failedSeq: seq, checked });
        expect(altered.reason).toMatch(/altered/);
        await restore();
      }

      // a later, second alteration does not hide the first
      await knex('audit_log_events')
        .whereIn('seq', [11, 12, 25])
        .update({ error: 'x' });
      await expect(small.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 11,
        checked: 10,
      });
      await restore();

      // a rewritten link, its hash recomputed to match (so only the link gives it away), inside
      // a range and at the start of one
      for (const seq of [10, 15]) {
        const row = original[seq - 1];
        const prevHash = 'a'.repeat(64);
        await knex('audit_log_events')
          .where({ seq })
          .update({
            prev_hash: prevHash,
            hash: hashRow(prevHash, row, Number(row.chain_version))!,
          });
        const relinked = await small.verify();
        expect(relinked).toMatchObject({
          ok: false,
          failedSeq: seq,
          checked: seq - 1,
        });
        expect(relinked.reason).toMatch(/does not link/);
        await restore();
      }

      // one event missing inside a range
      await knex('audit_log_events').where({ seq: 10 }).delete();
      const missing = await small.verify();
      expect(missing).toMatchObject({ ok: false, failedSeq: 10, checked: 9 });
      expect(missing.reason).toMatch(/missing \(the next stored event is 11\)/);
      const { content_digest: _digest, ...tenth } = original[9];
      await knex('audit_log_events').insert(tenth);

      await expect(small.verify()).resolves.toMatchObject({
        ok: true,
        checked: 30,
        firstSeq: 1,
        lastSeq: 30,
      });
    });

    it('prunes by retention while keeping the chain verifiable', async () => {
      await store.append(events(1, 30));
      // events 1..20 happened before the cut-off
      const before = new Date(event(21).occurredAt);
      const pruned = await store.prune({ before });
      expect(pruned.deleted).toBe(20);
      expect(pruned.checkpoint).toMatchObject({ throughSeq: 20 });

      await store.append(events(31, 35));
      const result = await store.verify();
      expect(result).toMatchObject({
        ok: true,
        checked: 15,
        firstSeq: 21,
        lastSeq: 35,
        headSeq: 35,
        pruned: { throughSeq: 20, hash: pruned.checkpoint!.hash },
      });
      // pruning again with the same cut-off is a no-op
      await expect(store.prune({ before })).resolves.toMatchObject({
        deleted: 0,
      });
      // tampering after a prune is still detected
      await knex('audit_log_events')
        .where({ seq: 21 })
        .update({ status: 'failed' });
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 21,
      });
    });

    it('filters and pages with a cursor, newest first', async () => {
      await store.append(events(1, 30));
      await store.append([
        event(31, {
          severity: 'high',
          status: 'failed',
          error: 'Quota 100% exceeded',
          target: { cluster: 'prod', namespace: 'team-a' },
        }),
      ]);

      const page1 = await store.query({ plugin: 'scaffolder', limit: 4 });
      expect(page1.items.map(e => e.seq)).toEqual([30, 27, 24, 21]);
      expect(page1.nextCursor).toBeDefined();
      const page2 = await store.query({
        plugin: 'scaffolder',
        limit: 4,
        cursor: page1.nextCursor,
      });
      expect(page2.items.map(e => e.seq)).toEqual([18, 15, 12, 9]);
      const page3 = await store.query({
        plugin: 'scaffolder',
        limit: 4,
        cursor: page2.nextCursor,
      });
      expect(page3.items.map(e => e.seq)).toEqual([6, 3]);
      expect(page3.nextCursor).toBeUndefined();

      const q = async (query: Parameters<DatabaseAuditStore['query']>[0]) =>
        (await store.query(query)).items.map(e => e.seq);

      expect(await q({ actor: 'user:default/jane', eventId: 'task' })).toEqual([
        27, 21, 15, 9, 3,
      ]);
      expect(await q({ severity: ['high', 'critical'] })).toEqual([31]);
      expect(await q({ status: ['failed'] })).toEqual([31]);
      expect(await q({ entityRef: 'component:default/c7' })).toEqual([7]);
      expect(await q({ target: 'task:12' })).toEqual([12]);
      expect(await q({ target: 'team-a' })).toEqual([31]);
      expect(
        await q({ from: event(10).occurredAt, to: event(13).occurredAt }),
      ).toEqual([12, 11, 10]);
      // free text, case-insensitive, wildcards taken literally
      expect(await q({ q: 'QUOTA 100%' })).toEqual([31]);
      expect(await q({ q: '100_' })).toEqual([]);
      expect(await q({ q: 'c29' })).toEqual([29]);
      await expect(store.query({ cursor: 'bogus' })).rejects.toThrow(/cursor/);
    });

    it('refuses a cursor it did not issue with an InputError, the same on every database', async () => {
      await store.append(events(1, 5));
      const forged = (text: string) =>
        Buffer.from(text, 'utf8').toString('base64url');
      for (const cursor of [
        forged('seq:99999999999999999999'),
        forged(`seq:${'9'.repeat(140)}`),
        forged('seq:9007199254740992'),
        forged('seq:0'),
        forged('seq:007'),
        `${encodeCursor(5)}=`,
      ]) {
        for (const q of [undefined, 'c3']) {
          await expect(store.query({ cursor, q })).rejects.toMatchObject({
            name: 'InputError',
            message:
              'Invalid cursor: pass the nextCursor of an earlier page unchanged',
          });
        }
      }
      // the largest cursor it could issue is read as given
      expect(
        (
          await store.query({ cursor: encodeCursor(Number.MAX_SAFE_INTEGER) })
        ).items.map(e => e.seq),
      ).toEqual([5, 4, 3, 2, 1]);
    });

    it('searches free text through an index that follows appends and pruning', async () => {
      const isPostgres = databaseId === 'POSTGRES_15';
      // PostgreSQL: the text is copied for the trigram index only when asked here
      store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append(events(1, 40));
      await store.append([
        event(41, { error: 'Helm said "quota exceeded" for ns Team-B' }),
      ]);
      const q = async (text: string) =>
        (await store.query({ q: text, limit: 100 })).items.map(e => e.seq);
      const searches = async () => {
        expect(await q('"QUOTA EXCEEDED"')).toEqual([41]);
        expect(await q('team-b')).toEqual([41]);
        expect(await q('/api/x/33')).toEqual([33]);
        // two characters: shorter than a trigram, still a substring match
        expect(await q('c3')).toEqual([38, 37, 35, 34, 32, 31]);
        // in meta, across the JSON text
        expect(await q('"n":17,')).toEqual([17]);
      };
      // PostgreSQL: found in the events table while their text is not copied, and the same after
      await searches();
      await expect(store.copySearchText()).resolves.toBe(isPostgres ? 41 : 0);
      await searches();
      // PostgreSQL: the copied text's trigram index answers: with table and ordered index scans
      // off (a 41-row table is otherwise scanned), the plan uses it.
      // SQLite: the FTS table holds every event.
      const planOfSearch = async () => {
        const seen: Array<{ sql: string; bindings: unknown[] }> = [];
        const record = (query: { sql: string; bindings: unknown[] }) =>
          seen.push(query);
        knex.on('query', record);
        await q('quota');
        knex.off('query', record);
        const search = seen.find(x => x.sql.includes('search_hits'))!;
        return knex.transaction(async tx => {
          await tx.raw('SET LOCAL enable_seqscan = off');
          await tx.raw('SET LOCAL enable_indexscan = off');
          const sql = search.sql.replace(/\$\d+/g, '?');
          const explained = await tx.raw(
            `EXPLAIN ${sql}`,
            search.bindings as any,
          );
          return explained.rows.map((r: any) => r['QUERY PLAN']).join('\n');
        });
      };
      const ftsRows = async () => {
        const [{ n }] = await knex.raw(
          'SELECT count(*) AS n FROM audit_log_events_search',
        );
        return `${n} rows in audit_log_events_search`;
      };
      expect(await (isPostgres ? planOfSearch() : ftsRows())).toContain(
        isPostgres
          ? 'audit_log_search_text_trgm'
          : '41 rows in audit_log_events_search',
      );
      await store.prune({ before: new Date(event(21).occurredAt) });
      expect(await q('/api/x/1')).toEqual([]);
      expect(await q('/api/x/3')).toEqual([
        39, 38, 37, 36, 35, 34, 33, 32, 31, 30,
      ]);
      // PostgreSQL: the pruned events' copied text is gone with them. SQLite: their FTS rows.
      const [{ n }] = await knex
        .raw(
          `SELECT count(*) AS n FROM ${
            isPostgres ? 'audit_log_search_text' : 'audit_log_events_search'
          }`,
        )
        .then(result => (isPostgres ? result.rows : result));
      expect(Number(n)).toBe(21);
    });

    it('finds every event appended, whether its text is copied yet or not, page after page', async () => {
      const isPostgres = databaseId === 'POSTGRES_15';
      store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
        searchRangeSpan: 4,
      });
      await store.append(events(1, 30));
      await store.copySearchText();
      await store.append(events(31, 45));
      const all = async (query: Parameters<DatabaseAuditStore['query']>[0]) => {
        const seqs: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.query({ ...query, limit: 3, cursor });
          seqs.push(...page.items.map(e => e.seq));
          cursor = page.nextCursor;
        } while (cursor);
        return seqs;
      };
      const streamed = async (
        filters: Parameters<DatabaseAuditStore['stream']>[0],
      ) => {
        const seqs: number[] = [];
        for await (const e of store.stream(filters)) seqs.push(e.seq);
        return seqs;
      };
      // the events up to 30 copied (PostgreSQL), those after not
      const x3 = [39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 3];
      const searches = async () => {
        expect(await all({ q: 'component:default/c4' })).toEqual([
          44, 43, 41, 40, 4,
        ]);
        expect(await all({ q: '/api/x/3' })).toEqual(x3);
        expect(
          await all({ q: 'component:default/c4', actor: 'user:default/jane' }),
        ).toEqual([43, 41]);
        expect(await streamed({ q: '/api/x/3' })).toEqual(x3);
        expect(await streamed({ q: 'TASK:4', plugin: 'scaffolder' })).toEqual([
          45, 42,
        ]);
        expect(await streamed({ q: 'task:1', plugin: 'scaffolder' })).toEqual([
          18, 15, 12,
        ]);
      };
      await searches();
      // PostgreSQL: 30 copied before; the 15 after are copied now, and found the same way
      await expect(store.copySearchText()).resolves.toBe(isPostgres ? 15 : 0);
      await expect(store.copySearchText()).resolves.toBe(0);
      await searches();
    });

    it('summarizes the search window index after a burst of appends, beside the first search', async () => {
      if (databaseId !== 'POSTGRES_15') return; // SQLite: FTS5, no such index
      // 10,000 events' text fills about 190 pages of the copied text: ranges of 32 pages
      // autovacuum has not summarized yet (it comes once a minute at most). The copy summarizes
      // them too, but gives up after 1 s here: another session holds the table's lock.
      store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      for (let from = 1; from <= 10000; from += 1000)
        await store.append(events(from, from + 999));
      const locker = await knex.transaction();
      try {
        await locker.raw(
          'LOCK TABLE audit_log_search_text IN SHARE UPDATE EXCLUSIVE MODE',
        );
        await expect(store.copySearchText()).resolves.toBe(10000);
      } finally {
        await locker.commit();
      }
      const pages = Number(
        (
          await knex.raw(
            "SELECT pg_relation_size('audit_log_search_text') / current_setting('block_size')::int AS n",
          )
        ).rows[0].n,
      );
      expect(pages).toBeGreaterThan(4 * 32);
      /** Table pages the BRIN index says may hold the newest 100 events (all of them while unsummarized). */
      const pagesForNewest = () =>
        knex.transaction(async tx => {
          await tx.raw('SET LOCAL enable_seqscan = off');
          await tx.raw('SET LOCAL enable_indexscan = off');
          const { rows } = await tx.raw(
            'EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM audit_log_search_text WHERE seq > 9900',
          );
          const find = (node: any): any =>
            node['Node Type'] === 'Bitmap Heap Scan'
              ? node
              : (node.Plans ?? []).map(find).find(Boolean);
          const scan = find(rows[0]['QUERY PLAN'][0].Plan);
          return (
            Number(scan['Lossy Heap Blocks'] ?? 0) +
            Number(scan['Exact Heap Blocks'] ?? 0)
          );
        });
      expect(await pagesForNewest()).toBeGreaterThan(pages / 2);

      expect(
        (await store.query({ q: 'component:default/c9998', limit: 10 })).items,
      ).toHaveLength(1);
      // Summarized beside the search: the newest events are in the last range or two.
      let newest = pages;
      for (let i = 0; i < 50 && newest > 2 * 32; i++) {
        await new Promise(r => setTimeout(r, 100));
        newest = await pagesForNewest();
      }
      expect(newest).toBeLessThanOrEqual(2 * 32);
    });

    it('does not wait for the search window index while another session holds its lock', async () => {
      if (databaseId !== 'POSTGRES_15') return;
      await store.append(events(1, 500));
      // VACUUM, ANALYZE or CREATE INDEX CONCURRENTLY hold this lock for as long as they run.
      let release!: () => void;
      let locked!: () => void;
      const holding = new Promise<void>(r => (locked = r));
      const held = knex.transaction(async tx => {
        await tx.raw(
          'LOCK TABLE audit_log_search_text IN SHARE UPDATE EXCLUSIVE MODE',
        );
        locked();
        await new Promise<void>(r => (release = r));
      });
      await holding;
      try {
        const found = await store.query({ q: 'component:default/c499' });
        expect(found.items.map(e => e.seq)).toEqual([499]);
        // The summarizing gave up after its 1 s lock timeout: no session waits on the lock.
        const waiting = async () =>
          Number(
            (
              await knex.raw(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT brin_summarize_new_values%' AND wait_event_type = 'Lock'`,
              )
            ).rows[0].n,
          );
        let left = await waiting();
        for (let i = 0; i < 30 && left > 0; i++) {
          await new Promise(r => setTimeout(r, 100));
          left = await waiting();
        }
        expect(left).toBe(0);
        await store.append(events(501, 510));
        expect(
          (await store.query({ q: 'component:default/c505' })).items,
        ).toHaveLength(1);
      } finally {
        release();
        await held;
      }
    });

    it('finds the same events for common and rare search text, page after page', async () => {
      // 61 events: 'scaffolder' is in 20 of them (common: on PostgreSQL the primary key walk),
      // 'quota 100%' and 'c4' in a few (rare: the trigram index asked for the rarest word only)
      await store.append(events(1, 60));
      await store.append([
        event(61, { error: 'Helm: quota 100% used in team-a' }),
      ]);
      const all = async (query: Parameters<DatabaseAuditStore['query']>[0]) => {
        const seqs: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.query({ ...query, limit: 7, cursor });
          seqs.push(...page.items.map(e => e.seq));
          cursor = page.nextCursor;
        } while (cursor);
        return seqs;
      };
      const scaffolder = [
        60, 57, 54, 51, 48, 45, 42, 39, 36, 33, 30, 27, 24, 21, 18, 15, 12, 9,
        6, 3,
      ];
      expect(await all({ q: 'SCAFFOLDER' })).toEqual(scaffolder);
      expect(
        await all({ q: 'scaffolder', actor: 'user:default/jane' }),
      ).toEqual(scaffolder.filter(n => n % 2));
      // a word in every event ('default') beside a rare one
      expect(await all({ q: 'component:default/c4' })).toEqual([
        49, 47, 46, 44, 43, 41, 40, 4,
      ]);
      expect(await all({ q: 'QUOTA 100% used' })).toEqual([61]);
      expect(await all({ q: 'quota 100_ used' })).toEqual([]);
      expect(await all({ q: '"n":17,' })).toEqual([17]);
      // no word of 3 characters: the walk
      expect(await all({ q: 'c4' })).toEqual([49, 47, 46, 44, 43, 41, 40, 4]);
      // text without letters (matched with LIKE), beside letters of either case
      expect(await all({ q: '/4' })).toEqual([
        49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 4,
      ]);
      expect(await all({ q: ':17,' })).toEqual([17]);
      expect(await all({ q: '% U' })).toEqual([61]);
    });

    it('walks a bounded range of events per search request; paging still finds every match', async () => {
      // PostgreSQL walks at most 10 sequence numbers per request here: a common text gives short
      // pages, a text only in old events empty ones, each with a cursor to go on from. SQLite
      // answers from its FTS table in one go.
      const isPostgres = databaseId === 'POSTGRES_15';
      const bounded = new DatabaseAuditStore(knex, { searchWalkSpan: 10 });
      await bounded.append(events(1, 60));
      await bounded.append([event(61, { error: 'quota 100% used' })]);
      await bounded.prune({ before: new Date(event(3).occurredAt) });
      const all = async (q: string) => {
        const pages: number[][] = [];
        let cursor: string | undefined;
        do {
          const page = await bounded.query({ q, limit: 7, cursor });
          pages.push(page.items.map(e => e.seq));
          cursor = page.nextCursor;
        } while (cursor && pages.length < 100);
        return pages;
      };
      const scaffolder = await all('SCAFFOLDER');
      expect(scaffolder.flat()).toEqual([
        60, 57, 54, 51, 48, 45, 42, 39, 36, 33, 30, 27, 24, 21, 18, 15, 12, 9,
        6, 3,
      ]);
      expect(scaffolder[0]).toEqual(
        isPostgres ? [60, 57, 54] : [60, 57, 54, 51, 48, 45, 42],
      );
      // no word of 3 characters: the walk; nothing among the newest 10 events
      const c4 = await all('c4');
      expect(c4.flat()).toEqual([49, 47, 46, 44, 43, 41, 40, 4]);
      expect(c4[0]).toEqual(isPostgres ? [] : [49, 47, 46, 44, 43, 41, 40]);
      // the walk stops at the oldest event kept: no cursor past it
      expect(c4.length).toBe(isPostgres ? 6 : 2);
      expect(
        (await bounded.query({ q: 'c4', cursor: encodeCursor(5), limit: 7 }))
          .nextCursor,
      ).toBeUndefined();
    });

    it('indexes the events stored before the search index existed', async () => {
      await knex.migrate.down({
        directory: DatabaseAuditStore.migrationsDirectory,
        name: '20261203000000_search_index.js',
      });
      await store.append(events(1, 5));
      await DatabaseAuditStore.runMigrations(knex);
      expect(
        (await store.query({ q: 'component:default/c4' })).items.map(
          e => e.seq,
        ),
      ).toEqual([4]);
      await store.append(events(6, 7));
      expect(
        (await store.query({ q: '/API/X/7' })).items.map(e => e.seq),
      ).toEqual([7]);
    });

    it('streams every matching event in batches', async () => {
      const many = events(1, 2500);
      await store.append(many);
      const seqs: number[] = [];
      for await (const e of store.stream({ plugin: 'catalog' })) {
        seqs.push(e.seq);
      }
      expect(seqs).toHaveLength(
        many.filter(e => e.plugin === 'catalog').length,
      );
      expect(seqs[0]).toBe(2500);
      expect(seqs.every((s, i) => i === 0 || s < seqs[i - 1])).toBe(true);
      // the same events found by their text, in batches of a search
      const found: number[] = [];
      for await (const e of store.stream({ q: 'CATALOG' })) {
        found.push(e.seq);
      }
      expect(found).toEqual(seqs);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: 2500,
      });
    });

    it('verifies version 1 and 2 events (stored before the upgrades or by older replicas) among version 4 ones; a changed version is an alteration', async () => {
      // ranges of 4: every kind of event at every place of a range
      const small = new DatabaseAuditStore(knex, { verifyBatchSize: 4 });
      await appendV1(knex, events(1, 5));
      await small.append(events(6, 10));
      await appendV1(knex, events(11, 12)); // a replica not upgraded yet
      await small.append(events(13, 15));
      await appendV1(knex, events(16, 18), 2); // one upgraded once
      await small.append(events(19, 20));
      const original = await knex('audit_log_events').orderBy('seq');
      expect(original.map(r => Number(r.chain_version))).toEqual([
        1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 1, 1, 4, 4, 4, 2, 2, 2, 4, 4,
      ]);
      await expect(small.verify()).resolves.toMatchObject({
        ok: true,
        checked: 20,
        lastSeq: 20,
      });
      const restore = async () => {
        for (const row of original) {
          await knex('audit_log_events')
            .where({ seq: row.seq })
            .update({ ...row, content_digest: undefined });
        }
      };

      for (const [seq, change] of [
        [3, { actor: 'user:default/mallory' }], // a version 1 event
        [12, { error: '' }], // a version 1 event after version 4 ones
        [8, { actor: 'user:default/mallory' }], // a version 4 event
        [13, { request_ip: null }], // a version 4 event, NULL instead of a value
        [17, { meta: '{}' }], // a version 2 event
        // the version marker: in every direction, to one that does not exist
        [4, { chain_version: 2 }],
        [5, { chain_version: 4 }],
        [7, { chain_version: 1 }],
        [10, { chain_version: 2 }],
        [16, { chain_version: 4 }],
        [14, { chain_version: 3 }],
        [19, { chain_version: 5 }],
        // the marker changed together with the content: changing it never lets an altered
        // event pass, it only makes the event fail in the other form too
        [9, { chain_version: 1, actor: 'user:default/mallory' }],
        [2, { chain_version: 2, actor: 'user:default/mallory' }],
      ] as const) {
        await knex('audit_log_events').where({ seq }).update(change);
        const altered = await small.verify();
        expect(altered).toMatchObject({
          ok: false,
          failedSeq: seq,
          checked: seq - 1,
        });
        expect(altered.reason).toMatch(/altered/);
        await restore();
      }
      await expect(small.verify()).resolves.toMatchObject({
        ok: true,
        checked: 20,
      });
    });

    it('hashes awkward values so that they verify, and any change of them is found', async () => {
      await store.append(
        AWKWARD.map((text, i) =>
          event(i, {
            actor: text || undefined,
            error: text,
            request: { path: text, userAgent: text },
            target: { entityRef: text, namespace: text },
            meta: {
              text,
              long: 'x'.repeat(60_000),
              nested: { [text]: [text, 1.5, true, null] },
            },
          }),
        ),
      );
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        checked: AWKWARD.length,
      });
      // moving a character from one column to the next keeps the bytes, not the hash
      const second = await knex('audit_log_events').where({ seq: 2 }).first();
      await knex('audit_log_events')
        .where({ seq: 2 })
        .update({
          actor: second.actor.slice(0, -1),
          plugin_id: `${second.actor.slice(-1)}${second.plugin_id}`,
        });
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 2,
        checked: 1,
      });
    });

    it('migrates down and up again', async () => {
      await store.append(events(1, 2));
      await knex.migrate.rollback(
        { directory: DatabaseAuditStore.migrationsDirectory },
        true,
      );
      expect(await knex.schema.hasTable('audit_log_events')).toBe(false);
      expect(await knex.schema.hasTable('audit_log_chain_head')).toBe(false);
      await DatabaseAuditStore.runMigrations(knex);
      await expect(store.append(events(1, 1))).resolves.toEqual({
        firstSeq: 1,
        lastSeq: 1,
      });
    });
  },
);

describe('DatabaseAuditStore on one PostgreSQL shared by replicas', () => {
  const postgres = databases
    .eachSupportedId()
    .filter(([id]) => id === 'POSTGRES_15');

  it.each(postgres)(
    'plans a search by the previous sample of the newest events while a newer one is read (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      // the store's database, with its reads of the sample (the only lower-casing query) held
      // back on demand
      const sampleReads: Array<{
        bindings: unknown[];
        done: Promise<unknown>;
      }> = [];
      let hold = false;
      const held: Array<() => void> = [];
      const db = new Proxy(knex, {
        get(target, prop, receiver) {
          if (prop !== 'raw') return Reflect.get(target, prop, receiver);
          return (sql: string, bindings: any) => {
            if (!/lower\(/.test(sql)) return target.raw(sql, bindings);
            const gate = hold
              ? new Promise<void>(resolve => held.push(resolve))
              : Promise.resolve();
            const done = gate.then(() => target.raw(sql, bindings));
            sampleReads.push({ bindings, done });
            return done;
          };
        },
      });
      const store = new DatabaseAuditStore(db, { searchWalkSpan: 10 });
      await store.append(events(1, 40));
      const seqs = async (page: Promise<{ items: Array<{ seq: number }> }>) =>
        (await page).items.map(e => e.seq);
      // 'quota' is in no event: the first search reads the sample and plans it as rare
      expect(await seqs(store.query({ q: 'quota', limit: 7 }))).toEqual([]);
      expect(sampleReads).toHaveLength(1);
      // now in every third of the newest 60 events (20: common in a sample of 100)
      await store.append(
        events(41, 100).map(e =>
          Number(e.meta!.n) % 3 ? e : { ...e, error: 'quota exceeded' },
        ),
      );
      const realNow = Date.now.bind(Date);
      const clock = jest
        .spyOn(Date, 'now')
        .mockImplementation(() => realNow() + 61_000);
      let timer: NodeJS.Timeout | undefined;
      try {
        hold = true;
        // the sample is a minute old: a refresh starts, and the search does not wait for it. It
        // is planned by the previous sample (rare: the trigram index, a full page). The refresh
        // is held until released below: a search waiting for it would lose this race.
        const waited = new Promise(resolve => {
          timer = setTimeout(() => resolve('waited for the refresh'), 5000);
        });
        const page = await Promise.race([
          store.query({ q: 'quota', limit: 7 }),
          waited,
        ]);
        expect(page).toEqual({
          items: [99, 96, 93, 90, 87, 84, 81].map(seq =>
            expect.objectContaining({ seq }),
          ),
          nextCursor: encodeCursor(81),
        });
        expect(held).toHaveLength(1);
        // one refresh at a time, reading only the events appended since the sample's newest
        expect(await seqs(store.query({ q: 'exceeded', limit: 2 }))).toEqual([
          99, 96,
        ]);
        expect(sampleReads).toHaveLength(2);
        expect(sampleReads[1].bindings[0]).toBe(40);
        hold = false;
        held.forEach(release => release());
        await sampleReads[1].done;
        await new Promise(resolve => setImmediate(resolve));
        // the refreshed sample holds 'quota' 20 times: the bounded walk of 10 events, a short
        // page with a cursor
        const walked = await store.query({ q: 'quota', limit: 7 });
        expect(walked.items.map(e => e.seq)).toEqual([99, 96, 93]);
        expect(walked.nextCursor).toBe(encodeCursor(91));
        expect(sampleReads).toHaveLength(2);
      } finally {
        clearTimeout(timer);
        clock.mockRestore();
        held.forEach(release => release());
      }
    },
  );

  it.each(postgres)(
    'asks the trigram index for one range of events after another and finds every match (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const ranged = new DatabaseAuditStore(knex, {
        searchRangeSpan: 4,
        copySearchTextAfterAppends: false,
      });
      await ranged.append(events(1, 60));
      await ranged.append([
        event(61, { error: 'Helm: quota 100% used in team-a' }),
      ]);
      await ranged.copySearchText();
      let rangeQueries = 0;
      const count = (query: { sql: string }) => {
        if (/search_hits/.test(query.sql)) rangeQueries += 1;
      };
      knex.on('query', count);
      const all = async (q: string, limit: number) => {
        const seqs: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await ranged.query({ q, limit, cursor });
          seqs.push(...page.items.map(e => e.seq));
          cursor = page.nextCursor;
        } while (cursor);
        return seqs;
      };
      try {
        // a word in every event ('default') beside a rare one: the newest 4 events hold none, the
        // next ranges (larger each time) fill the page
        const first = await ranged.query({
          q: 'component:default/c4',
          limit: 3,
        });
        expect(first.items.map(e => e.seq)).toEqual([49, 47, 46]);
        expect(first.nextCursor).toBe(encodeCursor(46));
        expect(rangeQueries).toBeGreaterThan(1);
        // page after page, down to the oldest
        expect(await all('component:default/c4', 3)).toEqual([
          49, 47, 46, 44, 43, 41, 40, 4,
        ]);
        expect(await all('component:default/c4', 50)).toEqual([
          49, 47, 46, 44, 43, 41, 40, 4,
        ]);
        expect(await all('/api/x/1', 4)).toEqual([
          19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1,
        ]);
        expect(await all('QUOTA 100% used', 5)).toEqual([61]);
        expect(await all('"n":17,', 5)).toEqual([17]);
        expect(
          (
            await ranged.query({
              q: 'component:default/c4',
              actor: 'user:default/jane',
              limit: 3,
            })
          ).items.map(e => e.seq),
        ).toEqual([49, 47, 43]);
      } finally {
        knex.off('query', count);
      }
    },
  );

  it.each(databases.eachSupportedId().filter(([id]) => id === 'POSTGRES_15'))(
    'answers a search whose trigram plan runs past its time with the bounded walk (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, {
        searchWalkSpan: 10,
        searchIndexTimeoutMs: 200,
      });
      await store.append(events(1, 40));
      // a rare text: the trigram plan finds a full page at once
      const rare = { q: '/api/x/1', limit: 5 };
      expect((await store.query(rare)).items.map(e => e.seq)).toEqual([
        19, 18, 17, 16, 15,
      ]);
      // the table locked for a second: the trigram plan is cancelled after 200 ms, and the walk
      // (waiting for the lock) finds nothing among the newest 10 events, so says where to go on
      // (from a pool of its own: the store's pool may hold one connection)
      const other = require('knex')({
        client: 'pg',
        connection: knex.client.config.connection,
        pool: { min: 0, max: 1 },
      }) as Knex;
      try {
        const locker = await other.transaction();
        await locker.raw(
          'LOCK TABLE audit_log_events IN ACCESS EXCLUSIVE MODE',
        );
        const released = new Promise(resolve => setTimeout(resolve, 1000)).then(
          () => locker.commit(),
        );
        const page = await store.query(rare);
        await released;
        expect(page.items).toEqual([]);
        expect(page.nextCursor).toBe(encodeCursor(31));
        // the lock gone, the next page comes from the trigram plan again
        const next = await store.query({ ...rare, cursor: page.nextCursor });
        expect(next.items.map(e => e.seq)).toEqual([19, 18, 17, 16, 15]);
      } finally {
        await other.destroy();
      }
    },
  );

  it.each(databases.eachSupportedId().filter(([id]) => id === 'POSTGRES_15'))(
    'hashes on the server exactly like in JavaScript (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const tricky = [
        ...AWKWARD,
        // would run together without the byte lengths
        'ab',
        'a',
      ];
      await appendV1(
        knex,
        tricky.map((text, i) =>
          event(i, { actor: text, meta: { text, long: 'y'.repeat(60_000) } }),
        ),
      );
      await store.append(
        tricky.map((text, i) =>
          event(i, {
            actor: text || undefined,
            ...(i >= AWKWARD.length
              ? { plugin: text === 'ab' ? 'c' : 'bc' }
              : {}),
            error: text,
            request: { path: text, userAgent: text },
            target: { entityRef: text, namespace: text },
            meta: {
              text,
              long: 'x'.repeat(60_000),
              nested: { [text]: [text, 1.5, true, null] },
            },
          }),
        ),
      );
      const { rows } = await knex.raw(
        `SELECT *, ${postgresHashExpression()} AS computed,
                ${postgresHashExpression(undefined, 'column')} AS from_digest,
                ${postgresHashExpression(1)} AS v1, ${postgresHashExpression(
          2,
        )} AS v2, ${postgresHashExpression(4)} AS v4
         FROM audit_log_events ORDER BY seq`,
      );
      expect(rows.map((r: any) => r.chain_version)).toEqual([
        ...tricky.map(() => 1),
        ...tricky.map(() => 4),
      ]);
      for (const row of rows) {
        expect(row.computed).toBe(row.hash);
        expect(row.from_digest).toBe(row.hash);
        expect(storedHashMatches(row)).toBe(true);
        // each form, whichever the row is stored in, equals JavaScript's
        expect(row.v1).toBe(hashRow(row.prev_hash, row, 1));
        expect(row.v2).toBe(hashRow(row.prev_hash, row, 2));
        expect(row.v4).toBe(hashRow(row.prev_hash, row, 4));
        // the digest the database keeps is the one JavaScript computes
        expect(row.content_digest).toEqual(contentDigest(row));
      }
      // 'ab' + 'c' and 'a' + 'bc': the same bytes, different hashes on both sides
      const [ab, a] = rows.slice(-2);
      expect([ab.actor, ab.plugin_id, a.actor, a.plugin_id]).toEqual([
        'ab',
        'c',
        'a',
        'bc',
      ]);
      expect(
        hashRow(ab.prev_hash, { ...ab, actor: 'a', plugin_id: 'bc' }, 4),
      ).not.toBe(ab.hash);
      const { rows: swapped } = await knex.raw(
        `SELECT ${postgresHashExpression(4)} AS hash FROM audit_log_events
         WHERE seq = ? UNION ALL
         SELECT ${postgresHashExpression(
           4,
         )} FROM (SELECT seq, occurred_at, 'a' AS actor, 'bc' AS plugin_id,
           event_id, severity, status, target_entity_ref, target_cluster, target_namespace,
           target_resource, request_method, request_path, request_ip, request_user_agent, meta,
           error, prev_hash FROM audit_log_events WHERE seq = ?) e`,
        [ab.seq, ab.seq],
      );
      expect(swapped[0].hash).toBe(ab.hash);
      expect(swapped[1].hash).not.toBe(ab.hash);
    },
  );

  const pgIds = databases
    .eachSupportedId()
    .filter(([id]) => id === 'POSTGRES_15');

  it.each(pgIds)(
    "hashes version 4 events from the database's content digests only while the database computes them (%p)",
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, { verifyBatchSize: 7 });
      await store.append(events(1, 20));
      const verifiedWith = async () => {
        const sql: string[] = [];
        const listen = (q: { sql: string }) => sql.push(q.sql);
        knex.on('query', listen);
        try {
          const result = await store.verify();
          return {
            result,
            fromDigests: sql.some(q =>
              /\|\| content_digest\), 'hex'\)/.test(q),
            ),
          };
        } finally {
          knex.removeListener('query', listen);
        }
      };
      const intact = await verifiedWith();
      expect(intact.result).toMatchObject({ ok: true, checked: 20 });
      expect(intact.fromDigests).toBe(true);

      // a changed column: the database recomputes the digest, the hash no longer matches
      const seven = await knex('audit_log_events').where({ seq: 7 }).first();
      await knex('audit_log_events')
        .where({ seq: 7 })
        .update({ actor: 'user:default/mallory' });
      const changed = await verifiedWith();
      expect(changed.result).toMatchObject({ ok: false, failedSeq: 7 });
      expect(changed.fromDigests).toBe(true);
      await knex('audit_log_events')
        .where({ seq: 7 })
        .update({ actor: seven.actor });
      await expect(store.verify()).resolves.toMatchObject({ ok: true });

      // no longer generated: the column keeps event 7's old digest while its actor changes, so
      // verify builds every event's text from its columns instead
      await knex.raw(
        'ALTER TABLE audit_log_events ALTER COLUMN content_digest DROP EXPRESSION',
      );
      await knex('audit_log_events')
        .where({ seq: 7 })
        .update({ actor: 'user:default/mallory' });
      expect(
        (await knex('audit_log_events').where({ seq: 7 }).first())
          .content_digest,
      ).toEqual(seven.content_digest);
      const undone = await verifiedWith();
      expect(undone.result).toMatchObject({ ok: false, failedSeq: 7 });
      expect(undone.result.reason).toMatch(/altered/);
      expect(undone.fromDigests).toBe(false);

      // generated again, by an expression that keeps event 7's old digest
      await knex.raw('ALTER TABLE audit_log_events DROP COLUMN content_digest');
      await knex.raw(
        `ALTER TABLE audit_log_events ADD COLUMN content_digest bytea GENERATED ALWAYS AS (
           CASE WHEN seq = 7 THEN '\\x${seven.content_digest.toString(
             'hex',
           )}'::bytea ELSE ${postgresContentDigest()} END) STORED`,
      );
      const forged = await verifiedWith();
      expect(forged.result).toMatchObject({ ok: false, failedSeq: 7 });
      expect(forged.fromDigests).toBe(false);

      // and as the migration defines it: trusted again
      await knex.raw('ALTER TABLE audit_log_events DROP COLUMN content_digest');
      await knex.raw(
        `ALTER TABLE audit_log_events ADD COLUMN content_digest bytea GENERATED ALWAYS AS (${CONTENT_DIGEST}) STORED`,
      );
      const again = await verifiedWith();
      expect(again.result).toMatchObject({ ok: false, failedSeq: 7 });
      expect(again.fromDigests).toBe(true);
    },
  );

  it.each(pgIds)(
    'is not fooled by an operator || defined in public, with or without the digest column (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, { verifyBatchSize: 7 });
      await store.append(events(1, 20));
      const seven = await knex('audit_log_events').where({ seq: 7 }).first();
      const forged = 'user:default/evil';
      expect(forged).toHaveLength(seven.actor.length);
      // text || varchar: PostgreSQL prefers this exact match to its own ||, wherever the
      // expression is built with public on the search path
      await knex.raw(
        `CREATE FUNCTION public.forged_cat(text, varchar) RETURNS text IMMUTABLE LANGUAGE sql
           AS $$ SELECT pg_catalog.textcat($1, CASE WHEN $2 = '${forged}' THEN '${seven.actor}' ELSE $2::text END) $$`,
      );
      await knex.raw(
        'CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.forged_cat)',
      );
      await knex('audit_log_events')
        .where({ seq: 7 })
        .update({ actor: forged });
      // the texts built on the server
      const built = await store.verify();
      expect(built).toMatchObject({ ok: false, failedSeq: 7 });
      expect(built.reason).toMatch(/altered/);
      // the digest column defined again, now with the forged operator
      await knex.raw('ALTER TABLE audit_log_events DROP COLUMN content_digest');
      await knex.raw(
        `ALTER TABLE audit_log_events ADD COLUMN content_digest bytea GENERATED ALWAYS AS (${CONTENT_DIGEST}) STORED`,
      );
      expect(
        (await knex('audit_log_events').where({ seq: 7 }).first())
          .content_digest,
      ).toEqual(seven.content_digest);
      const fromDigests = await store.verify();
      expect(fromDigests).toMatchObject({ ok: false, failedSeq: 7 });
      expect(fromDigests.reason).toMatch(/altered/);
    },
  );

  it.each(pgIds)(
    'walks again from the columns when the digest column stops being computed during a walk (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      await new DatabaseAuditStore(knex).append(events(1, 20));
      // the change lands after verify decided how to hash and before it reads the first range
      let attacked = false;
      const attackBefore = async (sql: unknown) => {
        if (attacked || !String(sql).includes('WINDOW w')) return;
        attacked = true;
        await knex.raw(
          'ALTER TABLE audit_log_events ALTER COLUMN content_digest DROP EXPRESSION',
        );
        await knex('audit_log_events')
          .where({ seq: 7 })
          .update({ actor: 'user:default/mallory' });
      };
      const withRace = <T extends object>(target: T): T =>
        new Proxy(target, {
          get(t, prop) {
            const value: any = Reflect.get(t, prop, t);
            if (prop === 'raw') {
              return async (sql: unknown, ...rest: unknown[]) => {
                await attackBefore(sql);
                return value.call(t, sql, ...rest);
              };
            }
            if (prop === 'transaction') {
              return (work: (tx: Knex.Transaction) => unknown) =>
                value.call(t, (tx: Knex.Transaction) => work(withRace(tx)));
            }
            return typeof value === 'function' ? value.bind(t) : value;
          },
        });
      const racing = withRace(knex);
      const result = await new DatabaseAuditStore(racing, {
        verifyBatchSize: 7,
      }).verify();
      expect(attacked).toBe(true);
      expect(result).toMatchObject({ ok: false, failedSeq: 7 });
      expect(result.reason).toMatch(/altered/);
    },
  );

  it.each(pgIds)(
    'builds one valid gapless chain from concurrent writers (%p)',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      // A second, independent connection pool to the same database plays the
      // second backend replica.
      const other = require('knex')({
        client: 'pg',
        connection: knex.client.config.connection,
        pool: { min: 0, max: 4 },
      }) as Knex;
      try {
        const replicas = [
          new DatabaseAuditStore(knex),
          new DatabaseAuditStore(other),
        ];
        const writes: Promise<unknown>[] = [];
        for (let w = 0; w < 8; w++) {
          const replica = replicas[w % 2];
          writes.push(
            (async () => {
              for (let b = 0; b < 10; b++) {
                await replica.append(
                  events(1, 7).map(e => ({ ...e, actor: `writer-${w}` })),
                );
              }
            })(),
          );
        }
        await Promise.all(writes);
        const seqs = (
          await knex('audit_log_events').orderBy('seq').select('seq')
        ).map(r => Number(r.seq));
        expect(seqs).toEqual(Array.from({ length: 560 }, (_, i) => i + 1));
        await expect(replicas[1].verify()).resolves.toMatchObject({
          ok: true,
          checked: 560,
          headSeq: 560,
        });
        // each replica copies the search text behind its appends, one at a time: every event's
        // text once, as its columns make it
        const copiedThrough = async () =>
          Number(
            (await knex('audit_log_search_state').first('indexed_through'))
              .indexed_through,
          );
        for (let i = 0; i < 300 && (await copiedThrough()) < 560; i++) {
          await new Promise(r => setTimeout(r, 50));
        }
        expect(await copiedThrough()).toBe(560);
        await expect(copiedText(knex)).resolves.toEqual({
          equal: 560,
          copied: 560,
        });
        await expect(replicas[0].copySearchText()).resolves.toBe(0);
      } finally {
        await other.destroy();
      }
    },
  );
});

describe('caseInsensitiveLike', () => {
  it('uses LIKE only for ASCII text without letters', () => {
    expect(caseInsensitiveLike('-123')).toBe('LIKE');
    expect(caseInsensitiveLike(':123457,')).toBe('LIKE');
    expect(caseInsensitiveLike('"index":0,')).toBe('ILIKE');
    expect(caseInsensitiveLike('team-7')).toBe('ILIKE');
    expect(caseInsensitiveLike('Z')).toBe('ILIKE');
    // no case mapping of any letter may reach or leave these: left to ILIKE
    expect(caseInsensitiveLike('-ǅ1')).toBe('ILIKE');
    expect(caseInsensitiveLike('\u212a')).toBe('ILIKE');
  });
});

describe('rarestWord', () => {
  const counts: Record<string, number> = {
    index: 1000,
    service: 1000,
    '123457': 1,
    '123': 40,
    '0': 200,
  };
  const count = ({ word }: { word: string }) => counts[word] ?? 0;
  const key = (q: string) => rarestWord(q, count)?.text;

  it('picks the least common word with the punctuation beside it', () => {
    expect(rarestWord('"index":123457,', count)).toEqual({
      text: ':123457,',
      word: '123457',
      before: true,
      after: true,
      hits: 1,
    });
    expect(key('service-123')).toBe('-123');
    expect(key('team-7')).toBe('team-');
  });

  it('prefers the longer of equally rare words; a short word only between two characters', () => {
    expect(key('nothing like-it')).toBe('nothing ');
    expect(key('c4 ab')).toBeUndefined();
    expect(key('%%')).toBeUndefined();
    expect(rarestWord('"index":0,', count)).toMatchObject({
      text: ':0,',
      hits: 200,
    });
  });

  it('never cuts a surrogate pair in two', () => {
    expect(key('😀deploy😀')).toBe('deploy');
    expect(key('é-déployé')).toBe('-déployé');
  });
});
