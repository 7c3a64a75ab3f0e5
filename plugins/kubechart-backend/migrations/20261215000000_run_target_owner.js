// @ts-check

/**
 * `target_owner`: who owned the run's target when the run started (recorded, or started once
 * approved): the owner of the live tenant whose namespace it is (for a tenant run, the owner it
 * leaves the tenant with), else the owner `kubechart.clusters.<name>.namespaces` assigned the
 * namespace, else '' (none). Drift compares a run only while its target has that owner still: the
 * run's readers never see another owner's live objects. NULL on runs not started and on runs
 * recorded before this column.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .text('target_owner')
      .nullable()
      .comment(
        "Owner of the run's target (tenant owner, else assigned owner, else '') when it started; NULL when not recorded",
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('target_owner');
  });
};
