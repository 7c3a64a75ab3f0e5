// @ts-check

/**
 * Indexes for the deployment history's filters at a million runs: by status and by actor, with or
 * without an entity, each in the history's order (newest first, then id), so that a page is
 * read from the index instead of filtering the whole history by time. The actor index gains `id`
 * for the same reason.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.index(
      ['entity_ref', 'status', 'created_at', 'id'],
      'kubechart_runs_entity_status_idx',
    );
    table.index(
      ['entity_ref', 'actor', 'created_at', 'id'],
      'kubechart_runs_entity_actor_idx',
    );
    table.index(
      ['status', 'created_at', 'id'],
      'kubechart_runs_status_created_idx',
    );
    table.index(
      ['actor', 'created_at', 'id'],
      'kubechart_runs_actor_created_idx',
    );
  });
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropIndex(['actor', 'created_at'], 'kubechart_runs_actor_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table.index(['actor', 'created_at'], 'kubechart_runs_actor_idx');
  });
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropIndex(
      ['entity_ref', 'status', 'created_at', 'id'],
      'kubechart_runs_entity_status_idx',
    );
    table.dropIndex(
      ['entity_ref', 'actor', 'created_at', 'id'],
      'kubechart_runs_entity_actor_idx',
    );
    table.dropIndex(
      ['status', 'created_at', 'id'],
      'kubechart_runs_status_created_idx',
    );
    table.dropIndex(
      ['actor', 'created_at', 'id'],
      'kubechart_runs_actor_created_idx',
    );
  });
};
