#!/usr/bin/env node
/*
 * Run by a package's `prepack` after `backstage-cli package prepack` (which keeps the original
 * package.json and `postpack` puts it back): takes the workspace's private packages (`@internal/*`,
 * e.g. the kube-sim test cluster) out of the devDependencies of the package.json being packed, so a
 * published manifest names no package that is never published.
 */
const fs = require('node:fs');
const path = require('node:path');

const file = path.resolve(process.cwd(), 'package.json');
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
const dev = pkg.devDependencies ?? {};
const dropped = Object.keys(dev).filter(name => name.startsWith('@internal/'));
if (dropped.length) {
  for (const name of dropped) delete dev[name];
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}
