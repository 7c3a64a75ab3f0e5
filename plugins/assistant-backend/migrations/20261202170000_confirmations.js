// @ts-check

/**
 * Single-use confirmations: running a warning or dangerous plan needs a token
 * handed out with the answer that showed it, bound to that plan's hash.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('kube_assistant_confirmations', table => {
    table.comment(
      'Single-use, expiring confirmations bound to the hash of a shown plan',
    );
    table
      .string('token_hash', 64)
      .primary()
      .comment(
        'SHA-256 of the confirmation token (the token itself is never stored)',
      );
    table
      .uuid('message_id')
      .notNullable()
      .references('id')
      .inTable('kube_assistant_messages')
      .onDelete('CASCADE')
      .comment('Answer whose plan the token confirms');
    table
      .string('user_ref', 255)
      .notNullable()
      .comment('Entity ref of the user the token was handed to');
    table
      .string('plan_hash', 64)
      .notNullable()
      .comment('SHA-256 of the canonical JSON of the plan that was shown');
    table
      .timestamp('expires_at', { useTz: true })
      .notNullable()
      .comment('The token is refused after this time');
    table
      .timestamp('used_at', { useTz: true })
      .nullable()
      .comment('When the token was spent; a spent token is refused');
    table.index(['message_id'], 'kube_assistant_confirmations_message_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kube_assistant_confirmations');
};
