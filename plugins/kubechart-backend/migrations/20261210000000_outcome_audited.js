// @ts-check

/**
 * The outbox of the `run-finished` audit event: every run that ends gets exactly one, even when the
 * backend instance that ended it lost its database connection or stopped right after.
 *
 * - `outcome_audited_at`: when the run's `run-finished` event was handed to the auditor (epoch ms);
 *   NULL while a run is active, and on an ended run whose event is still owed. A scheduled pass
 *   emits the event for ended runs left NULL.
 * - `outcome_audit_claimed_at`: when a backend instance took the emission on (epoch ms), set by a
 *   conditional update so that two instances never both emit; a claim older than a few minutes is
 *   taken as that instance's crash and taken over.
 *
 * Runs that had already ended are marked audited here: their events were emitted as they ended, and
 * an upgrade must not emit the history again.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .bigInteger('outcome_audited_at')
      .nullable()
      .comment(
        "When the run's run-finished audit event was handed to the auditor (epoch ms); NULL while it is owed or the run is active",
      );
    table
      .bigInteger('outcome_audit_claimed_at')
      .nullable()
      .comment(
        'When a backend instance took on emitting the run-finished audit event (epoch ms); NULL when none has',
      );
    // The outbox pass: ended runs whose event is owed, the oldest first.
    table.index(
      ['outcome_audited_at', 'finished_at'],
      'kubechart_runs_outcome_audit_idx',
    );
  });
  await knex('kubechart_runs')
    .whereIn('status', ['succeeded', 'failed'])
    .update({
      outcome_audited_at: knex.raw('coalesce(finished_at, ?)', [Date.now()]),
    });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropIndex(
      ['outcome_audited_at', 'finished_at'],
      'kubechart_runs_outcome_audit_idx',
    );
  });
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('outcome_audit_claimed_at');
    table.dropColumn('outcome_audited_at');
  });
};
