// @ts-check

/**
 * Runs (deployment history), their events, per-target locks and the tenant registry.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('kubechart_runs', table => {
    table.comment('Every provisioning run: the deployment history');
    table.string('id', 36).primary().notNullable().comment('Run id (uuid)');
    table
      .string('kind', 32)
      .notNullable()
      .comment('tenant, chart, manifests, rollback, tenant-delete or custom');
    table
      .string('status', 16)
      .notNullable()
      .comment('pending, running, succeeded or failed');
    table
      .string('entity_ref', 255)
      .nullable()
      .comment('Catalog entity the run belongs to');
    table
      .string('actor', 255)
      .notNullable()
      .comment('User entity ref that started the run');
    table
      .string('template', 255)
      .nullable()
      .comment('Template that started the run');
    table
      .string('action', 255)
      .nullable()
      .comment('Action that executed a recorded (custom) run');
    table.string('cluster', 255).notNullable().comment('Target cluster name');
    table.string('namespace', 255).notNullable().comment('Target namespace');
    table.string('release', 255).nullable().comment('Target Helm release');
    table
      .string('tenant', 64)
      .nullable()
      .comment('Tenant code for tenant and tenant-delete runs');
    table
      .text('input')
      .notNullable()
      .comment('Run input as JSON, secrets redacted');
    table
      .text('values')
      .nullable()
      .comment('Helm values as JSON, secrets redacted');
    table
      .text('manifest', 'longtext')
      .nullable()
      .comment('Rendered manifest, Secret data redacted');
    table
      .integer('helm_revision')
      .nullable()
      .comment('Helm revision after the run');
    table
      .text('policy_report', 'longtext')
      .nullable()
      .comment('Chart policy report as JSON');
    table
      .text('failure_reason')
      .nullable()
      .comment('Why the run failed, for a person to act on');
    table
      .text('transitions')
      .notNullable()
      .comment('Status transitions as JSON [{status, at}]');
    table
      .bigInteger('created_at')
      .notNullable()
      .comment('Creation time, epoch ms');
    table.bigInteger('started_at').nullable().comment('Start time, epoch ms');
    table.bigInteger('finished_at').nullable().comment('End time, epoch ms');
    table
      .bigInteger('heartbeat_at')
      .nullable()
      .comment('Last sign of life of the executing backend, epoch ms');
    table
      .string('owner', 255)
      .nullable()
      .comment('Backend instance executing the run');
    table.index(
      ['entity_ref', 'created_at', 'id'],
      'kubechart_runs_entity_idx',
    );
    table.index(['created_at', 'id'], 'kubechart_runs_created_idx');
    table.index(['status', 'heartbeat_at'], 'kubechart_runs_status_idx');
    table.index(['actor', 'created_at'], 'kubechart_runs_actor_idx');
    table.index(['tenant', 'cluster'], 'kubechart_runs_tenant_idx');
  });

  await knex.schema.createTable('kubechart_run_events', table => {
    table.comment('Log lines and step transitions of runs');
    table
      .string('run_id', 36)
      .notNullable()
      .references('id')
      .inTable('kubechart_runs')
      .onDelete('CASCADE')
      .comment('Run');
    table
      .integer('seq')
      .notNullable()
      .comment('Sequence number within the run');
    table.bigInteger('at').notNullable().comment('Time, epoch ms');
    table.string('type', 16).notNullable().comment('log, step or status');
    table.string('level', 8).notNullable().comment('info, warn or error');
    table.string('step', 255).nullable().comment('Step name');
    table
      .string('step_status', 16)
      .nullable()
      .comment('started, succeeded, skipped or failed');
    table.text('message').notNullable().comment('Redacted message');
    table.primary(['run_id', 'seq'], 'kubechart_run_events_pk');
  });

  await knex.schema.createTable('kubechart_locks', table => {
    table.comment(
      'One active run per target; the primary key enforces it across replicas',
    );
    table
      .string('target', 512)
      .primary('kubechart_locks_pk')
      .notNullable()
      .comment('Target key, e.g. ns:cluster/namespace');
    table.string('run_id', 36).notNullable().comment('Run holding the lock');
    table.bigInteger('acquired_at').notNullable().comment('Epoch ms');
    table.index(['run_id'], 'kubechart_locks_run_idx');
  });

  await knex.schema.createTable('kubechart_tenants', table => {
    table.comment('Tenants provisioned by kubechart');
    table.string('cluster', 255).notNullable().comment('Cluster name');
    table.string('code', 64).notNullable().comment('Tenant code');
    table.string('namespace', 255).notNullable().comment('Tenant namespace');
    table
      .string('entity_ref', 255)
      .nullable()
      .comment('Catalog entity of the tenant');
    table
      .string('status', 16)
      .notNullable()
      .comment('provisioning, active, failed, deleting or deleted');
    table
      .string('last_run_id', 36)
      .nullable()
      .comment('Most recent run on the tenant');
    table.text('releases').notNullable().comment('Release names as JSON');
    table.bigInteger('created_at').notNullable().comment('Epoch ms');
    table.bigInteger('updated_at').notNullable().comment('Epoch ms');
    table.primary(['cluster', 'code'], 'kubechart_tenants_pk');
    table.index(['code'], 'kubechart_tenants_code_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kubechart_tenants');
  await knex.schema.dropTable('kubechart_locks');
  await knex.schema.dropTable('kubechart_run_events');
  await knex.schema.dropTable('kubechart_runs');
};
