import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveChartSource } from './resolveChartSource';

describe('resolveChartSource', () => {
  let root: string;
  let charts: string;
  let policy: { chartDirectories: string[]; allowedRepositories: string[] };
  beforeAll(async () => {
    root = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'chart-source-')),
    );
    charts = path.join(root, 'charts');
    await fs.mkdir(path.join(charts, 'web'), { recursive: true });
    await fs.writeFile(path.join(charts, 'web', 'Chart.yaml'), 'name: web\n');
    await fs.writeFile(path.join(charts, 'packed-1.0.0.tgz'), '');
    await fs.writeFile(path.join(charts, 'packed.tgz'), '');
    await fs.mkdir(path.join(root, 'outside'));
    await fs.writeFile(
      path.join(root, 'outside', 'Chart.yaml'),
      'name: outside\n',
    );
    await fs.symlink(path.join(root, 'outside'), path.join(charts, 'escape'));
    await fs.mkdir(path.join(charts, 'notachart'));
    policy = {
      chartDirectories: [charts],
      allowedRepositories: [
        'charts.example.com',
        'oci://ghcr.io/acme',
        'https://mirror.example.org/helm',
      ],
    };
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const refusal = async (ref: any, p = policy) => {
    const e = await resolveChartSource(ref, p).then(
      () => undefined,
      err => err,
    );
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  };

  it('resolves chart names inside the chart directories only', async () => {
    expect(
      await resolveChartSource({ chart: 'web', version: '1.0.0' }, policy),
    ).toEqual({
      type: 'directory',
      chart: path.join(charts, 'web'),
      version: '1.0.0',
    });
    expect(await resolveChartSource({ chart: 'packed' }, policy)).toEqual({
      type: 'directory',
      chart: path.join(charts, 'packed.tgz'),
      version: undefined,
    });
    expect(await refusal({ chart: '/etc' })).toMatch(
      /^Chart source refused \(chart-directory\): "\/etc" is a path/,
    );
    expect(await refusal({ chart: '../outside' })).toMatch(
      /\(chart-directory\).*must not contain "\.\."/,
    );
    expect(await refusal({ chart: 'web/../../outside' })).toMatch(
      /chart-directory/,
    );
    expect(await refusal({ chart: 'escape' })).toMatch(
      /\(chart-directory\): "escape" leads outside the chart directories/,
    );
    expect(await refusal({ chart: 'missing' })).toMatch(
      /chart "missing" is not in any of kubechart.helm.chartDirectories/,
    );
    expect(await refusal({ chart: 'notachart' })).toMatch(/has no Chart.yaml/);
    expect(await refusal({ chart: 'bitnami/nginx' })).toMatch(
      /chart-directory.*not a chart name/,
    );
    expect(
      await refusal({ chart: 'web' }, { ...policy, chartDirectories: [] }),
    ).toMatch(/no kubechart.helm.chartDirectories/);
  });

  it('takes https:// and oci:// repositories on allowed hosts only', async () => {
    expect(
      await resolveChartSource(
        {
          chart: 'nginx',
          repo: 'https://charts.example.com/stable',
          version: '15.1.0',
        },
        policy,
      ),
    ).toEqual({
      type: 'repository',
      chart: 'nginx',
      repo: 'https://charts.example.com/stable',
      version: '15.1.0',
    });
    expect(
      await resolveChartSource(
        { chart: 'oci://ghcr.io/acme/charts/web', version: '1.0.0' },
        policy,
      ),
    ).toMatchObject({ type: 'oci', chart: 'oci://ghcr.io/acme/charts/web' });
    expect(
      await resolveChartSource(
        { chart: 'web', repo: 'oci://ghcr.io/acme/charts' },
        policy,
      ),
    ).toMatchObject({ type: 'oci', chart: 'oci://ghcr.io/acme/charts/web' });
    expect(
      await resolveChartSource(
        { chart: 'x', repo: 'https://mirror.example.org/helm/stable' },
        policy,
      ),
    ).toMatchObject({ type: 'repository' });

    expect(
      await refusal({ chart: 'nginx', repo: 'http://charts.example.com' }),
    ).toMatch(/\(chart-repository-scheme\).*must use https:\/\/ or oci:\/\//);
    expect(
      await refusal({ chart: 'nginx', repo: 'https://169.254.169.254/latest' }),
    ).toMatch(
      /\(chart-repository-allowlist\): 169.254.169.254 is not in kubechart.helm.allowedRepositories/,
    );
    expect(await refusal({ chart: 'oci://ghcr.io/other/web' })).toMatch(
      /chart-repository-allowlist/,
    );
    expect(await refusal({ chart: 'oci://ghcr.io/acme-evil/web' })).toMatch(
      /chart-repository-allowlist/,
    );
    expect(
      await refusal({ chart: 'x', repo: 'https://mirror.example.org/helmet' }),
    ).toMatch(/chart-repository-allowlist/);
    expect(
      await refusal({
        chart: 'x',
        repo: 'https://charts.example.com.evil.io/',
      }),
    ).toMatch(/chart-repository-allowlist/);
    expect(
      await refusal({
        chart: 'nginx',
        repo: 'https://user:pw@charts.example.com',
      }),
    ).toMatch(/must not carry credentials/);
    expect(await refusal({ chart: 'file:///etc/passwd' })).toMatch(
      /chart-repository-scheme/,
    );
    expect(await refusal({ chart: 'nginx', repo: 'file:///tmp' })).toMatch(
      /chart-repository-scheme/,
    );
    expect(
      await refusal({ chart: '../x', repo: 'https://charts.example.com' }),
    ).toMatch(/plain chart name/);
    expect(
      await refusal({
        chart: 'nginx',
        repo: 'https://charts.example.com/a/../../b',
      }),
    ).toMatch(/chart-source-url|allowlist/);
    expect(await refusal({ chart: 'web', version: '1.0; rm -rf /' })).toMatch(
      /Invalid chart version/,
    );
  });
});
