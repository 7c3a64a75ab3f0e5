// @ts-check

/**
 * An index on each run's target, in the history's order (newest first, then id): the run a request
 * for approval is reviewed against is the newest one on its target (cluster, namespace, release),
 * read from this index, whichever entity each run named and however many runs were made elsewhere
 * on the cluster since.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.index(
      ['cluster', 'namespace', 'release', 'created_at', 'id'],
      'kubechart_runs_target_idx',
    );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropIndex(
      ['cluster', 'namespace', 'release', 'created_at', 'id'],
      'kubechart_runs_target_idx',
    );
  });
};
