// @ts-check
const { gunzipSync, gzipSync } = require('node:zlib');

const BATCH = 500;

/**
 * Stored manifests are gzip-compressed (`manifest_gz`); `manifest` stays for rows written before
 * and is emptied as they are compressed here.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('kubechart_runs', table => {
    table
      .binary('manifest_gz')
      .nullable()
      .comment(
        'The manifest applied by the run (redacted), gzip-compressed; `manifest` holds only rows written before compression',
      );
  });
  for (;;) {
    const rows = await knex('kubechart_runs')
      .whereNotNull('manifest')
      .select('id', 'manifest')
      .limit(BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      await knex('kubechart_runs')
        .where({ id: row.id })
        .update({
          manifest_gz: gzipSync(Buffer.from(row.manifest, 'utf8')),
          manifest: null,
        });
    }
  }
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  for (;;) {
    const rows = await knex('kubechart_runs')
      .whereNotNull('manifest_gz')
      .select('id', 'manifest_gz')
      .limit(BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      await knex('kubechart_runs')
        .where({ id: row.id })
        .update({
          manifest: gunzipSync(row.manifest_gz).toString('utf8'),
          manifest_gz: null,
        });
    }
  }
  await knex.schema.alterTable('kubechart_runs', table => {
    table.dropColumn('manifest_gz');
  });
};
