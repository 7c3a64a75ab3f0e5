// @ts-check

/**
 * `namespace_gone_at`: when the stale-run check, ending a tenant-delete run whose executor was lost as
 * `failed` (its outcome is not known), found the tenant's namespace gone (epoch ms). The run's status
 * stays what was recorded; drift counts such a run as the end of its tenant's runs, as a tenant-delete
 * that succeeded, whatever the tenant's record says later (submitted again). NULL on every other run.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .bigInteger('namespace_gone_at')
      .nullable()
      .comment(
        'When the stale-run check found the namespace of this failed tenant-delete gone (epoch ms); NULL otherwise',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('namespace_gone_at');
  });
};
