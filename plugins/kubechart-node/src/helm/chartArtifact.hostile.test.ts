import { InputError } from '@backstage/errors';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rawTarGz } from '../__testUtils__/rawTar';
import { which } from '../__testUtils__/helmCluster';
import * as tar from 'tar';
import { readChartCrds } from '../chartSource';
import { HelmCli } from './HelmCli';
import { pullChart } from './chartArtifact';

const helm = new HelmCli({ binary: which('helm3') });
const chartYaml = (name: string) => ({
  path: `${name}/Chart.yaml`,
  content: `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`,
});
const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: escape }\n';

/** Package entries helm and an unpacker could read differently: each is refused before anything reads the chart. */
describe('pullChart of a hostile package', () => {
  let work: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'pull-hostile-'));
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  const refusal = async (
    entries: Array<{ path: string; content: string | Buffer; type?: string }>,
  ): Promise<string> => {
    const pkg = path.join(work, 'pkg.tgz');
    await fs.writeFile(pkg, rawTarGz(entries));
    const e = await pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'web',
      workDir: path.join(work, 'w'),
    }).then(
      () => undefined,
      err => err,
    );
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  };

  it('accepts packages of helm and tar tools with long and non-ASCII paths (PAX, ustar prefixes), read in full', async () => {
    const src = path.join(work, 'src', 'longchart');
    const deep = path.join(src, 'crds', 'a'.repeat(60), 'b'.repeat(60));
    await fs.mkdir(deep, { recursive: true });
    await fs.writeFile(
      path.join(src, 'Chart.yaml'),
      chartYaml('longchart').content,
    );
    const crd = (name: string) =>
      `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: ${name} }\n`;
    await fs.writeFile(
      path.join(deep, `${'c'.repeat(90)}.yaml`),
      crd('deep.example.com'),
    );
    await fs.writeFile(
      path.join(src, 'crds', `ü-${'d'.repeat(120)}.YAML`),
      crd('wide.example.com'),
    );
    const packed = path.join(work, 'longchart.tgz');
    await tar.c({ gzip: true, file: packed, cwd: path.dirname(src) }, [
      'longchart',
    ]);
    for (const chart of [src, packed]) {
      const a = await pullChart({
        helm,
        source: { type: 'directory', chart },
        release: 'long',
        workDir: path.join(work, `w-${path.basename(chart)}`),
      });
      const crds = await readChartCrds(a.directory);
      expect(crds).toContain('deep.example.com');
      expect(crds).toContain('wide.example.com');
    }
  });

  it('refuses a path held twice (helm reads both, an unpacker keeps the last)', async () => {
    expect(
      await refusal([
        chartYaml('dupc'),
        { path: 'dupc/crds/x.yaml', content: pod },
        { path: 'dupc/crds/x.yaml', content: '# nothing here\n' },
      ]),
    ).toBe(
      'Chart refused: the chart package holds dupc/crds/x.yaml more than once',
    );
  });

  it('refuses paths that differ only in case, or name one file in two spellings', async () => {
    expect(
      await refusal([
        chartYaml('c'),
        { path: 'c/crds/x.yaml', content: pod },
        { path: 'c/crds/X.yaml', content: pod },
      ]),
    ).toBe(
      'Chart refused: the chart package holds c/crds/X.yaml and c/crds/x.yaml, which differ only in case',
    );
    expect(
      await refusal([
        chartYaml('c'),
        { path: 'c/./crds/x.yaml', content: pod },
      ]),
    ).toBe(
      'Chart refused: the chart package holds a path with an empty, "." or ".." segment (c/./crds/x.yaml)',
    );
    expect(
      await refusal([chartYaml('c'), { path: 'c//crds/x.yaml', content: pod }]),
    ).toMatch(/empty, "\." or "\.\." segment \(c\/\/crds\/x\.yaml\)/);
  });

  it('refuses backslashes (helm reads them as separators) and entries outside the one chart directory', async () => {
    expect(
      await refusal([
        chartYaml('c'),
        { path: 'c\\crds\\x.yaml', content: pod },
      ]),
    ).toBe(
      'Chart refused: the chart package holds a path with a backslash (c\\crds\\x.yaml)',
    );
    expect(
      await refusal([chartYaml('c'), { path: 'crds.yaml', content: pod }]),
    ).toBe(
      'Chart refused: the chart package holds crds.yaml outside its chart directory c',
    );
    expect(
      await refusal([chartYaml('c'), { path: 'd/crds/x.yaml', content: pod }]),
    ).toBe(
      'Chart refused: the chart package holds d/crds/x.yaml outside its chart directory c',
    );
  });

  it('refuses entries a tar unpacker reads otherwise than helm: a file named like a directory, an unknown type', async () => {
    const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: { name: hidden }\n';
    // helm renders templates/hook.yaml; node-tar makes an empty directory of it.
    expect(
      await refusal([
        chartYaml('c'),
        { path: 'c/templates/hook.yaml/', content: job },
      ]),
    ).toBe(
      'Chart refused: the chart package holds a file named or marked as a directory (c/templates/hook.yaml/)',
    );
    // helm reads an entry of an unknown type as a file; node-tar skips it.
    expect(
      await refusal([
        chartYaml('c'),
        { path: 'c/templates/z.yaml', content: job, type: 'Z' },
      ]),
    ).toBe(
      'Chart refused: the chart package holds an entry of type "Z" (c/templates/z.yaml); only files and directories are accepted',
    );
  });

  it("refuses a file larger than helm's 5 MiB per file, naming it, before unpacking anything; a 5 MiB file passes", async () => {
    const MiB = 1024 * 1024;
    /** A comment line of random text, `bytes` long: it packs to about as much (tar refuses packages that pack far smaller). */
    const text = (bytes: number) =>
      `#${randomBytes(bytes)
        .toString('base64')
        .slice(0, bytes - 2)}\n`;
    const big = [
      chartYaml('c'),
      { path: 'c/templates/big.yaml', content: text(5 * MiB + 1) },
    ];
    expect(await refusal(big)).toBe(
      'Chart refused: the chart package holds c/templates/big.yaml, which is larger than 5242880 bytes (the largest file helm reads from a chart)',
    );
    await expect(fs.readdir(path.join(work, 'w', 'web'))).resolves.toEqual([
      'package',
    ]);
    // helm refuses the same package for the same file.
    await expect(
      helm.exec(['template', 'x', path.join(work, 'pkg.tgz')], {}),
    ).rejects.toThrow(/c\/templates\/big\.yaml/);
    // Several files below the bound each, larger than it together: the bound is per file.
    const pkg = path.join(work, 'fits.tgz');
    await fs.writeFile(
      pkg,
      rawTarGz([
        chartYaml('c'),
        { path: 'c/templates/a.yaml', content: text(5 * MiB) },
        { path: 'c/templates/b.yaml', content: text(5 * MiB) },
      ]),
    );
    const pulled = await pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'web',
      workDir: path.join(work, 'w-fits'),
    });
    expect(pulled.name).toBe('c');
  }, 60_000);

  it('checks packaged subcharts the same way, whether helm package unpacked them or not', async () => {
    const db = rawTarGz([
      chartYaml('db'),
      { path: 'db/crds/x.yaml', content: pod },
      { path: 'db/crds/x.yaml', content: '' },
    ]);
    // A package that carries the subchart packaged, as tar tools leave it.
    expect(
      await refusal([
        chartYaml('app'),
        { path: 'app/charts/db-0.1.0.tgz', content: db },
      ]),
    ).toBe(
      'Chart refused: the chart package holds db/crds/x.yaml more than once',
    );
    // A chart directory: helm package stores the subchart's files, both copies.
    const dir = path.join(work, 'src', 'app');
    await fs.mkdir(path.join(dir, 'charts'), { recursive: true });
    await fs.writeFile(path.join(dir, 'Chart.yaml'), chartYaml('app').content);
    await fs.writeFile(path.join(dir, 'charts', 'db-0.1.0.tgz'), db);
    const e = await pullChart({
      helm,
      source: { type: 'directory', chart: dir },
      release: 'app',
      workDir: path.join(work, 'w2'),
    }).then(
      () => undefined,
      err => err,
    );
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(
      'Chart refused: the chart package holds app/charts/db/crds/x.yaml more than once',
    );
  });
});
