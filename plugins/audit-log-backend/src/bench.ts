/*
 * Benchmark of the audit store on PostgreSQL. Not a test: prints figures.
 *
 *   yarn workspace @kubechart/plugin-audit-log-backend bench
 *
 * Environment:
 *   AUDIT_BENCH_PG       connection string (default postgresql://postgres@127.0.0.1:5432)
 *   AUDIT_BENCH_EVENTS   size of the large chain (default 1000000)
 *   AUDIT_BENCH_APPEND   events appended by the 8 writers (default 80000)
 *   AUDIT_BENCH_APPEND_ONLY=1  stop after the append figures (no 1M load, verify or queries)
 *   AUDIT_BENCH_WITHOUT_SEARCH_INDEX=1  drop the free-text (pg_trgm) index of the copied search
 *                        text first, to compare
 *   AUDIT_BENCH_VERIFY_ROUNDS  times the large chain is verified, each printed (default 1)
 *   AUDIT_BENCH_CHAIN_KEY  a chain key (32+ characters): the stores sign the chain with it
 *                        (hash chain version 3, verified in JavaScript); unkeyed (version 4) without
 *   AUDIT_BENCH_DB       a database to keep: created, filled and left in place when missing; when it
 *                        holds events already, appending, loading and verifying are skipped and only
 *                        the queries run over what it holds (so two versions of the store can be
 *                        measured on the same events without seeding 1M twice). Drop it by hand.
 *
 * Without AUDIT_BENCH_DB a scratch database is created and dropped.
 */
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { AuditEventQueue } from '@kubechart/plugin-audit-log-node';
import knexFactory, { Knex } from 'knex';
import { loadavg } from 'node:os';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';
import { HASHED_COLUMNS, postgresHashExpression } from './database/chain';
import { ChainKeyring } from './database/chainKeys';
import { pick } from './benchPick';

const PG = process.env.AUDIT_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432';
const TOTAL = Number(process.env.AUDIT_BENCH_EVENTS ?? 1_000_000);
const APPEND_TOTAL = Number(process.env.AUDIT_BENCH_APPEND ?? 80_000);
const WITHOUT_SEARCH_INDEX =
  process.env.AUDIT_BENCH_WITHOUT_SEARCH_INDEX === '1';
const KEPT_DB = process.env.AUDIT_BENCH_DB;
const VERIFY_ROUNDS = Number(process.env.AUDIT_BENCH_VERIFY_ROUNDS ?? 1);
const APPEND_ONLY = process.env.AUDIT_BENCH_APPEND_ONLY === '1';
const CHAIN_KEYS = process.env.AUDIT_BENCH_CHAIN_KEY
  ? ChainKeyring.fromSecrets(process.env.AUDIT_BENCH_CHAIN_KEY)
  : undefined;
const WRITERS = 8;

const PLUGINS = [
  'catalog',
  'scaffolder',
  'kubechart',
  'kube-assistant',
  'kubernetes',
  'auth',
];
const EVENT_IDS = [
  'entity-fetch',
  'entity-mutate',
  'task',
  'chart-install',
  'tenant-provision',
  'query',
  'execute',
  'login',
  'run-retry',
  'rollback',
];
const SEVERITIES = [
  'low',
  'low',
  'low',
  'low',
  'medium',
  'medium',
  'high',
  'critical',
] as const;
const STATUSES = [
  ...Array(10).fill('initiated'),
  ...Array(9).fill('succeeded'),
  'failed',
] as AuditEventInput['status'][];

const silentLogger = {
  error: (m: string) => console.error(m),
  warn: (m: string) => console.warn(m),
  info: () => {},
  debug: () => {},
  child: () => silentLogger,
} as any;

/** Events are spread like a year-long log: one every 2.6 s on average (1M ≈ 30 days). */
const SPACING_MS = 2600;

function makeEvent(i: number, startMs: number): AuditEventInput {
  const plugin = PLUGINS[pick(i, 1, PLUGINS.length)];
  return {
    occurredAt: new Date(startMs + i * SPACING_MS).toISOString(),
    actor: `user:default/user-${pick(i, 2, 50)}`,
    plugin,
    eventId: EVENT_IDS[pick(i, 3, EVENT_IDS.length)],
    severity: SEVERITIES[pick(i, 4, SEVERITIES.length)],
    status: STATUSES[pick(i, 5, STATUSES.length)],
    target: {
      entityRef: `component:default/service-${pick(i, 6, 1000)}`,
      cluster: `cluster-${pick(i, 7, 3)}`,
      namespace: `team-${pick(i, 8, 40)}`,
      resource: plugin === 'scaffolder' ? `task:${i}` : undefined,
    },
    request: {
      method: pick(i, 9, 3) ? 'GET' : 'POST',
      path: `/api/${plugin}/things/${pick(i, 10, 1000)}`,
      ip: '10.0.0.1',
      userAgent: 'bench',
    },
    meta: {
      queryType: 'by-name',
      index: i,
      values: { replicas: pick(i, 11, 5), image: 'nginx:1.27' },
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(
    sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1,
  );
  return sorted[Math.max(0, idx)];
}

/** The machine's load average, printed beside each figure: a figure measured under load says so. */
const load = () =>
  `load average ${loadavg()
    .map(n => n.toFixed(2))
    .join(', ')}`;

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });

function connect(database: string, max: number): Knex {
  const url = new URL(PG);
  url.pathname = `/${database}`;
  return knexFactory({
    client: 'pg',
    connection: url.toString(),
    pool: { min: 0, max },
    acquireConnectionTimeout: 120_000,
  });
}

async function benchAppend(dbName: string) {
  const replicas = Array.from({ length: WRITERS }, () => {
    const knex = connect(dbName, 2);
    const store = new DatabaseAuditStore(knex, { chainKeys: CHAIN_KEYS });
    const queue = new AuditEventQueue({
      logger: silentLogger,
      maxSize: 10000,
      batchSize: 500,
      flushIntervalMs: 20,
    });
    queue.attachSink(async batch => {
      await store.append(batch);
    });
    return { knex, store, queue };
  });

  const perWriter = Math.ceil(APPEND_TOTAL / WRITERS);
  const latencies: number[] = [];
  const startMs = Date.now();
  const started = process.hrtime.bigint();
  await Promise.all(
    replicas.map(async ({ queue }, w) => {
      for (let i = 0; i < perWriter; i++) {
        const t0 = process.hrtime.bigint();
        await queue.enqueue(makeEvent(w * perWriter + i, startMs));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        // hand the event loop back now and then, as a request handler would
        if (i % 64 === 0) await new Promise(r => setImmediate(r));
      }
    }),
  );
  // drain stops at a failed write (it is retried later); wait until all is in
  while (replicas.some(r => r.queue.stats().buffered > 0)) {
    await Promise.all(replicas.map(r => r.queue.drain()));
    await new Promise(r => setTimeout(r, 50));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const dropped = replicas.reduce((n, r) => n + r.queue.stats().dropped, 0);
  const written = replicas.reduce((n, r) => n + r.queue.stats().written, 0);
  // the copy of the search text the stores run behind their appends: how far behind the last
  // append it was, and when it caught up
  const copied = async () =>
    Number(
      (
        await replicas[0]
          .knex('audit_log_search_state')
          .first('indexed_through')
      )?.indexed_through ?? 0,
    );
  const copiedAtEnd = await copied();
  while ((await copied()) < written) {
    await new Promise(r => setTimeout(r, 20));
  }
  const copySeconds = Number(process.hrtime.bigint() - started) / 1e9 - seconds;
  const verify = await replicas[0].store.verify();
  latencies.sort((a, b) => a - b);
  await Promise.all(replicas.map(r => r.store.stopCopyingSearchText()));
  await Promise.all(replicas.map(r => r.knex.destroy()));
  return {
    seconds,
    written,
    dropped,
    verify,
    latencies,
    copiedAtEnd,
    copySeconds,
  };
}

/** Filtered and free-text queries over the `total` events of `knex`, the oldest loaded at `baseMs`. */
async function benchQueries(knex: Knex, total: number, baseMs: number) {
  const store = new DatabaseAuditStore(knex, { chainKeys: CHAIN_KEYS });
  // 4. Filtered queries (first page of 50, newest first)
  const kinds: Array<{
    name: string;
    make: (i: number) => Parameters<DatabaseAuditStore['query']>[0];
  }> = [
    {
      name: 'plugin + eventId',
      make: i => ({
        plugin: PLUGINS[i % PLUGINS.length],
        eventId: EVENT_IDS[(i * 3) % EVENT_IDS.length],
      }),
    },
    { name: 'actor', make: i => ({ actor: `user:default/user-${i % 50}` }) },
    {
      name: 'entity ref',
      make: i => ({
        entityRef: `component:default/service-${(i * 37) % 1000}`,
      }),
    },
    {
      name: 'severity + status',
      make: i => ({
        severity: ['high', 'critical'],
        status: [(['initiated', 'succeeded', 'failed'] as const)[i % 3]],
      }),
    },
    { name: 'critical only', make: () => ({ severity: ['critical'] }) },
    {
      name: 'target (task)',
      make: i => ({ target: `task:${(i * 997) % total}` }),
    },
    {
      name: 'time range + plugin',
      make: i => {
        const from = baseMs + ((i * 7919) % total) * SPACING_MS;
        return {
          plugin: PLUGINS[i % PLUGINS.length],
          from: new Date(from).toISOString(),
          to: new Date(from + 3600_000).toISOString(),
        };
      },
    },
  ];
  const ROUNDS = 40;
  const all: number[] = [];
  console.log(
    `## Filtered queries over ${fmt(
      total,
    )} events (page of 50, ${ROUNDS} runs per kind)`,
  );
  for (const kind of kinds) {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      await store.query({ ...kind.make(i), limit: 50 });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    console.log(
      `${kind.name.padEnd(22)} p50 ${fmt(percentile(times, 50), 1).padStart(
        7,
      )} ms   p95 ${fmt(percentile(times, 95), 1).padStart(7)} ms`,
    );
  }
  all.sort((a, b) => a - b);
  const p95 = percentile(all, 95);
  console.log(
    `all filtered queries   p95 ${fmt(p95, 1)} ms  (target < 100 ms: ${fmt(
      100 / p95,
      1,
    )}× headroom; ${load()})`,
  );

  // 5. Free text (q): a case-insensitive substring over actor, plugin, event, targets, path,
  // meta and error, through the pg_trgm index (migration 20261203000000_search_index).
  const searches: Array<{ name: string; make: (i: number) => string }> = [
    {
      name: 'entity (~1,000 hits)',
      make: i => `service-${100 + ((i * 37) % 900)}`,
    },
    {
      name: 'meta value (1 hit)',
      make: i => `"index":${(i * 104729) % total},`,
    },
    { name: 'namespace (~25k hits)', make: i => `team-${i % 40}` },
    { name: 'no hit', make: i => `nothing-like-${i}` },
  ];
  const allText: number[] = [];
  console.log(
    `\n## Free-text search over ${fmt(
      total,
    )} events (page of 50, ${ROUNDS} runs per kind)`,
  );
  for (const search of searches) {
    const times: number[] = [];
    // the slowest query of the kind: p95 of 40 hides one pathological text (and the first
    // query of the run, which also loads the store's sample of the newest events)
    let slowest = { ms: 0, q: '', items: 0, cut: false };
    for (let i = 0; i < ROUNDS; i++) {
      const q = search.make(i);
      const t0 = process.hrtime.bigint();
      const page = await store.query({ q, limit: 50 });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(ms);
      if (ms > slowest.ms) {
        // cut: a page shorter than asked that still has a cursor (the search stopped early)
        const cut = page.items.length < 50 && page.nextCursor !== undefined;
        slowest = { ms, q, items: page.items.length, cut };
      }
    }
    times.sort((a, b) => a - b);
    allText.push(...times);
    console.log(
      `${search.name.padEnd(22)} p50 ${fmt(percentile(times, 50), 1).padStart(
        7,
      )} ms   p95 ${fmt(percentile(times, 95), 1).padStart(7)} ms   max ${fmt(
        slowest.ms,
        1,
      ).padStart(7)} ms (${JSON.stringify(slowest.q)}: ${slowest.items} hits${
        slowest.cut ? ', page cut short with a cursor' : ''
      })`,
    );
  }
  allText.sort((a, b) => a - b);
  const textP95 = percentile(allText, 95);
  console.log(
    `all free-text searches p95 ${fmt(
      textP95,
      1,
    )} ms  (target < 20 ms: ratio ${fmt(textP95 / 20, 2)}; ${load()})`,
  );
  console.log(
    '\n### What each kind of search does (EXPLAIN ANALYZE of its first query)',
  );
  for (const search of searches) {
    const captured: Array<{ sql: string; bindings: unknown[] }> = [];
    const capture = (q: { sql: string; bindings: unknown[] }) =>
      captured.push(q);
    knex.on('query', capture);
    await store.query({ q: search.make(0), limit: 50 });
    knex.off('query', capture);
    // the search's own planner settings (set_config, local to its transaction) apply to its
    // EXPLAIN too; BEGIN/COMMIT are knex's
    await knex.transaction(async tx => {
      for (const { sql, bindings } of captured) {
        if (/set_config\(/i.test(sql)) {
          await tx.raw(
            sql.replace(/\$\d+/g, '?'),
            bindings as Knex.RawBinding[],
          );
          continue;
        }
        if (!/^\s*(select|with)\s/i.test(sql)) continue;
        const { rows } = await tx.raw(
          `EXPLAIN (ANALYZE, BUFFERS) ${sql.replace(/\$\d+/g, '?')}`,
          bindings as Knex.RawBinding[],
        );
        console.log(`${search.name}:`);
        for (const row of rows) {
          const line: string = row['QUERY PLAN'];
          console.log(
            `  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`,
          );
        }
      }
    });
  }
}

async function main() {
  const admin = knexFactory({
    client: 'pg',
    connection: PG,
    pool: { min: 0, max: 1 },
  });
  const dbName = KEPT_DB ?? `audit_log_bench_${Date.now()}`;
  const exists =
    KEPT_DB !== undefined &&
    (await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [KEPT_DB]))
      .rows.length > 0;
  if (!exists) {
    await admin.raw('CREATE DATABASE ??', [dbName]);
  }
  const knex = connect(dbName, 4);
  try {
    await DatabaseAuditStore.runMigrations(knex);
    const held = exists
      ? Number(
          (await knex('audit_log_events').max({ n: 'seq' }).first())?.n ?? 0,
        )
      : 0;
    if (held > 0) {
      // a kept database: its events are measured as they are, nothing is written
      console.log(
        `# Audit log benchmark (PostgreSQL, kept database ${dbName}, ${fmt(
          held,
        )} events): queries only\n`,
      );
      // the loaded event i occurred at baseMs + i × SPACING_MS; the last one is i = held - 1
      const last = await knex('audit_log_events')
        .where({ seq: held })
        .first('occurred_at');
      await benchQueries(
        knex,
        held,
        new Date(last.occurred_at).getTime() - (held - 1) * SPACING_MS,
      );
      return;
    }
    if (WITHOUT_SEARCH_INDEX) {
      // For comparison only: what appends and search cost without the trigram index.
      await knex.raw('DROP INDEX IF EXISTS audit_log_search_text_trgm');
    }
    const store = new DatabaseAuditStore(knex, { chainKeys: CHAIN_KEYS });

    console.log(
      `# Audit log benchmark (PostgreSQL, database ${dbName}${
        WITHOUT_SEARCH_INDEX ? ', WITHOUT the free-text index' : ''
      }, chain ${CHAIN_KEYS ? 'keyed (version 3)' : 'unkeyed (version 4)'})\n`,
    );

    // 1. Append throughput with 8 concurrent writers (8 pools = 8 replicas)
    const append = await benchAppend(dbName);
    const rate = append.written / append.seconds;
    console.log(
      '## Append, 8 concurrent writers (own pool + queue each, batches of ≤500)',
    );
    console.log(
      `events written:        ${fmt(append.written)} (dropped ${
        append.dropped
      })`,
    );
    console.log(`elapsed:               ${fmt(append.seconds, 2)} s`);
    console.log(
      `throughput:            ${fmt(
        rate,
      )} events/s  (target ≥ 50,000: ratio ${fmt(
        rate / 50_000,
        2,
      )}; ${load()})`,
    );
    console.log(
      `chain after append:    ${
        append.verify.ok
          ? 'valid'
          : `BROKEN at ${append.verify.failedSeq}: ${append.verify.reason}`
      } (${fmt(append.verify.checked)} events)`,
    );
    console.log(
      `enqueue latency p50:   ${fmt(percentile(append.latencies, 50), 3)} ms`,
    );
    console.log(
      `enqueue latency p99:   ${fmt(
        percentile(append.latencies, 99),
        3,
      )} ms  (added latency an audited request sees)`,
    );
    console.log(
      `enqueue latency max:   ${fmt(
        append.latencies[append.latencies.length - 1],
        3,
      )} ms`,
    );
    console.log(
      `search text copied:    ${fmt(
        append.copiedAtEnd,
      )} events when the last append ended, all ${fmt(
        append.copySeconds,
        2,
      )} s later (${fmt(
        append.written / (append.seconds + append.copySeconds),
      )} events/s appended and copied; ${load()})\n`,
    );

    if (APPEND_ONLY) return;

    // 1b. What PostgreSQL alone takes to store those rows (no chain, no lock, no JavaScript): one
    // INSERT … SELECT of the appended rows into a copy of the events table with all its indexes
    // and its content digest (what an append writes), without the digest, and without any index;
    // and of their search text into a copy of the search text table with its trigram index (what
    // the copy behind the appends writes). Context for the append figure, not a target.
    console.log(
      '## PostgreSQL alone: one INSERT … SELECT of the same rows into a copy of the table',
    );
    const floorRows = Number(
      (await knex('audit_log_events').count({ n: '*' }).first())?.n ?? 0,
    );
    const contentColumns = [
      ...HASHED_COLUMNS,
      'prev_hash',
      'hash',
      'chain_version',
      'chain_key_id',
    ].join(', ');
    for (const variant of [
      'all indexes and the digest',
      'all indexes',
      'no index',
      'search text, trigram index',
    ] as const) {
      await knex.raw('DROP TABLE IF EXISTS audit_log_floor');
      const text = variant === 'search text, trigram index';
      await knex.raw(
        `CREATE TABLE audit_log_floor (LIKE ${
          text ? 'audit_log_search_text' : 'audit_log_events'
        }${variant === 'no index' ? '' : ' INCLUDING INDEXES'}${
          variant === 'all indexes and the digest' ? ' INCLUDING GENERATED' : ''
        })`,
      );
      const t0 = process.hrtime.bigint();
      await knex.raw(
        text
          ? `INSERT INTO audit_log_floor (seq, body) SELECT seq, body FROM audit_log_search_text`
          : `INSERT INTO audit_log_floor (${contentColumns}) SELECT ${contentColumns} FROM audit_log_events`,
      );
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(
        `${variant.padEnd(27)} ${fmt(floorRows / s)} rows/s (${fmt(
          floorRows,
        )} rows in ${fmt(s, 2)} s; ${load()})`,
      );
    }
    await knex.raw('DROP TABLE IF EXISTS audit_log_floor');
    console.log('');

    // 2. Grow the chain to TOTAL events
    const existing = append.written;
    const toLoad = Math.max(0, TOTAL - existing);
    const loadStart = process.hrtime.bigint();
    const baseMs = Date.now() - TOTAL * SPACING_MS;
    const BATCH = 5000;
    for (let done = 0; done < toLoad; done += BATCH) {
      const n = Math.min(BATCH, toLoad - done);
      await store.append(
        Array.from({ length: n }, (_, k) =>
          makeEvent(existing + done + k, baseMs),
        ),
      );
    }
    const loadSeconds = Number(process.hrtime.bigint() - loadStart) / 1e9;
    // the search text, copied behind the appends: verify and the queries below start once it
    // has caught up (a search is complete either way; its figure is the indexed one)
    const copyStart = process.hrtime.bigint();
    const behind =
      TOTAL -
      Number(
        (await knex('audit_log_search_state').first('indexed_through'))
          ?.indexed_through ?? 0,
      );
    await store.copySearchText();
    await store.stopCopyingSearchText();
    const copySeconds = Number(process.hrtime.bigint() - copyStart) / 1e9;
    await knex.raw('ANALYZE audit_log_events');
    await knex.raw('ANALYZE audit_log_search_text');
    console.log(`## Load to ${fmt(TOTAL)} events`);
    console.log(
      `loaded ${fmt(toLoad)} events in ${fmt(loadSeconds, 1)} s (${fmt(
        toLoad / loadSeconds,
      )} events/s, single writer, batches of ${BATCH}); the search text of ${fmt(
        behind,
      )} was still to copy, ${fmt(copySeconds, 1)} s more\n`,
    );

    // 3. Verify the whole chain (AUDIT_BENCH_VERIFY_ROUNDS times: each round printed, the last
    // one reported)
    let verify: Awaited<ReturnType<DatabaseAuditStore['verify']>> | undefined;
    let verifySeconds = 0;
    for (let round = 0; round < Math.max(1, VERIFY_ROUNDS); round++) {
      const verifyStart = process.hrtime.bigint();
      verify = await store.verify();
      verifySeconds = Number(process.hrtime.bigint() - verifyStart) / 1e9;
      if (VERIFY_ROUNDS > 1) {
        console.log(
          `verify round ${round + 1}: ${fmt(verifySeconds, 2)} s (${load()})`,
        );
      }
    }
    verify = verify!;
    console.log(`## Verify ${fmt(verify.checked)} events`);
    console.log(
      `result:                ${
        verify.ok ? 'valid' : `BROKEN at ${verify.failedSeq}`
      }${verify.keyed ? ', keyed' : ''}`,
    );
    console.log(
      `elapsed:               ${fmt(
        verifySeconds,
        2,
      )} s  (target < 1.5 s at 1M: ratio ${fmt(
        verifySeconds / 1.5,
        2,
      )}; ${load()})`,
    );
    console.log(
      `rate:                  ${fmt(
        verify.checked / verifySeconds,
      )} events/s\n`,
    );

    // 3b. What reading and hashing those bytes costs PostgreSQL without building each event's
    // hashed text: a bare scan, and one sha256 over prev_hash and the hashed columns as they are
    // stored; then one pass of each chain version's hash over the same events (version 1, the
    // canonical JSON, as events stored before migration 20261204000000 are verified). Context for
    // the verify figure (which must also check the columns and the links), not a target.
    const hashedColumns = `prev_hash || seq::text || occurred_at::text || ${HASHED_COLUMNS.filter(
      c => c !== 'seq' && c !== 'occurred_at',
    )
      .map(c => `coalesce(${c}, '')`)
      .join(' || ')}`;
    for (const [name, sql] of [
      ['bare scan (count)', 'SELECT count(*) FROM audit_log_events'],
      [
        'scan + sha256 of the columns',
        `SELECT count(*) FROM audit_log_events WHERE sha256(convert_to(${hashedColumns}, 'UTF8')) = '\\x00'`,
      ],
      [
        'scan + v1 hash (canonical JSON)',
        `SELECT count(*) FROM audit_log_events WHERE hash = ${postgresHashExpression(
          1,
        )}`,
      ],
      [
        'scan + v2 hash (length-prefixed)',
        `SELECT count(*) FROM audit_log_events WHERE hash = ${postgresHashExpression(
          2,
        )}`,
      ],
      [
        'scan + v4 hash (from the digests)',
        `SELECT count(*) FROM audit_log_events WHERE hash = ${postgresHashExpression(
          4,
          'column',
        )}`,
      ],
    ]) {
      const t0 = process.hrtime.bigint();
      await knex.raw(sql);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`floor: ${name.padEnd(30)} ${fmt(s, 2)} s (${load()})`);
    }
    console.log('');

    await benchQueries(knex, TOTAL, baseMs);
  } finally {
    await knex.destroy();
    if (!KEPT_DB) {
      await admin.raw('DROP DATABASE IF EXISTS ??', [dbName]);
    }
    await admin.destroy();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
