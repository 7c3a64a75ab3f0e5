import { InputError } from '@backstage/errors';
import yaml from 'js-yaml';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rawTarGz } from '../__testUtils__/rawTar';
import { which } from '../__testUtils__/helmCluster';
import { HelmCli } from './HelmCli';
import { pullChart } from './chartArtifact';

// Counts what js-yaml is asked to parse, so a refusal can be shown to come before any parsing.
jest.mock('js-yaml', () => {
  const actual = jest.requireActual('js-yaml');
  return {
    ...actual,
    load: jest.fn(actual.load),
    loadAll: jest.fn(actual.loadAll),
  };
});

const helm = new HelmCli({ binary: which('helm3') });

/** A Chart.yaml of about `bytes` bytes: the chart's metadata, then an `annotations:` map of short keys. */
const chartYamlOf = (bytes: number) => {
  const lines = [
    'apiVersion: v2',
    'name: web',
    'version: 0.1.0',
    'annotations:',
  ];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `  k${i}: v`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
};

/** The Chart.yaml of a chart package is untrusted text: it is read within bounds, or the chart is refused. */
describe('pullChart reads Chart.yaml within bounds', () => {
  let work: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'pull-chart-yaml-'));
    jest.mocked(yaml.load).mockClear();
    jest.mocked(yaml.loadAll).mockClear();
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  const pull = async (chartYaml: string) => {
    const pkg = path.join(work, 'web-0.1.0.tgz');
    await fs.writeFile(
      pkg,
      rawTarGz([{ path: 'web/Chart.yaml', content: chartYaml }]),
    );
    return pullChart({
      helm,
      source: { type: 'directory', chart: pkg },
      release: 'web',
      workDir: path.join(work, 'w'),
    }).then(
      pulled => pulled,
      (e: Error) => e,
    );
  };

  it('refuses a Chart.yaml larger than 1 MiB (4 MB of annotations, below the 5 MiB helm reads of one file) before parsing it', async () => {
    const outcome = await pull(chartYamlOf(4 * 1024 * 1024));
    expect(outcome).toBeInstanceOf(InputError);
    expect((outcome as Error).message).toBe(
      'Chart.yaml of chart web-0.1.0.tgz refused: larger than 1048576 bytes; the limit maxBytes is 1048576',
    );
    expect(yaml.load).not.toHaveBeenCalled();
    expect(yaml.loadAll).not.toHaveBeenCalled();
  }, 120_000);

  it('refuses a Chart.yaml within the byte limit that holds more nodes than any chart metadata', async () => {
    const outcome = await pull(chartYamlOf(900 * 1024));
    expect(outcome).toBeInstanceOf(InputError);
    expect((outcome as Error).message).toMatch(
      /^Chart\.yaml of chart web-0\.1\.0\.tgz refused: more than 50000 nodes .*the limit maxNodes is 50000$/,
    );
  }, 60_000);

  it('refuses a Chart.yaml whose aliases expand past the limits', async () => {
    const lines = ['apiVersion: v2', 'name: web', 'version: 0.1.0'];
    lines.push(`a0: &a0 [${Array(10).fill('x').join(', ')}]`);
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const outcome = await pull(`${lines.join('\n')}\n`);
    expect(outcome).toBeInstanceOf(InputError);
    expect((outcome as Error).message).toMatch(
      /^Chart\.yaml of chart web-0\.1\.0\.tgz refused: .*the limit max\w+ is \d+$/,
    );
  });

  it('refuses a Chart.yaml that is not valid YAML, or holds several documents, with an InputError naming it', async () => {
    const invalid = await pull('name: web\nversion: [0.1.0\n');
    expect(invalid).toBeInstanceOf(InputError);
    expect((invalid as Error).message).toMatch(
      /^Chart\.yaml of chart web-0\.1\.0\.tgz is not valid YAML/,
    );
    const several = await pull('name: web\nversion: 0.1.0\n---\nname: other\n');
    expect(several).toBeInstanceOf(InputError);
    expect((several as Error).message).toMatch(
      /^Chart\.yaml of chart web-0\.1\.0\.tgz holds more than one YAML document/,
    );
  });

  it('still pulls a chart whose Chart.yaml is of a real size', async () => {
    const pulled = await pull(chartYamlOf(20 * 1024));
    expect(pulled).not.toBeInstanceOf(Error);
    expect(pulled).toMatchObject({ name: 'web', version: '0.1.0' });
  });
});
