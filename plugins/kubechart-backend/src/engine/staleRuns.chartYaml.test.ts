import { ConfigReader } from '@backstage/config';
import yaml from 'js-yaml';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requestedChart } from './staleRuns';
import { readEngineSettings } from './settings';

// Counts what js-yaml is asked to parse, so a refusal can be shown to come before any parsing.
jest.mock('js-yaml', () => {
  const actual = jest.requireActual('js-yaml');
  return {
    ...actual,
    load: jest.fn(actual.load),
    loadAll: jest.fn(actual.loadAll),
  };
});

/**
 * Reconciling a stale run reads the Chart.yaml of the local chart it asked for (to tell which chart
 * was deployed): untrusted text, read within the bounds a run reads it with (1 MiB, nodes, depth,
 * aliases). One it cannot read within them leaves the run's outcome unknown, with the reason.
 */
describe("a stale run's local chart: its Chart.yaml read within bounds", () => {
  let charts: string;
  beforeAll(async () => {
    charts = await fs.mkdtemp(path.join(os.tmpdir(), 'stale-chart-yaml-'));
  });
  afterAll(() => fs.rm(charts, { recursive: true, force: true }));
  beforeEach(() => {
    jest.mocked(yaml.load).mockClear();
    jest.mocked(yaml.loadAll).mockClear();
  });

  const chartDir = async (dir: string, chartYaml: string) => {
    await fs.mkdir(path.join(charts, dir, 'templates'), { recursive: true });
    await fs.writeFile(path.join(charts, dir, 'Chart.yaml'), chartYaml);
  };
  const requested = (chart: string) =>
    requestedChart(
      { name: 'web', chart, version: '0.1.0' },
      readEngineSettings(
        new ConfigReader({
          kubechart: { helm: { chartDirectories: [charts] } },
        }),
      ),
    );
  const metadata = 'apiVersion: v2\nname: web\nversion: 0.1.0\n';

  it('reads the name of a Chart.yaml of a real size', async () => {
    await chartDir('plain', metadata);
    expect(await requested('plain')).toEqual({ name: 'web', version: '0.1.0' });
  });

  it('refuses a Chart.yaml larger than 1 MiB before parsing it', async () => {
    const lines = [metadata, 'annotations:'];
    for (let i = 0; i < 200_000; i++) lines.push(`  k${i}: v`);
    await chartDir('large', lines.join('\n'));
    expect(await requested('large')).toBe(
      'its chart large cannot be read: Chart.yaml of chart large refused: larger than 1048576 bytes; the limit maxBytes is 1048576',
    );
    expect(yaml.load).not.toHaveBeenCalled();
    expect(yaml.loadAll).not.toHaveBeenCalled();
  });

  it('refuses a Chart.yaml whose aliases expand past the limits', async () => {
    const lines = [metadata, `a0: &a0 [${Array(10).fill('x').join(', ')}]`];
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    await chartDir('laughs', lines.join('\n'));
    expect(await requested('laughs')).toMatch(
      /^its chart laughs cannot be read: Chart\.yaml of chart laughs refused: .*the limit max\w+ is \d+$/,
    );
  });
});
