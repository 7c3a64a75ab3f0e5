#!/usr/bin/env node
// @ts-check
/**
 * Copies the real OpenAPI v3 documents recorded from a v1.26 API server
 * (../shared/reference/kube-api/openapi/) into openapi/<path>.json.gz: minified, gzipped,
 * content unchanged. kube-sim serves them at /openapi/v3 and validates objects against them.
 *
 * Usage: node packages/kube-sim/scripts/import-openapi.js [<recordings dir>]
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const repoRoot = path.resolve(__dirname, '../../..');
const source =
  process.argv[2] ??
  path.resolve(repoRoot, '../shared/reference/kube-api/openapi');
const target = path.resolve(__dirname, '../openapi');

fs.mkdirSync(target, { recursive: true });
for (const file of fs.readdirSync(source).sort()) {
  if (!/^(api|apis)_.*\.json$/.test(file)) continue;
  const doc = JSON.parse(fs.readFileSync(path.join(source, file), 'utf8'));
  const text = JSON.stringify(doc);
  const out = path.join(target, file.replace(/\.json$/, '.json.gz'));
  fs.writeFileSync(out, zlib.gzipSync(text, { level: 9, mtime: 0 }));
  console.log(
    `${file}: ${text.length} bytes -> ${path.relative(repoRoot, out)}`,
  );
}

// The list keys server-side apply and strategic merge patch use, per field name, read from the same
// documents: `x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys` (server-side apply) and
// `x-kubernetes-patch-merge-key` (strategic merge; also server-side apply's key for lists with only
// that marker), with the schema defaults of key fields (ports' `protocol: TCP`).
// Lists of scalars that are sets (`x-kubernetes-list-type: set`, or a strategic `merge` without a merge key:
// `finalizers`) get a `set` entry with the names of the fields that hold their parent type (`metadata` for
// ObjectMeta), so `metadata.finalizers` is told apart from a Namespace's atomic `spec.finalizers`.
/** @type {Record<string, Array<{ listType: string, keys: string[], mergeKey?: string, defaults?: Record<string, unknown>, strategicMerge?: boolean, parents?: string[] }>>} */
const listKeys = {};
for (const file of fs.readdirSync(source).sort()) {
  if (!/^(api|apis)_.*\.json$/.test(file)) continue;
  const schemas = JSON.parse(fs.readFileSync(path.join(source, file), 'utf8'))
    .components.schemas;
  /** @param {any} node */
  const refName = node => {
    const ref = node?.$ref ?? node?.allOf?.[0]?.$ref;
    return ref ? ref.replace('#/components/schemas/', '') : undefined;
  };
  /** @param {any} node */
  const resolve = node => {
    const name = refName(node);
    return name ? schemas[name] : node;
  };
  /** @type {Record<string, Set<string>>} the property names that hold each schema (directly or as list items) */
  const holders = {};
  for (const schema of Object.values(schemas)) {
    for (const [field, prop] of Object.entries(schema.properties ?? {})) {
      const held = refName(prop) ?? refName(prop.items);
      if (held) (holders[held] = holders[held] ?? new Set()).add(field);
    }
  }
  for (const [schemaName, schema] of Object.entries(schemas)) {
    for (const [field, prop] of Object.entries(schema.properties ?? {})) {
      if (prop.type !== 'array') continue;
      const listType = prop['x-kubernetes-list-type'] ?? 'strategic';
      const mergeKey = prop['x-kubernetes-patch-merge-key'];
      const strategicMerge = (prop['x-kubernetes-patch-strategy'] ?? '')
        .split(',')
        .includes('merge');
      const scalars = prop.items?.type && prop.items.type !== 'object';
      if (scalars && (listType === 'set' || (strategicMerge && !mergeKey))) {
        const entry = {
          listType: 'set',
          keys: [],
          ...(strategicMerge ? { strategicMerge } : {}),
          parents: [...(holders[schemaName] ?? [])].sort(),
        };
        const entries = (listKeys[field] = listKeys[field] ?? []);
        if (!entries.some(e => JSON.stringify(e) === JSON.stringify(entry)))
          entries.push(entry);
        continue;
      }
      let keys = [];
      if (listType === 'map') keys = prop['x-kubernetes-list-map-keys'];
      else if (listType === 'strategic' && mergeKey && strategicMerge)
        keys = [mergeKey];
      else if (!mergeKey) continue;
      const item = resolve(prop.items);
      /** @type {Record<string, unknown>} */
      const defaults = {};
      for (const k of keys) {
        const d = item?.properties?.[k]?.default;
        if (d !== undefined && d !== 0 && d !== '') defaults[k] = d;
      }
      const entry = {
        listType,
        keys,
        ...(mergeKey && strategicMerge ? { mergeKey } : {}),
        ...(Object.keys(defaults).length ? { defaults } : {}),
      };
      const entries = (listKeys[field] = listKeys[field] ?? []);
      if (!entries.some(e => JSON.stringify(e) === JSON.stringify(entry)))
        entries.push(entry);
    }
  }
}
const sortedKeys = Object.fromEntries(
  Object.entries(listKeys).sort(([a], [b]) => a.localeCompare(b)),
);
fs.writeFileSync(
  path.join(target, 'list-keys.json'),
  `${JSON.stringify(sortedKeys, null, 1)}\n`,
);
console.log(`list-keys.json: ${Object.keys(sortedKeys).length} list fields`);
