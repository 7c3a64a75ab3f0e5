// @ts-check

const {
  parseEntityRef,
  stringifyEntityRef,
} = require('@backstage/catalog-model');

/**
 * Runs and drift records store their entity ref as the catalog compares refs (`stringifyEntityRef`:
 * kind, namespace and name lowercased, namespace `default` when none is named), and are looked up
 * by that form. Before, a run kept the ref as its request spelled it (`Component:Default/Web`,
 * `component:web`), so it was missing from the history of the entity an entity page asks for
 * (`component:default/web`), and an earlier owner's runs under another spelling were missed when a
 * tenant was given the entity. Rewrites the refs stored so; a text that is not an entity ref, or
 * whose stored form would be longer than the column, is kept.
 * One update per distinct spelling, read from the entity index.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  for (const table of ['kubechart_runs', 'kubechart_drift']) {
    /** @type {Array<{ entity_ref: string }>} */
    const rows = await knex(table)
      .distinct('entity_ref')
      .whereNotNull('entity_ref');
    for (const { entity_ref: stored } of rows) {
      let key;
      try {
        key = stringifyEntityRef(parseEntityRef(stored));
      } catch {
        continue;
      }
      // A ref whose stored form would not fit the column (namespace `default` added) stays.
      if (key !== stored && key.length <= 255)
        await knex(table)
          .where({ entity_ref: stored })
          .update({ entity_ref: key });
    }
  }
};

/**
 * Nothing to undo: the stored form is an entity ref as every earlier version reads it.
 *
 * @param {import('knex').Knex} _knex
 */
exports.down = async function down(_knex) {};
