// @ts-check

/**
 * Owner and display name of tenants, for their catalog entities.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_tenants', table => {
    table
      .string('owner', 255)
      .nullable()
      .comment('Entity ref of the owning group');
    table
      .string('display_name', 255)
      .nullable()
      .comment('Human-readable tenant name');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_tenants', table => {
    table.dropColumn('owner');
    table.dropColumn('display_name');
  });
};
