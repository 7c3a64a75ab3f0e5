// @ts-check

/**
 * `baseline`: the objects a tenant run applied to the tenant's namespace besides its releases (the
 * ResourceQuota, LimitRange, default-deny NetworkPolicy and every tenant resource provider's objects),
 * as JSON (`[{"object": {...}, "wholeSpec": true}]`, redacted like manifests), written as the run
 * applies them. Drift compares them with the live objects. NULL on other runs and on tenant runs
 * recorded before this column (their baseline drift is `unknown`).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .text('baseline', 'longtext')
      .nullable()
      .comment(
        'Baseline objects a tenant run applied (JSON, redacted); NULL when not recorded',
      );
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('baseline');
  });
};
