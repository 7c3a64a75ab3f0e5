#!/usr/bin/env node
// In the app (cwd): `yarn why` every @backstage/* package our tarballs depend on, and fail when the
// app holds more than one version of any of them. Usage: checkDuplicates.js <tarball dir>
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const [dir] = process.argv.slice(2);
const deps = new Set();
for (const tgz of fs.readdirSync(dir).filter(f => f.endsWith('.tgz'))) {
  const pkg = JSON.parse(
    execFileSync('tar', [
      '-xzOf',
      path.join(dir, tgz),
      'package/package.json',
    ]).toString(),
  );
  Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })
    .filter(d => d.startsWith('@backstage/'))
    .forEach(d => deps.add(d));
}
const duplicates = [];
for (const name of [...deps].sort()) {
  const out = execFileSync('yarn', ['why', name], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const escaped = name.replace(/[/.]/g, m => `\\${m}`);
  const versions = new Set(
    [...out.matchAll(new RegExp(`${escaped}@npm:([0-9][^\\s"(]*)`, 'g'))].map(
      m => m[1],
    ),
  );
  console.log(`  ${name}: ${[...versions].join(', ') || 'not installed'}`);
  if (versions.size > 1)
    duplicates.push(`${name} (${[...versions].join(', ')})`);
}
if (duplicates.length) {
  console.error(`More than one copy in the app: ${duplicates.join('; ')}`);
  process.exit(1);
}
