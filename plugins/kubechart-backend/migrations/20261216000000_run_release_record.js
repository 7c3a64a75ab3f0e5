// @ts-check

/**
 * `release_record_digest`: for chart and rollback runs, the digest (`sha256:<hex>` of the chart's name
 * and version, values, manifest and hooks) of the Helm release record of the revision the run left its
 * release at, as the run read it. A rollback requested from that run's history row (`fromRunId`)
 * returns only to a record with this digest: revision numbers restart once a release is uninstalled
 * and installed again. Kept for the engine, never shown. NULL on other runs and on runs recorded
 * before this column (such a run's revision cannot be bound, so a rollback from it is refused).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .string('release_record_digest', 80)
      .nullable()
      .comment(
        'Digest of the Helm release record of helm_revision as the run read it (chart and rollback runs); NULL when not recorded',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('release_record_digest');
  });
};
