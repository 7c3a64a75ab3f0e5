#!/usr/bin/env node
// The README's configuration step, applied to a create-app app-config.yaml: the `kubernetes:` block
// replaces create-app's empty one, the example templates join `catalog.locations`, guest sign-in uses the
// example org's catalog user, the home page widgets join the home page's defaultConfig, and the
// `kubechart:` / `kubeAssistant:` blocks are appended. Usage: configure.js <app-config.yaml>
const fs = require('node:fs');
const path = require('node:path');

const [file] = process.argv.slice(2);
const read = name => fs.readFileSync(path.join(__dirname, name), 'utf8');
let text = fs.readFileSync(file, 'utf8');

const emptyKubernetes = /^kubernetes:\n(?:[ \t]+#.*\n)*/m;
if (!emptyKubernetes.test(text))
  throw new Error(`${file}: no empty top-level kubernetes: key to replace`);
text = text.replace(emptyKubernetes, `${read('app-config.kubernetes.yaml')}\n`);

const locations = /^catalog:\n(?:(?:[ \t].*)?\n)*?  locations:\n/m;
const m = locations.exec(text);
if (!m) throw new Error(`${file}: no catalog.locations list`);
const at = m.index + m[0].length;
text = text.slice(0, at) + read('app-config.catalog.yaml') + text.slice(at);

// Guest sign-in as the example org's catalog user `guest` (member of `guests`), so that a deploy for the
// example website, owned by `guests`, is the owner's deploy.
const guest = /^(    guest:) \{\}$/m;
if (!guest.test(text))
  throw new Error(
    `${file}: no \`guest: {}\` provider to point at the catalog's guest user`,
  );
text = text.replace(guest, '$1\n      userEntityRef: user:default/guest');

// The two home page widgets join the entries of create-app's `page:home` defaultConfig.
const homeDefaults =
  /^(    - page:home:\n        config:\n          defaultConfig:\n)/m;
if (!homeDefaults.test(text))
  throw new Error(`${file}: no page:home defaultConfig list`);
text = text.replace(homeDefaults, `$1${read('app-config.home.yaml')}`);

text += read('app-config.kubechart.yaml');
fs.writeFileSync(file, text);
