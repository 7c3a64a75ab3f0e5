#!/usr/bin/env node
// Checks what `yarn pack` produced: entry points, `./alpha`, types, config schema and migrations are
// in the tarball, and nothing points at src/. Usage: checkTarballs.js <tarball dir>
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const [dir] = process.argv.slice(2);
const problems = [];
for (const tgz of fs
  .readdirSync(dir)
  .filter(f => f.endsWith('.tgz'))
  .sort()) {
  const file = path.join(dir, tgz);
  const files = new Set(
    execFileSync('tar', ['-tzf', file])
      .toString()
      .split('\n')
      .filter(Boolean)
      .map(f => f.replace(/^package\//, '')),
  );
  const pkg = JSON.parse(
    execFileSync('tar', ['-xzOf', file, 'package/package.json']).toString(),
  );
  const need = (p, why) => {
    const rel = p.replace(/^\.\//, '');
    if (!files.has(rel))
      problems.push(`${pkg.name}: ${why} ${p} is not in the tarball`);
  };
  for (const key of ['main', 'types']) {
    if (!pkg[key]) problems.push(`${pkg.name}: no "${key}"`);
    else need(pkg[key], key);
  }
  for (const [mount, target] of Object.entries(pkg.exports ?? {})) {
    const targets =
      typeof target === 'string'
        ? [target]
        : Object.values(target).filter(t => t.startsWith('./'));
    targets.forEach(t => need(t, `exports["${mount}"]`));
  }
  const entryPoints = JSON.stringify([
    pkg.main,
    pkg.types,
    pkg.module,
    pkg.exports,
    pkg.typesVersions,
  ]);
  if (entryPoints.includes('src/'))
    problems.push(`${pkg.name}: an entry point still points into src/`);
  const role = pkg.backstage?.role;
  if (!pkg.backstage?.pluginPackages && !pkg.backstage?.pluginPackage) {
    problems.push(`${pkg.name}: no backstage.pluginPackages / pluginPackage`);
  }
  if (role === 'frontend-plugin' && !pkg.exports?.['./alpha'])
    problems.push(`${pkg.name}: no ./alpha export`);
  if (
    role === 'backend-plugin' &&
    pkg.backstage?.features?.['.'] !== '@backstage/BackendFeature'
  ) {
    problems.push(`${pkg.name}: not marked as a backend feature`);
  }
  if (pkg.configSchema) need(pkg.configSchema, 'configSchema');
  if (
    pkg.files?.includes('migrations') &&
    ![...files].some(f => f.startsWith('migrations/'))
  ) {
    problems.push(`${pkg.name}: no migrations in the tarball`);
  }
  if (
    Object.values(pkg.dependencies ?? {}).some(v => v.startsWith('workspace:'))
  ) {
    problems.push(`${pkg.name}: a workspace: dependency was left in`);
  }
  // The workspace's private packages (kube-sim) are never published: no manifest may name one.
  for (const field of [
    'dependencies',
    'devDependencies',
    'peerDependencies',
    'optionalDependencies',
  ]) {
    const named = Object.keys(pkg[field] ?? {}).filter(n =>
      n.startsWith('@internal/'),
    );
    if (named.length)
      problems.push(
        `${pkg.name}: ${field} names unpublished ${named.join(', ')}`,
      );
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
