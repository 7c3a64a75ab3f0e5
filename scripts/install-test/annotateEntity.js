#!/usr/bin/env node
// The README's "annotate your entities" step, applied to create-app's example website
// (examples/entities.yaml): where it is deployed, so that a run for it may go there and its
// Deployment history and Cluster health show. Usage: annotateEntity.js <entities.yaml>
const fs = require('node:fs');

const [file] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const website = /^(metadata:\n  name: example-website\n)/m;
if (!website.test(text))
  throw new Error(`${file}: no example-website component to annotate`);
fs.writeFileSync(
  file,
  text.replace(
    website,
    '$1  annotations:\n' +
      '    kubechart.io/cluster: kube-sim\n' +
      '    kubechart.io/namespace: shop\n' +
      '    kubechart.io/release: web\n',
  ),
);
