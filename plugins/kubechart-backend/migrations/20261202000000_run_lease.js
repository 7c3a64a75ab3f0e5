// @ts-check

/**
 * A lease epoch on every run (a fencing token): the backend executing a run writes only while the
 * row still carries the epoch it claimed; reconciling a stale run bumps the epoch, so a late
 * executor can no longer overwrite the reconciled status.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .integer('lease_epoch')
      .notNullable()
      .defaultTo(0)
      .comment(
        'Fencing token: bumped when a backend claims the run and when another reconciles it; writes of the executor are conditional on it',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('lease_epoch');
  });
};
