// @ts-check

/**
 * A run still `running` after the longest a run may take is recorded as failed, not reported, when
 * another run of its user is taken; it may still be under way, and its outcome, if it comes,
 * replaces that. The column tells such a record from a run that failed.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kube_assistant_executions', table => {
    table
      .timestamp('not_reported_at', { useTz: true })
      .nullable()
      .comment(
        'When the run, running longer than a run may take, was recorded as failed, not reported; null otherwise (its outcome, reported later, replaces that)',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kube_assistant_executions', table => {
    table.dropColumn('not_reported_at');
  });
};
