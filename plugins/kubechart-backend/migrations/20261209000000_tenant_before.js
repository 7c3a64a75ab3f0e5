// @ts-check

/**
 * `tenant_before`: the tenant record a tenant or tenant-delete run replaced when it was recorded
 * (JSON; `null` when there was none), written in the transaction that claims the tenant. A run no
 * backend ever started applied nothing, so reconciling it gives the tenant this record back instead
 * of leaving the claimed one (another owner, `provisioning`, `deleting`). NULL on other runs and on
 * runs recorded before this column.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .text('tenant_before')
      .nullable()
      .comment(
        'Tenant record this tenant run replaced when recorded (JSON, null: none); NULL when not kept',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('tenant_before');
  });
};
