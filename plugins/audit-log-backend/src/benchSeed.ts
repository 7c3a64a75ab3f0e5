/*
 * Seeds a long audit trail for the browser benchmark (`yarn bench:web`). Not a test and not part
 * of the plugin: run by scripts/bench-web.sh before the production backend starts.
 *
 *   AUDIT_SEED_DB=postgresql://…/<the audit-log plugin's database> AUDIT_SEED_EVENTS=1000000 \
 *     node --require @backstage/cli/config/nodeTransform.cjs src/benchSeed.ts
 *
 * Each row is made by the functions DatabaseAuditStore.append uses (inputToRow, then linkRow with
 * the previous event's hash: hash chain version 2, unkeyed), so rows, sequence numbers and the hash chain are exactly what the
 * plugin writes; on PostgreSQL 10,000 rows go in per statement (json_populate_recordset) with the
 * chain head moved in the same transaction, elsewhere through DatabaseAuditStore.append. The
 * free-text (trigram) index is left out during the load and built once at the end: on PostgreSQL
 * the index of the copied search text is dropped, the text copied (DatabaseAuditStore.copySearchText)
 * and the index created again as its migration creates it; on SQLite the FTS table's migration is
 * rolled back and applied again. The whole chain is verified last.
 */
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import knexFactory from 'knex';
import { Knex } from 'knex';
import { EventRow, linkRow } from './database/chain';
import { DatabaseAuditStore } from './database/DatabaseAuditStore';
import { inputToRow } from './database/rows';
import { pick } from './benchPick';

const DB = process.env.AUDIT_SEED_DB;
const TOTAL = Number(process.env.AUDIT_SEED_EVENTS ?? 1_000_000);
/** One event every 2.6 s: a million cover about a month, the newest a minute old. */
const SPACING_MS = 2600;
const BATCH = 10_000;
/** SQLite: the migration of the free-text index, rolled back for the load. */
const SEARCH_INDEX_MIGRATION = '20261203000000_search_index.js';
/** PostgreSQL: the trigram index of the copied search text, as its migration creates it. */
const {
  TRIGRAM_INDEX,
} = require('../migrations/20261212000000_search_text.js');

const PLUGINS = [
  'catalog',
  'scaffolder',
  'kubechart',
  'kube-assistant',
  'auth',
];
const EVENT_IDS = [
  'entity-fetch',
  'task',
  'chart-install',
  'tenant-provision',
  'query',
  'login',
];
const SEVERITIES = [
  'low',
  'low',
  'low',
  'medium',
  'medium',
  'high',
  'critical',
] as const;

function seedEvent(i: number, startMs: number): AuditEventInput {
  const plugin = PLUGINS[pick(i, 1, PLUGINS.length)];
  return {
    occurredAt: new Date(startMs + i * SPACING_MS).toISOString(),
    actor: `user:default/user-${pick(i, 2, 50)}`,
    plugin,
    eventId: EVENT_IDS[pick(i, 3, EVENT_IDS.length)],
    severity: SEVERITIES[pick(i, 4, SEVERITIES.length)],
    status: pick(i, 5, 20) === 0 ? 'failed' : 'succeeded',
    target: {
      entityRef: `component:default/service-${pick(i, 6, 1000)}`,
      cluster: 'kube-sim',
      namespace: `team-${pick(i, 8, 40)}`,
    },
    request: {
      method: pick(i, 9, 3) ? 'GET' : 'POST',
      path: `/api/${plugin}/things/${pick(i, 10, 1000)}`,
      ip: '10.0.0.1',
      userAgent: 'bench-seed',
    },
    meta: { index: i, values: { replicas: pick(i, 11, 5) } },
  };
}

/** Appends a batch as DatabaseAuditStore.append does, in one statement (PostgreSQL). */
async function appendBulk(knex: Knex, events: AuditEventInput[]) {
  await knex.transaction(async tx => {
    const head = await tx('audit_log_chain_head')
      .where({ id: 1 })
      .forUpdate()
      .first();
    if (!head)
      throw new Error('no chain head row; are the migrations applied?');
    let seq = Number(head.last_seq);
    let prevHash: string = head.last_hash;
    const rows: EventRow[] = events.map(event => {
      const linked = linkRow(prevHash, inputToRow(event, ++seq));
      prevHash = linked.hash;
      return linked;
    });
    await tx.raw(
      'INSERT INTO audit_log_events SELECT * FROM json_populate_recordset(NULL::audit_log_events, ?)',
      [JSON.stringify(rows)],
    );
    await tx('audit_log_chain_head')
      .where({ id: 1 })
      .update({ last_seq: seq, last_hash: prevHash });
  });
}

async function main() {
  if (!DB) throw new Error('AUDIT_SEED_DB (a connection string) is required');
  const knex = knexFactory({
    client: DB.startsWith('postgres') ? 'pg' : 'better-sqlite3',
    connection: DB.startsWith('postgres') ? DB : { filename: DB },
    useNullAsDefault: true,
    pool: { min: 0, max: 2 },
  });
  try {
    const directory = DatabaseAuditStore.migrationsDirectory;
    await knex.migrate.latest({ directory });
    const [, pending] = await knex.migrate.list({ directory });
    if (pending.length > 0) throw new Error('migrations left pending');
    // Without the free-text index while loading; built below.
    const postgres = knex.client.config.client === 'pg';
    if (postgres) {
      await knex.raw('DROP INDEX IF EXISTS audit_log_search_text_trgm');
    } else {
      await knex.migrate.down({ directory, name: SEARCH_INDEX_MIGRATION });
    }
    const store = new DatabaseAuditStore(knex, {
      copySearchTextAfterAppends: false,
    });
    const started = Date.now();
    const startMs = Date.now() - 60_000 - TOTAL * SPACING_MS;
    for (let done = 0; done < TOTAL; done += BATCH) {
      const n = Math.min(BATCH, TOTAL - done);
      const batch = Array.from({ length: n }, (_, k) =>
        seedEvent(done + k, startMs),
      );
      if (postgres) {
        await appendBulk(knex, batch);
      } else {
        await store.append(batch);
      }
    }
    const loaded = (Date.now() - started) / 1000;
    if (postgres) {
      await store.copySearchText();
      await knex.raw(TRIGRAM_INDEX);
      await knex.raw('ANALYZE audit_log_events');
      await knex.raw('ANALYZE audit_log_search_text');
    } else {
      await knex.migrate.latest({ directory });
    }
    const indexed = (Date.now() - started) / 1000 - loaded;
    const verify = await store.verify();
    if (!verify.ok || verify.checked < TOTAL) {
      throw new Error(
        `the seeded chain does not verify: ${JSON.stringify(verify)}`,
      );
    }
    console.log(
      `audit seed: ${verify.checked.toLocaleString(
        'en-US',
      )} events in ${loaded.toFixed(1)} s, search index ${indexed.toFixed(
        1,
      )} s, chain valid`,
    );
  } finally {
    await knex.destroy();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
