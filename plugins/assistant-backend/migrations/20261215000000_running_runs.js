// @ts-check

/**
 * The runs under way (`running`) are counted per user whenever a run is taken
 * (`kubeAssistant.limits.runsAtOncePerUser`, across every backend of the database): an index finds
 * them without reading every run ever kept.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kube_assistant_executions', table => {
    table.index(['status'], 'kube_assistant_executions_status_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kube_assistant_executions', table => {
    table.dropIndex(['status'], 'kube_assistant_executions_status_idx');
  });
};
