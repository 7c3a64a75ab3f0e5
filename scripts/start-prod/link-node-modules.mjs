// Gives the unpacked backend bundle (scripts/start-prod.sh) a node_modules: the workspace's own
// packages from the bundle (built, as they would be published), every other package linked from
// the checkout's node_modules, where `make bootstrap` installed and built them for this Node.
//
//   node scripts/start-prod/link-node-modules.mjs <checkout> <unpacked bundle>
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';

const [root, prod] = process.argv.slice(2);
if (!root || !prod) {
  console.error('usage: link-node-modules.mjs <checkout> <unpacked bundle>');
  process.exit(2);
}

/** name → folder (relative) of every package in the bundle. */
const bundled = new Map();
for (const group of ['packages', 'plugins']) {
  const dir = join(prod, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const manifest = join(dir, name, 'package.json');
    if (existsSync(manifest)) {
      bundled.set(
        JSON.parse(readFileSync(manifest, 'utf8')).name,
        join(group, name),
      );
    }
  }
}
if (!bundled.has('backend')) {
  console.error(`link-node-modules: no packages/backend in ${prod}`);
  process.exit(1);
}

const from = join(root, 'node_modules');
const to = join(prod, 'node_modules');
mkdirSync(to, { recursive: true });
/** Workspace packages that are not in the bundle keep their checkout links. */
const workspaceNames = new Set(bundled.keys());
for (const entry of readdirSync(from)) {
  if (entry === '.bin' || entry.startsWith('.')) continue;
  if (entry.startsWith('@')) {
    mkdirSync(join(to, entry), { recursive: true });
    for (const name of readdirSync(join(from, entry))) {
      if (!workspaceNames.has(`${entry}/${name}`)) {
        symlinkSync(join(from, entry, name), join(to, entry, name));
      }
    }
  } else if (!workspaceNames.has(entry)) {
    symlinkSync(join(from, entry), join(to, entry));
  }
}
for (const [name, dir] of bundled) {
  const link = join(to, name);
  mkdirSync(join(link, '..'), { recursive: true });
  symlinkSync(join(prod, dir), link);
  // Versions hoisted per package (a package's own node_modules in the checkout).
  const own = join(root, dir, 'node_modules');
  if (existsSync(own) && !existsSync(join(prod, dir, 'node_modules'))) {
    symlinkSync(own, join(prod, dir, 'node_modules'));
  }
}
console.log(
  `link-node-modules: ${bundled.size} bundled packages linked in ${to}`,
);
