#!/usr/bin/env node
// Points the app at the packed tarballs: one `resolutions` entry per package, so the app's
// `yarn add @kubechart/…@^0.1.0` (and our packages' dependencies on each other) resolve to them
// instead of a registry. Usage: useTarballs.js <app package.json> <tarball dir>
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const [pkgFile, dir] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
pkg.resolutions = pkg.resolutions ?? {};
for (const tgz of fs
  .readdirSync(dir)
  .filter(f => f.endsWith('.tgz'))
  .sort()) {
  const file = path.resolve(dir, tgz);
  const { name } = JSON.parse(
    execFileSync('tar', ['-xzOf', file, 'package/package.json']).toString(),
  );
  pkg.resolutions[name] = `file:${file}`;
}
fs.writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
