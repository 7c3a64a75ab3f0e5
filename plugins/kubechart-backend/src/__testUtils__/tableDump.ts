import { Knex } from 'knex';
import { gunzipSync } from 'node:zlib';

/**
 * Every row of a table as JSON text, with compressed columns (`manifest_gz`) unpacked, so that a
 * test searching the stored bytes for a secret also searches the stored manifests.
 */
export async function tableDump(knex: Knex, table: string): Promise<string> {
  const rows = await knex(table).select();
  return JSON.stringify(
    rows.map(row =>
      row.manifest_gz
        ? { ...row, manifest_gz: gunzipSync(row.manifest_gz).toString('utf8') }
        : row,
    ),
  );
}
