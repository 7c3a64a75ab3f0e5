import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { HelmCli } from './HelmCli';
import { pullChart } from './chartArtifact';
import { findInstallTimeInputs, readChartCrds } from '../chartSource';
import { which } from '../__testUtils__/helmCluster';

jest.setTimeout(60_000);

const charts = path.resolve(__dirname, '../__fixtures__/charts');
const helm = new HelmCli({
  binary: which('helm3'),
});

describe('pullChart', () => {
  let work: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'pull-test-'));
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  it('packages a chart directory once into the work dir, with its digest and an unpacked copy', async () => {
    const a = await pullChart({
      helm,
      source: { type: 'directory', chart: path.join(charts, 'webapp') },
      release: 'web',
      workDir: work,
    });
    expect(a).toMatchObject({ name: 'webapp', source: 'webapp' });
    expect(a.archive.startsWith(path.join(work, 'web'))).toBe(true);
    // The digest is of the chart's files: packaging the same chart again gives the same digest,
    // and a changed file gives another.
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await pullChart({
      helm,
      source: { type: 'directory', chart: path.join(charts, 'webapp') },
      release: 'again',
      workDir: work,
    });
    expect(again.digest).toBe(a.digest);
    const copy = path.join(work, 'copy', 'webapp');
    await fs.cp(path.join(charts, 'webapp'), copy, { recursive: true });
    await fs.appendFile(path.join(copy, 'values.yaml'), 'extra: 1\n');
    const changed = await pullChart({
      helm,
      source: { type: 'directory', chart: copy },
      release: 'changed',
      workDir: work,
    });
    expect(changed.digest).not.toBe(a.digest);
    expect(
      await fs.readFile(path.join(a.directory, 'values.yaml'), 'utf8'),
    ).toBe(
      await fs.readFile(path.join(charts, 'webapp', 'values.yaml'), 'utf8'),
    );
    // What helm renders from the pinned package is the chart.
    const rendered = await helm.template({
      release: 'web',
      namespace: 'team',
      chart: a.archive,
    });
    expect(rendered).toContain('kind: Deployment');
  });

  it('refuses a local chart whose version is not the one asked for', async () => {
    await expect(
      pullChart({
        helm,
        source: {
          type: 'directory',
          chart: path.join(charts, 'webapp'),
          version: '9.9.9',
        },
        release: 'web',
        workDir: work,
      }),
    ).rejects.toThrow(/is version .*, not 9.9.9/);
  });

  it('refuses a package that holds a symlink or a path out of the chart', async () => {
    const src = path.join(work, 'src');
    await fs.mkdir(path.join(src, 'evil', 'templates'), { recursive: true });
    await fs.writeFile(
      path.join(src, 'evil', 'Chart.yaml'),
      'apiVersion: v2\nname: evil\nversion: 1.0.0\n',
    );
    await fs.symlink(
      '/etc/passwd',
      path.join(src, 'evil', 'templates', 'x.yaml'),
    );
    const pkg = path.join(work, 'evil-1.0.0.tgz');
    await tar.c({ gzip: true, file: pkg, cwd: src }, ['evil']);
    const refusal = await pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'evil',
      workDir: path.join(work, 'w'),
    }).catch(e => e);
    expect(refusal).toBeInstanceOf(InputError);
    expect(refusal.message).toMatch(
      /SymbolicLink .*only files and directories/,
    );
  });

  it("unpacks packaged subcharts in the chart's copy, so their crds/ and templates are read; a bad one is refused", async () => {
    const src = path.join(work, 'src');
    const write = async (file: string, text: string) => {
      await fs.mkdir(path.dirname(path.join(src, file)), { recursive: true });
      await fs.writeFile(path.join(src, file), text);
    };
    await write('db/Chart.yaml', 'apiVersion: v2\nname: db\nversion: 1.0.0\n');
    await write(
      'db/crds/tables.yaml',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: tables.db.example.com }\n',
    );
    await write(
      'db/templates/hook.yaml',
      '{{ if lookup "v1" "Secret" "" "x" }}kind: Job{{ end }}\n',
    );
    await write(
      'app/Chart.yaml',
      'apiVersion: v2\nname: app\nversion: 2.0.0\n',
    );
    await write(
      'app/templates/cm.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\n',
    );
    await fs.mkdir(path.join(src, 'app', 'charts'));
    await tar.c(
      {
        gzip: true,
        file: path.join(src, 'app', 'charts', 'db-1.0.0.tgz'),
        cwd: src,
      },
      ['db'],
    );
    // A package made with tar keeps the subchart packaged (helm package would store it unpacked).
    const pkg = path.join(work, 'app-2.0.0.tgz');
    await tar.c({ gzip: true, file: pkg, cwd: src }, ['app']);
    const a = await pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'app',
      workDir: path.join(work, 'w'),
    });
    expect(await readChartCrds(a.directory)).toContain(
      'name: tables.db.example.com',
    );
    expect((await findInstallTimeInputs(a.directory)).calls).toEqual([
      {
        fn: 'lookup',
        file: path.join('charts', 'db-1.0.0', 'templates', 'hook.yaml'),
      },
    ]);
    // helm still installs the package as pulled, subchart packaged.
    expect(
      (await tar.t({ file: a.archive, onReadEntry: () => {} }), true),
    ).toBe(true);

    await fs.rm(path.join(src, 'db', 'templates', 'hook.yaml'));
    await fs.symlink(
      '/etc/passwd',
      path.join(src, 'db', 'templates', 'hook.yaml'),
    );
    await tar.c(
      {
        gzip: true,
        file: path.join(src, 'app', 'charts', 'db-1.0.0.tgz'),
        cwd: src,
      },
      ['db'],
    );
    await tar.c({ gzip: true, file: pkg, cwd: src }, ['app']);
    const refusal = await pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'bad',
      workDir: path.join(work, 'w2'),
    }).catch(e => e);
    expect(refusal).toBeInstanceOf(InputError);
    expect(refusal.message).toMatch(
      /SymbolicLink .*only files and directories/,
    );
  });

  it("names the chart and host of a fetch that failed, but not helm's text", async () => {
    const raw: string[] = [];
    const refusal = await pullChart({
      helm,
      source: {
        type: 'repository',
        chart: 'nginx',
        repo: 'https://127.0.0.1:9/internal-only',
        version: '1.0.0',
      },
      release: 'web',
      workDir: work,
      onFetchError: m => raw.push(m),
    }).catch(e => e);
    expect(refusal).toBeInstanceOf(InputError);
    expect(refusal.message).toBe(
      'Chart nginx version 1.0.0 could not be fetched from 127.0.0.1:9',
    );
    // helm's own words (the address it dialled, the OS error) reach only the backend log.
    expect(raw.join('\n')).toMatch(/connection refused|connect/i);
  });
});
