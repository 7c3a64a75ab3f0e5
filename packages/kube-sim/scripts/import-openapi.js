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
  console.log(`${file}: ${text.length} bytes -> ${path.relative(repoRoot, out)}`);
}
