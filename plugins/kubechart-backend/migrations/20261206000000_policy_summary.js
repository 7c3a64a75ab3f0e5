// @ts-check

const BATCH = 500;

/**
 * The report's mode, outcome and counts, as `summarizePolicyReport` of the common package gives them.
 *
 * @param {{ mode: string, passed: boolean, blocking: boolean, summary: object }} report
 */
const summaryOf = report =>
  JSON.stringify({
    mode: report.mode,
    passed: report.passed,
    blocking: report.blocking,
    summary: report.summary,
  });

/**
 * `policy_summary`: the policy report's mode, outcome and counts, written with the report, so that a
 * page of history reads it instead of the report (tens of KB on a large chart). Filled in here for
 * existing runs.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .text('policy_summary')
      .nullable()
      .comment(
        "The policy report's mode, passed, blocking and summary counts as JSON (what a page of history shows); NULL without a report",
      );
  });
  for (;;) {
    const rows = await knex('kubechart_runs')
      .whereNotNull('policy_report')
      .whereNull('policy_summary')
      .select('id', 'policy_report')
      .limit(BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      await knex('kubechart_runs')
        .where({ id: row.id })
        .update({ policy_summary: summaryOf(JSON.parse(row.policy_report)) });
    }
  }
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('policy_summary');
  });
};
