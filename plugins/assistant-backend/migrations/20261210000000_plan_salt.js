// @ts-check

/**
 * A random salt per answer for its plan hash: the hash the audit trail and the browser get of a
 * plan whose secret values they are not shown must not let them confirm a guess of those values.
 * Answers stored before keep none and are hashed as before.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kube_assistant_messages', table => {
    table
      .string('plan_salt', 64)
      .nullable()
      .comment("Salt of the plan's hash (HMAC key); never shown");
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('kube_assistant_messages', table => {
    table.dropColumn('plan_salt');
  });
};
