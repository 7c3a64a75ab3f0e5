// @ts-check

/**
 * Version 3 of the hash chain (HMAC-SHA256 with a configured key instead of sha256; see
 * `src/database/chain.ts` and the README): each event signed with a key records which one, as
 * the key's id (`chainKeyId`: 16 hex digits derived from the key), so that verify picks it among
 * the current and previous keys. The key itself is never stored. Events of versions 1 and 2
 * (unkeyed) have none.
 */

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('audit_log_events', table => {
    table
      .string('chain_key_id', 16)
      .nullable()
      .comment(
        'Id of the key a version 3 event was signed with (never the key); NULL for versions 1 and 2',
      );
  });
};

/**
 * Events signed with a key stay in the table; code without this migration cannot verify them
 * and reports them as altered.
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  // plain DROP COLUMN (SQLite 3.35+ too): knex would rebuild an SQLite table, and its triggers
  await knex.raw('ALTER TABLE audit_log_events DROP COLUMN chain_key_id');
};
