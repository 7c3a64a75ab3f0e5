// @ts-check

/**
 * `entity_owner`: for a run with an entity, the owner that entity had when the run was made (the
 * catalog entity's owner, read by the run's scope check; for a tenant run, the owner of the entity it
 * names when that entity is registered in the catalog, else the owner it leaves the tenant with, whose
 * entity the tenant provider makes that owner's), as an entity ref key. A caller
 * who may read runs only on some entities (a conditional decision, e.g. owners only) reads a run only
 * while its entity's owner is still this one: a history does not pass to whoever registers the same
 * ref again or is given the entity. NULL on runs without an entity and on runs recorded before this
 * column (those are read by the permission decision on the entity alone, as before).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .string('entity_owner', 255)
      .nullable()
      .comment(
        "Owner of the run's entity when the run was made (entity ref key); NULL without an entity or when not recorded",
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('entity_owner');
  });
};
