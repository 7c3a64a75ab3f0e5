// @ts-check

/**
 * What a drift record says beside its status:
 * - `not_compared`: the objects with fields drift did not compare (their applied values are stored
 *   redacted), as JSON; NULL when every field was compared. A record never counts them as matching.
 * - `reported_by_action`: the action that recorded the run (`POST /runs/record`) when the manifest
 *   compared is what that action reported, not what kubechart applied; NULL for runs kubechart executed.
 * Records written before are rewritten by the next drift pass.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_drift', table => {
    table
      .text('not_compared', 'longtext')
      .nullable()
      .comment(
        'Objects with fields not compared (applied values stored redacted), as JSON; NULL when all were',
      );
    table
      .string('reported_by_action', 255)
      .nullable()
      .comment(
        'The action that recorded the run when the manifest compared is its report; NULL for engine runs',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_drift', table => {
    table.dropColumn('reported_by_action');
    table.dropColumn('not_compared');
  });
};
