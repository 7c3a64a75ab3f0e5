// @ts-check

/**
 * Drift of the latest applied run on each target: the live objects compared with its manifest.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('kubechart_drift', table => {
    table.comment(
      'Drift between the latest succeeded release or manifests run on a target and the cluster',
    );
    table
      .string('run_id', 36)
      .primary('kubechart_drift_pk')
      .notNullable()
      .references('id')
      .inTable('kubechart_runs')
      .onDelete('CASCADE')
      .comment('The run whose manifest is compared');
    table.string('cluster', 255).notNullable().comment('Target cluster name');
    table.string('namespace', 255).notNullable().comment('Target namespace');
    table.string('release', 255).nullable().comment('Target Helm release');
    table
      .string('entity_ref', 255)
      .nullable()
      .comment('Catalog entity of the run');
    table
      .string('actor', 255)
      .notNullable()
      .comment('Who started the run (read access to runs without an entity)');
    table
      .string('status', 16)
      .notNullable()
      .comment('in-sync, drifted or unknown');
    table
      .bigInteger('since')
      .notNullable()
      .comment('When the current status was first observed, epoch ms');
    table
      .bigInteger('checked_at')
      .notNullable()
      .comment('Last comparison, epoch ms');
    table
      .text('objects', 'longtext')
      .notNullable()
      .comment('Drifted objects and fields as JSON (values redacted)');
    table.text('message').nullable().comment('Why the status is unknown');
    table.index(['entity_ref'], 'kubechart_drift_entity_idx');
    table.index(['cluster', 'namespace'], 'kubechart_drift_target_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kubechart_drift');
};
