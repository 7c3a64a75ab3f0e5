// @ts-check

/**
 * Approval gates: a run against a protected target waits in `awaiting-approval` with its plan's
 * hash; decisions are kept one per approver. The run's input is kept for execution only when it
 * holds no secret values (otherwise the requester submits it again after approval).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  // `awaiting-approval` is longer than the 16 characters the status column had (SQLite does not enforce it).
  if (
    knex.client.config.client !== 'better-sqlite3' &&
    knex.client.config.client !== 'sqlite3'
  ) {
    await knex.schema.alterTable('kubechart_runs', table => {
      table.string('status', 32).notNullable().alter();
    });
  }
  await knex.schema.createTable('kubechart_approvals', table => {
    table.comment(
      'The approval gate of runs against protected targets (kubechart.approvals)',
    );
    table
      .string('run_id')
      .primary()
      .notNullable()
      .comment('The run (kubechart_runs.id)');
    table
      .string('rule')
      .notNullable()
      .comment('Name of the kubechart.approvals rule');
    table
      .string('state', 32)
      .notNullable()
      .comment('awaiting | approved | executed | rejected | expired | changed');
    table
      .integer('required')
      .notNullable()
      .comment('Distinct approvals needed');
    table
      .text('approvers')
      .notNullable()
      .comment('JSON list of entity refs whose members may approve');
    table
      .string('plan_hash')
      .notNullable()
      .comment('sha256 of the plan approvers see (salted)');
    table.string('plan_salt').notNullable().comment('Random salt of plan_hash');
    table.bigInteger('requested_at').notNullable();
    table.bigInteger('expires_at').notNullable().index();
    table
      .string('previous_run_id')
      .nullable()
      .comment('Latest run on the target when requested');
    table
      .text('request')
      .nullable()
      .comment('The run request, kept only when it holds no secret values');
  });
  await knex.schema.createTable('kubechart_approval_decisions', table => {
    table.comment('One decision per approver and run');
    table.string('run_id').notNullable();
    table.string('by').notNullable().comment('User entity ref of the approver');
    table.string('decision', 16).notNullable().comment('approve | reject');
    table.text('comment').notNullable();
    table.bigInteger('at').notNullable();
    table.primary(['run_id', 'by']);
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kubechart_approval_decisions');
  await knex.schema.dropTable('kubechart_approvals');
};
