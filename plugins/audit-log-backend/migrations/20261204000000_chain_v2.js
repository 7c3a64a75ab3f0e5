// @ts-check

/**
 * Version 2 of the hash chain (length-prefixed fields instead of canonical JSON; see
 * `src/database/chain.ts` and the README): each event records the form its hash was computed
 * in. Events already stored, and those still written by replicas that predate this migration
 * (they do not name the column), get the default 1; this version writes 2.
 */

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('audit_log_events', table => {
    table
      .smallint('chain_version')
      .notNullable()
      .defaultTo(1)
      .comment(
        'Form of the hashed text: 1 canonical JSON, 2 length-prefixed fields',
      );
  });
};

/**
 * Events hashed in version 2 stay in the table; code without this migration cannot verify
 * them and reports them as altered.
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  // plain DROP COLUMN (SQLite 3.35+ too): knex would rebuild an SQLite table, and its triggers
  await knex.raw('ALTER TABLE audit_log_events DROP COLUMN chain_version');
};
