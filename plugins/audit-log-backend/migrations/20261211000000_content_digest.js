// @ts-check

/**
 * Version 4 of the hash chain (see `src/database/chain.ts` and the README): PostgreSQL keeps each
 * event's content digest, the sha256 of its version 2 text, in a column it computes itself
 * (GENERATED ALWAYS … STORED): no one can write it, and a change to any column an event is made
 * of recomputes it. Version 4 hashes prev_hash, `v4:` and that digest, so verify hashes 35
 * bytes per event on the server instead of building every event's text. Adding the column
 * rewrites the table once (about two minutes per million events on two cores). SQLite has no
 * such column: there every event's digest is computed in JavaScript, as verify always does
 * when it does not trust the column.
 *
 * The expression is `postgresContentDigest()` of `src/database/chain.ts`, written out; verify
 * trusts the column only while PostgreSQL still computes it with that expression.
 */

/** The generated column's expression; a test holds it equal to `postgresContentDigest()`. */
const CONTENT_DIGEST = `sha256(decode(replace(((((':' || seq::text) || (':' || (((extract(epoch FROM (occurred_at AT TIME ZONE 'UTC')) * 1000)::bigint)::text || ':'))) || ((coalesce(octet_length(actor)::text || ':' || actor, ':') || coalesce(octet_length(plugin_id)::text || ':' || plugin_id, ':')) || (coalesce(octet_length(event_id)::text || ':' || event_id, ':') || (coalesce(octet_length(severity)::text || ':' || severity, ':') || coalesce(octet_length(status)::text || ':' || status, ':'))))) || (((coalesce(octet_length(target_entity_ref)::text || ':' || target_entity_ref, ':') || coalesce(octet_length(target_cluster)::text || ':' || target_cluster, ':')) || (coalesce(octet_length(target_namespace)::text || ':' || target_namespace, ':') || (coalesce(octet_length(target_resource)::text || ':' || target_resource, ':') || coalesce(octet_length(request_method)::text || ':' || request_method, ':')))) || ((coalesce(octet_length(request_path)::text || ':' || request_path, ':') || coalesce(octet_length(request_ip)::text || ':' || request_ip, ':')) || (coalesce(octet_length(request_user_agent)::text || ':' || request_user_agent, ':') || (coalesce(octet_length(meta)::text || ':' || meta, ':') || coalesce(octet_length(error)::text || ':' || error, ':')))))), '\\', '\\\\'), 'escape'))`;

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  await knex.raw(
    `ALTER TABLE audit_log_events ADD COLUMN content_digest bytea GENERATED ALWAYS AS (${CONTENT_DIGEST}) STORED`,
  );
  await knex.raw(
    `COMMENT ON COLUMN audit_log_events.content_digest IS 'sha256 of the event''s version 2 text, computed by the database (hash chain version 4)'`,
  );
};

/**
 * Events hashed in version 4 stay in the table and are verified from their columns by code
 * that knows version 4; code without it reports them as altered.
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (knex.client.config.client !== 'pg') {
    return;
  }
  await knex.raw('ALTER TABLE audit_log_events DROP COLUMN content_digest');
};

exports.CONTENT_DIGEST = CONTENT_DIGEST;
