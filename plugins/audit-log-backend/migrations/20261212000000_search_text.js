// @ts-check

/**
 * PostgreSQL: the free-text search (`q`) leaves the events table. The trigram index on the events
 * table (migration 20261203000000_search_index) was maintained by every append, under the chain
 * head lock every replica waits for: about 60 µs of each event's insert on two cores, more than
 * twice what the event's row, its content digest and its btree indexes cost together. Each event's searched text (the same columns
 * joined by chr(31)) is now copied in batches, behind the appends, into `audit_log_search_text`,
 * whose trigram index answers the search; `audit_log_search_state.indexed_through` is the newest
 * event copied. A search reads the events above it (the few not yet copied) from the events table
 * itself, so it still finds every event, the newest included. The BRIN index on `seq` the
 * search used moves to the new table too.
 *
 * Events already stored are copied here, and the index is built over them at once. Without the
 * right to create pg_trgm the trigram index is left out, as before, and search stays a scan with
 * the same results. Triggers keep the copied text equal to the events: an updated event's follows
 * its columns (appends never update one), a deleted event's goes with it. SQLite: nothing (its FTS5 table, kept by triggers,
 * answers the search).
 *
 * The text is the store's `PG_SEARCH_TEXT` (DatabaseAuditStore), which must stay equal to it.
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
    ' || chr(31) || ',
  )})`;

/** The trigram index of the copied text (also built by src/benchSeed.ts after its load). */
const TRIGRAM_INDEX = `CREATE INDEX audit_log_search_text_trgm ON audit_log_search_text USING gin (body gin_trgm_ops)`;

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  let trigrams = true;
  try {
    // In a savepoint: a refused CREATE EXTENSION must not abort the migration.
    await knex.transaction(tx =>
      tx.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm'),
    );
  } catch {
    trigrams = false;
  }
  await knex.raw(
    `CREATE TABLE audit_log_search_text (seq bigint PRIMARY KEY, body text NOT NULL)`,
  );
  await knex.raw(
    `COMMENT ON TABLE audit_log_search_text IS 'Free-text search (q): each event''s searched columns joined by chr(31), copied in batches behind the appends'`,
  );
  await knex.raw(
    `CREATE TABLE audit_log_search_state (id integer PRIMARY KEY, indexed_through bigint NOT NULL)`,
  );
  await knex.raw(
    `COMMENT ON TABLE audit_log_search_state IS 'The single row the search text copier locks: the newest event whose text is in audit_log_search_text'`,
  );
  await knex.raw(
    `INSERT INTO audit_log_search_text (seq, body) SELECT seq, ${searchText()} FROM audit_log_events`,
  );
  // from what was copied (a replica not yet upgraded may append meanwhile: its events are above)
  await knex.raw(
    `INSERT INTO audit_log_search_state (id, indexed_through) SELECT 1, coalesce(max(seq), 0) FROM audit_log_search_text`,
  );
  if (trigrams) {
    await knex.raw(TRIGRAM_INDEX);
    await knex.raw(
      `COMMENT ON INDEX audit_log_search_text_trgm IS 'Free-text search (q): trigram index over the searched text'`,
    );
  }
  await knex.raw(
    `CREATE INDEX audit_log_search_text_seq_brin ON audit_log_search_text USING brin (seq)
     WITH (pages_per_range = 32, autosummarize = on)`,
  );
  await knex.raw(
    `COMMENT ON INDEX audit_log_search_text_seq_brin IS 'Free-text search (q): the trigram index asked for one range of seq at a time'`,
  );
  await knex.raw('DROP INDEX IF EXISTS audit_log_events_search_idx');
  await knex.raw('DROP INDEX IF EXISTS audit_log_events_seq_brin');
  // An updated event's copied text follows its columns.
  await knex.raw(
    `CREATE FUNCTION audit_log_search_text_follow() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       UPDATE audit_log_search_text SET seq = NEW.seq, body = ${searchText(
         'NEW.',
       )} WHERE seq = OLD.seq;
       RETURN NULL;
     END $$`,
  );
  // A deleted event's copied text goes with it (a prune's, in the same statement). When no event
  // is left above the lowest deleted one (the chain's tail was cut, and may be appended to again
  // with the same sequence numbers), indexed_through goes back below it, so that the events
  // appended there are copied.
  await knex.raw(
    `CREATE FUNCTION audit_log_search_text_forget() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       lowest bigint;
     BEGIN
       IF TG_OP = 'TRUNCATE' THEN
         DELETE FROM audit_log_search_text;
         UPDATE audit_log_search_state SET indexed_through = 0 WHERE id = 1;
         RETURN NULL;
       END IF;
       SELECT min(seq) INTO lowest FROM gone;
       IF lowest IS NULL THEN
         RETURN NULL;
       END IF;
       DELETE FROM audit_log_search_text s USING gone WHERE s.seq = gone.seq;
       IF NOT EXISTS (SELECT 1 FROM audit_log_events WHERE seq > lowest) THEN
         UPDATE audit_log_search_state SET indexed_through = lowest - 1
         WHERE id = 1 AND indexed_through >= lowest;
       END IF;
       RETURN NULL;
     END $$`,
  );
  // the tables as this migration's search path finds them, whoever's path changes the events
  for (const name of ['follow', 'forget']) {
    await knex.raw(
      `ALTER FUNCTION audit_log_search_text_${name}() SET search_path FROM CURRENT`,
    );
  }
  await knex.raw(
    `CREATE TRIGGER audit_log_search_text_follow AFTER UPDATE ON audit_log_events
     FOR EACH ROW EXECUTE FUNCTION audit_log_search_text_follow()`,
  );
  await knex.raw(
    `CREATE TRIGGER audit_log_search_text_forget AFTER DELETE ON audit_log_events
     REFERENCING OLD TABLE AS gone
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_search_text_forget()`,
  );
  await knex.raw(
    `CREATE TRIGGER audit_log_search_text_truncate AFTER TRUNCATE ON audit_log_events
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_search_text_forget()`,
  );
};

/**
 * The trigram and BRIN indexes return to the events table (rebuilt over every event).
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  for (const name of ['follow', 'forget', 'truncate']) {
    await knex.raw(
      `DROP TRIGGER IF EXISTS audit_log_search_text_${name} ON audit_log_events`,
    );
  }
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_search_text_follow()');
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_search_text_forget()');
  await knex.raw('DROP TABLE IF EXISTS audit_log_search_state');
  await knex.raw('DROP TABLE IF EXISTS audit_log_search_text');
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`,
  );
  if (rows.length > 0) {
    await knex.raw(
      `CREATE INDEX audit_log_events_search_idx ON audit_log_events USING gin (${searchText()} gin_trgm_ops)`,
    );
    await knex.raw(
      `COMMENT ON INDEX audit_log_events_search_idx IS 'Free-text search (q): trigram index over the searched columns'`,
    );
  }
  await knex.raw(
    `CREATE INDEX audit_log_events_seq_brin ON audit_log_events USING brin (seq)
     WITH (pages_per_range = 32, autosummarize = on)`,
  );
  await knex.raw(
    `COMMENT ON INDEX audit_log_events_seq_brin IS 'Free-text search (q): the trigram index asked for one range of seq at a time'`,
  );
};

/** The searched text as the migration copies it; the store's must stay equal to it. */
exports.SEARCH_TEXT = searchText();
exports.TRIGRAM_INDEX = TRIGRAM_INDEX;
