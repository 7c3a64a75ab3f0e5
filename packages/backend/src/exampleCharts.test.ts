import { HelmCli, PolicyEngine } from '@kubechart/plugin-kubechart-node';
import { resolve as resolvePath } from 'node:path';

const chartsDir = resolvePath(__dirname, '../../../examples/charts');

// The example templates install these charts; under the default, enforced policy they must pass,
// or `make start` would greet people with refused runs. Rendered with both helm majors users run.
describe.each(['helm3', 'helm4'])('example charts rendered by %s', binary => {
  const helm = new HelmCli({ binary });
  const policy = new PolicyEngine({ mode: 'enforce' });

  it.each([
    [
      'kubechart-service',
      { host: 'shop.example.com', env: { LOG_LEVEL: 'info' } },
    ],
    ['kubechart-postgres', {}],
  ])('%s passes the default chart policy', async (chart, values) => {
    const manifest = await helm.template({
      release: 'demo',
      namespace: 'tenant-demo',
      chart: resolvePath(chartsDir, chart),
      values,
    });
    const report = policy.checkYaml(manifest);
    expect(
      report.results.filter(r => !r.passed && r.severity === 'error'),
    ).toEqual([]);
    expect(report.blocking).toBe(false);
    expect(report.summary.objects).toBeGreaterThanOrEqual(3);
  });

  it('the policy refuses the service chart with an unpinned image', async () => {
    const manifest = await helm.template({
      release: 'demo',
      namespace: 'tenant-demo',
      chart: resolvePath(chartsDir, 'kubechart-service'),
      values: { image: { tag: 'latest' } },
    });
    const report = policy.checkYaml(manifest);
    expect(report.blocking).toBe(true);
    expect(report.results).toContainEqual(
      expect.objectContaining({ ruleId: 'image-tag', passed: false }),
    );
  });
});
