// @ts-check

const GENESIS_HASH = '0'.repeat(64);

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('audit_log_events', table => {
    table.comment(
      'Audit events forming a hash chain: hash = sha256(prev_hash + canonical JSON of the row)',
    );
    table
      .bigInteger('seq')
      .notNullable()
      .primary()
      .comment('Gapless sequence number, assigned under the chain head lock');
    table
      .timestamp('occurred_at', { useTz: true, precision: 3 })
      .notNullable()
      .comment('When the event happened');
    table
      .string('actor', 512)
      .nullable()
      .comment('User entity ref or service subject');
    table
      .string('plugin_id', 255)
      .notNullable()
      .comment('Plugin that emitted the event');
    table.string('event_id', 255).notNullable().comment('Auditor event id');
    table
      .string('severity', 16)
      .notNullable()
      .comment('low, medium, high or critical');
    table
      .string('status', 16)
      .notNullable()
      .comment('initiated, succeeded or failed');
    table
      .string('target_entity_ref', 512)
      .nullable()
      .comment('Entity the event acted on');
    table.string('target_cluster', 255).nullable().comment('Target cluster');
    table
      .string('target_namespace', 255)
      .nullable()
      .comment('Target namespace');
    table
      .string('target_resource', 512)
      .nullable()
      .comment('Target resource, e.g. task:<id> or run:<id>');
    table.string('request_method', 16).nullable().comment('HTTP method');
    table.text('request_path').nullable().comment('HTTP path with query');
    table.string('request_ip', 64).nullable().comment('Client IP');
    table.text('request_user_agent').nullable().comment('Client user agent');
    table
      .text('meta')
      .nullable()
      .comment('Event metadata as canonical JSON, secrets redacted');
    table.text('error').nullable().comment('Error of a failed event');
    table
      .string('prev_hash', 64)
      .notNullable()
      .comment('Hash of the previous event or checkpoint');
    table.string('hash', 64).notNullable().comment('Hash of this event');

    table.index(['occurred_at'], 'audit_log_events_occurred_at_idx');
    table.index(['actor', 'seq'], 'audit_log_events_actor_idx');
    table.index(
      ['plugin_id', 'event_id', 'seq'],
      'audit_log_events_plugin_idx',
    );
    table.index(['event_id', 'seq'], 'audit_log_events_event_id_idx');
    // Low-cardinality, but rare values (critical, failed) are what people
    // look for; without these a rare value means a full scan.
    table.index(['severity', 'seq'], 'audit_log_events_severity_idx');
    table.index(['status', 'seq'], 'audit_log_events_status_idx');
    table.index(
      ['target_entity_ref', 'seq'],
      'audit_log_events_target_entity_idx',
    );
    table.index(
      ['target_cluster', 'seq'],
      'audit_log_events_target_cluster_idx',
    );
    table.index(
      ['target_namespace', 'seq'],
      'audit_log_events_target_namespace_idx',
    );
    table.index(
      ['target_resource', 'seq'],
      'audit_log_events_target_resource_idx',
    );
  });

  await knex.schema.createTable('audit_log_chain_head', table => {
    table.comment(
      'The single row every append locks: last link of the chain and the retention checkpoint',
    );
    table.integer('id').notNullable().primary().comment('Always 1');
    table
      .bigInteger('last_seq')
      .notNullable()
      .comment('Sequence number of the newest event, 0 when empty');
    table
      .string('last_hash', 64)
      .notNullable()
      .comment('Hash of the newest event, or the checkpoint/genesis hash');
    table
      .bigInteger('checkpoint_seq')
      .notNullable()
      .comment('Events up to this sequence number were pruned, 0 when none');
    table
      .string('checkpoint_hash', 64)
      .notNullable()
      .comment('Hash of the event at checkpoint_seq, or the genesis hash');
    table
      .timestamp('pruned_at', { useTz: true, precision: 3 })
      .nullable()
      .comment('When events were last pruned');
  });

  await knex('audit_log_chain_head').insert({
    id: 1,
    last_seq: 0,
    last_hash: GENESIS_HASH,
    checkpoint_seq: 0,
    checkpoint_hash: GENESIS_HASH,
    pruned_at: null,
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('audit_log_chain_head');
  await knex.schema.dropTable('audit_log_events');
};
