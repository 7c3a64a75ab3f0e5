// @ts-check

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('kube_assistant_conversations', table => {
    table.comment(
      'Conversations with the Kubernetes assistant, one owner each',
    );
    table.uuid('id').primary().comment('Conversation id');
    table
      .string('user_ref', 255)
      .notNullable()
      .comment('Entity ref of the user who owns it');
    table
      .string('title', 255)
      .notNullable()
      .comment('The first question, shortened');
    table
      .string('entity_ref', 512)
      .nullable()
      .comment('Entity the conversation was started from');
    table
      .timestamp('created_at', { useTz: true })
      .notNullable()
      .comment('When it started');
    table
      .timestamp('updated_at', { useTz: true })
      .notNullable()
      .comment('Last question or execution');
    table.index(
      ['user_ref', 'updated_at'],
      'kube_assistant_conversations_user_idx',
    );
  });

  await knex.schema.createTable('kube_assistant_messages', table => {
    table.comment('Questions and the plans the assistant answered with');
    table.uuid('id').primary().comment('Message id, used to execute its plan');
    table
      .uuid('conversation_id')
      .notNullable()
      .references('id')
      .inTable('kube_assistant_conversations')
      .onDelete('CASCADE')
      .comment('Conversation the message belongs to');
    table
      .string('user_ref', 255)
      .notNullable()
      .comment('Entity ref of the asking user');
    table.text('question').notNullable().comment('The question as asked');
    table
      .string('provider', 255)
      .nullable()
      .comment('Provider that produced the plan');
    table.text('plan').nullable().comment('The plan as JSON');
    table.text('command').nullable().comment('The plan rendered as kubectl');
    table.text('explanation').nullable().comment('What the plan does');
    table.string('safety', 16).nullable().comment('safe, warning or dangerous');
    table
      .text('safety_reason')
      .nullable()
      .comment('Why the plan has its safety level');
    table
      .text('requirements')
      .nullable()
      .comment('What running the plan needs, as JSON');
    table.text('error').nullable().comment('Why no plan was produced');
    table
      .timestamp('created_at', { useTz: true })
      .notNullable()
      .comment('When it was asked');
    table.index(
      ['conversation_id', 'created_at'],
      'kube_assistant_messages_conversation_idx',
    );
  });

  await knex.schema.createTable('kube_assistant_executions', table => {
    table.comment('Runs of a message plan against a cluster');
    table.bigIncrements('id').comment('Execution id');
    table
      .uuid('message_id')
      .notNullable()
      .references('id')
      .inTable('kube_assistant_messages')
      .onDelete('CASCADE')
      .comment('Message whose plan ran');
    table
      .string('status', 16)
      .notNullable()
      .comment('succeeded, failed or refused');
    table
      .text('summary')
      .notNullable()
      .comment('Short outcome for the conversation view');
    table
      .timestamp('created_at', { useTz: true })
      .notNullable()
      .comment('When it ran');
    table.index(['message_id'], 'kube_assistant_executions_message_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kube_assistant_executions');
  await knex.schema.dropTable('kube_assistant_messages');
  await knex.schema.dropTable('kube_assistant_conversations');
};
