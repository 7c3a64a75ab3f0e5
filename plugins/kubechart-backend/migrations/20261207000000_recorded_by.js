// @ts-check

/**
 * `recorded_by`: the principal that recorded a run through `POST /runs/record` (a user entity ref,
 * or `service:<subject>`), which with the run's actor is who may add its events and finish it.
 * Runs a service recorded as itself are filled in (their actor is that service); for the others it
 * is not known, and only their actor may write to them.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .string('recorded_by', 255)
      .nullable()
      .comment(
        'Recorded runs: the principal that recorded the run (user entity ref or service:<subject>); NULL for runs the engine executes',
      );
  });
  await knex('kubechart_runs')
    .whereNotNull('action')
    .where('actor', 'like', 'service:%')
    .update({ recorded_by: knex.ref('actor') });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('recorded_by');
  });
};
