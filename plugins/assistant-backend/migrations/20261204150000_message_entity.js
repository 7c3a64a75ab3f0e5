// @ts-check

/**
 * The entity each answer was scoped to: without `kube-assistant.cluster-wide`
 * a plan runs only inside an entity its user owns, checked again when it runs.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kube_assistant_messages', table => {
    table
      .string('entity_ref', 255)
      .nullable()
      .comment(
        'Catalog entity the question was asked from (its scope), if any',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kube_assistant_messages', table => {
    table.dropColumn('entity_ref');
  });
};
