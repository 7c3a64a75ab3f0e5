// @ts-check

/**
 * An index for the free-text search (`q`) of the audit log: a case-insensitive substring match
 * over actor, plugin, event id, targets, request path, meta and error.
 *
 * - PostgreSQL: a `pg_trgm` GIN index on those columns joined by chr(31), which `ILIKE '%…%'` uses.
 *   Creating the extension needs the right to do so; without it the index is left out and search
 *   stays a sequential scan with the same results.
 * - SQLite: an FTS5 table with the trigram tokenizer, kept in step by triggers, matched as a phrase.
 *
 * The store's search expression (DatabaseAuditStore) must stay equal to `SEARCH_TEXT` here.
 */

const COLUMNS = [
  'actor',
  'plugin_id',
  'event_id',
  'target_entity_ref',
  'target_cluster',
  'target_namespace',
  'target_resource',
  'request_path',
  'meta',
  'error',
];

/** @param {string} prefix */
const searchText = (prefix = '') =>
  `(${COLUMNS.map(c => `coalesce(${prefix}${c}, '')`).join(
    ` || char(31) || `,
  )})`;

const PG_SEARCH_TEXT = `(${COLUMNS.map(c => `coalesce(${c}, '')`).join(
  ' || chr(31) || ',
)})`;

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (knex.client.config.client === 'pg') {
    try {
      // In a savepoint: a refused CREATE EXTENSION must not abort the migration.
      await knex.transaction(tx =>
        tx.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm'),
      );
    } catch {
      return;
    }
    await knex.raw(
      `CREATE INDEX audit_log_events_search_idx ON audit_log_events USING gin (${PG_SEARCH_TEXT} gin_trgm_ops)`,
    );
    await knex.raw(
      `COMMENT ON INDEX audit_log_events_search_idx IS 'Free-text search (q): trigram index over the searched columns'`,
    );
    return;
  }
  await knex.raw(
    `CREATE VIRTUAL TABLE audit_log_events_search USING fts5(body, tokenize = 'trigram')`,
  );
  await knex.raw(
    `INSERT INTO audit_log_events_search (rowid, body) SELECT seq, ${searchText()} FROM audit_log_events`,
  );
  await knex.raw(
    `CREATE TRIGGER audit_log_events_search_insert AFTER INSERT ON audit_log_events BEGIN
       INSERT INTO audit_log_events_search (rowid, body) VALUES (new.seq, ${searchText(
         'new.',
       )});
     END`,
  );
  await knex.raw(
    `CREATE TRIGGER audit_log_events_search_delete AFTER DELETE ON audit_log_events BEGIN
       DELETE FROM audit_log_events_search WHERE rowid = old.seq;
     END`,
  );
  await knex.raw(
    `CREATE TRIGGER audit_log_events_search_update AFTER UPDATE ON audit_log_events BEGIN
       UPDATE audit_log_events_search SET body = ${searchText(
         'new.',
       )} WHERE rowid = old.seq;
     END`,
  );
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (knex.client.config.client === 'pg') {
    await knex.raw('DROP INDEX IF EXISTS audit_log_events_search_idx');
    return;
  }
  for (const t of ['insert', 'delete', 'update']) {
    await knex.raw(`DROP TRIGGER IF EXISTS audit_log_events_search_${t}`);
  }
  await knex.raw('DROP TABLE IF EXISTS audit_log_events_search');
};
