// @ts-check

/**
 * PostgreSQL: a BRIN index on `seq`, so that a free-text search through the trigram index can be
 * asked for one range of sequence numbers (the newest first) and PostgreSQL rechecks only the
 * candidates of that range instead of every event holding the searched word (≈6,000 heap reads
 * for a word like `273` at 1M events). Events are appended in `seq` order, so a range of
 * sequence numbers is a range of table pages; the index is a few pages and costs an append next
 * to nothing. New page ranges are summarized by autovacuum as they fill (`autosummarize`); one not
 * yet summarized is read by every range, which is slower, never wrong.
 *
 * SQLite: nothing (its FTS5 table answers the search).
 */

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  await knex.raw(
    `CREATE INDEX audit_log_events_seq_brin ON audit_log_events USING brin (seq)
     WITH (pages_per_range = 32, autosummarize = on)`,
  );
  await knex.raw(
    `COMMENT ON INDEX audit_log_events_seq_brin IS 'Free-text search (q): the trigram index asked for one range of seq at a time'`,
  );
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  await knex.raw('DROP INDEX IF EXISTS audit_log_events_seq_brin');
};
