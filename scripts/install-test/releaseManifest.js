#!/usr/bin/env node
// Writes a Backstage release manifest ({ releaseVersion, packages: [{ name, version }] }, the format
// `backstage-cli versions:bump` reads from BACKSTAGE_MANIFEST_FILE) for the release this repository's backstage.json
// names, from the npm registry alone: for every @backstage/* package the given projects depend on, the
// newest stable version published by the end of the day after the release day (a release's packages are
// published over two days). The install test uses it because
// versions:bump otherwise downloads the manifest from a host outside the npm registry.
//
// Usage: releaseManifest.js <out.json> <release day YYYY-MM-DD> <project dir>...
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
// From this repository's node_modules (a dependency of the Backstage CLI); the install test runs this script
// from its copy of the repository, which has the same node_modules.
const semver = require('semver');

const [out, day, ...dirs] = process.argv.slice(2);
if (!out || !/^\d{4}-\d{2}-\d{2}$/.test(day ?? '') || dirs.length === 0) {
  console.error(
    'usage: releaseManifest.js <out.json> <release day YYYY-MM-DD> <project dir>...',
  );
  process.exit(2);
}
const releaseVersion = require(path.join(
  __dirname,
  '..',
  '..',
  'backstage.json',
)).version;
const until = Date.parse(`${day}T23:59:59Z`) + 24 * 3600 * 1000;
const untilDay = new Date(until).toISOString().slice(0, 10);
const registry = execFileSync('npm', ['config', 'get', 'registry'], {
  encoding: 'utf8',
})
  .trim()
  .replace(/\/$/, '');

function packageJsons(dir) {
  const found = [];
  const walk = d => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'package.json') found.push(p);
    }
  };
  walk(dir);
  return found;
}

const names = new Set();
for (const dir of dirs) {
  for (const file of packageJsons(dir)) {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const field of [
      'dependencies',
      'devDependencies',
      'peerDependencies',
    ]) {
      for (const name of Object.keys(pkg[field] ?? {}))
        if (name.startsWith('@backstage/')) names.add(name);
    }
  }
}

// A plain release: no prerelease tag, no build metadata.
const stable = v => /^\d+\.\d+\.\d+$/.test(v);

async function versionAt(name) {
  const res = await fetch(`${registry}/${name.replace('/', '%2f')}`, {
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`${name}: the registry answered ${res.status}`);
  const doc = await res.json();
  let best;
  for (const [version, time] of Object.entries(doc.time ?? {})) {
    if (
      !stable(version) ||
      !doc.versions?.[version] ||
      Date.parse(time) > until
    )
      continue;
    if (!best || semver.gt(version, best)) best = version;
  }
  if (!best) {
    throw new Error(
      `${name}: no stable version published by the end of ${untilDay} (UTC), the day after the release day ${day}`,
    );
  }
  return best;
}

async function main() {
  const list = [...names].sort();
  const packages = [];
  for (let i = 0; i < list.length; i += 8) {
    const batch = list.slice(i, i + 8);
    const versions = await Promise.all(batch.map(versionAt));
    batch.forEach((name, j) => packages.push({ name, version: versions[j] }));
  }
  fs.writeFileSync(
    out,
    `${JSON.stringify({ releaseVersion, packages }, null, 2)}\n`,
  );
  console.log(
    `release ${releaseVersion} (${day}): ${packages.length} @backstage/* packages`,
  );
}

main().catch(e => {
  console.error(e.message ?? e);
  process.exit(1);
});
