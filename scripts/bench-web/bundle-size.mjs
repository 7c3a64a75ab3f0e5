// The JS each KubeChart frontend plugin adds to the example app's production bundle, read from
// the real build output (packages/app/dist, written by `backstage-cli package build`, e.g. through
// `make start-prod`): every byte of every emitted .js file is attributed, through the file's source
// map, to the source file it was compiled from, and summed per package. gzip is the size of that
// package's bytes compressed together at level 9 (what a server's gzip would send for them, to
// within the cross-package context a whole chunk would share).
//
//   node scripts/bench-web/bundle-size.mjs [packages/app/dist]
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { SourceMapConsumer } = require('source-map-js');

const root = resolve(import.meta.dirname, '..', '..');
const dist = resolve(process.argv[2] ?? join(root, 'packages/app/dist'));
if (!existsSync(dist)) {
  console.error(
    `bundle-size: ${dist} does not exist; build the app first (scripts/start-prod.sh --build-only)`,
  );
  process.exit(1);
}

/** Our frontend packages, and the shared code they bring along. */
const OURS = [
  ['@kubechart/plugin-kubechart', /plugins\/kubechart\/src\//],
  ['@kubechart/plugin-kubechart-common', /plugins\/kubechart-common\/src\//],
  ['@kubechart/plugin-audit-log', /plugins\/audit-log\/src\//],
  ['@kubechart/plugin-audit-log-common', /plugins\/audit-log-common\/src\//],
  ['@kubechart/plugin-assistant', /plugins\/assistant\/src\//],
  ['@kubechart/plugin-assistant-common', /plugins\/assistant-common\/src\//],
  // Third-party code in the app only because of a KubeChart plugin (`yarn why diff`: in the app,
  // only @kubechart/plugin-kubechart depends on diff 8, for the run diff view).
  [
    'diff (third-party, for @kubechart/plugin-kubechart)',
    /node_modules\/diff\//,
  ],
];

function* jsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* jsFiles(path);
    else if (name.endsWith('.js')) yield path;
  }
}

const bytes = new Map(OURS.map(([name]) => [name, 0]));
const code = new Map(OURS.map(([name]) => [name, []]));
let total = 0;
let totalGzip = 0;
let unmapped = 0;
let files = 0;
for (const file of jsFiles(dist)) {
  const text = readFileSync(file, 'utf8');
  files += 1;
  total += Buffer.byteLength(text);
  totalGzip += gzipSync(text, { level: 9 }).length;
  if (!existsSync(`${file}.map`)) {
    unmapped += Buffer.byteLength(text);
    continue;
  }
  const consumer = new SourceMapConsumer(
    JSON.parse(readFileSync(`${file}.map`, 'utf8')),
  );
  const lines = text.split('\n');
  /** Per generated line: [column, package or undefined], in column order. */
  const marks = lines.map(() => []);
  consumer.eachMapping(m => {
    const owner = m.source
      ? OURS.find(([, re]) => re.test(m.source))?.[0]
      : undefined;
    marks[m.generatedLine - 1]?.push([m.generatedColumn, owner]);
  });
  marks.forEach((lineMarks, i) => {
    lineMarks.sort((a, b) => a[0] - b[0]);
    lineMarks.forEach(([column, owner], k) => {
      if (!owner) return;
      const end =
        k + 1 < lineMarks.length ? lineMarks[k + 1][0] : lines[i].length;
      const slice = lines[i].slice(column, end);
      bytes.set(owner, bytes.get(owner) + Buffer.byteLength(slice));
      code.get(owner).push(slice);
    });
  });
}

if (files === 0) {
  console.error(`bundle-size: no .js files under ${dist}; is the app built?`);
  process.exit(1);
}

const kb = n => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `\n# JS each KubeChart package adds to the app bundle (${dist}, ${files} .js files)\n`,
);
console.log(
  `whole app: ${kb(total)} (${kb(
    totalGzip,
  )} gzip, each file compressed on its own)`,
);
if (unmapped)
  console.log(`without a source map (not attributed): ${kb(unmapped)}`);
let ours = 0;
for (const [name] of OURS) {
  const n = bytes.get(name);
  ours += n;
  const gz = gzipSync(code.get(name).join(''), { level: 9 }).length;
  console.log(
    `${name.padEnd(52)} ${kb(n).padStart(10)}  ${kb(gz).padStart(9)} gzip  (${(
      (100 * n) /
      total
    ).toFixed(1)} % of the app)`,
  );
}
console.log(
  `${'all of the above'.padEnd(52)} ${kb(ours).padStart(10)}  (${(
    (100 * ours) /
    total
  ).toFixed(1)} % of the app)`,
);
console.log(
  '(target: none set. Other third-party code the plugins import (MUI, react-use, js-yaml, zod) is shared with Backstage packages in this app and not counted here.)',
);
