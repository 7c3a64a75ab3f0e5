// @ts-check

/**
 * `applied`: what a run changed in clusters, in words (a JSON array such as
 * `["created Namespace/tenant-a", "installed release web revision 2 in tenant-a"]`), written when
 * the instance that executed the run records its end. NULL when that is not known: runs recorded
 * before this column, runs reconciled after their executor was lost, and runs an action recorded.
 * The history tab and the audit trail read it to say whether a failed run applied anything.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .text('applied')
      .nullable()
      .comment(
        'What the run changed in clusters (JSON array of sentences); NULL when not known',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('applied');
  });
};
