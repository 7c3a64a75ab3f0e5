import { screen, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type {
  PolicyReport,
  PolicyResult,
} from '@kubechart/plugin-kubechart-common';
import { PolicyReportTable } from './PolicyReportTable';

const result = (over: Partial<PolicyResult>): PolicyResult => ({
  ruleId: 'resources-limits',
  severity: 'error',
  passed: true,
  object: { kind: 'Deployment', name: 'web', namespace: 'tenant-shop' },
  message: 'containers have limits',
  fix: 'set resources.limits',
  ...over,
});

const tenantReport: PolicyReport = {
  mode: 'enforce',
  passed: true,
  blocking: false,
  summary: { objects: 4, errors: 0, warnings: 1, infos: 0, exempted: 1 },
  charts: [
    {
      release: 'web',
      chart: 'webapp',
      version: '0.1.0',
      digest: `sha256:${'a'.repeat(64)}`,
      source: 'webapp',
    },
    {
      release: 'exporter',
      chart: 'node-exporter',
      version: '4.2.0',
      digest: `sha256:${'b'.repeat(64)}`,
      source: 'node-exporter from https://charts.example.com/stable',
    },
  ],
  results: [
    result({ release: 'web' }),
    result({
      release: 'web',
      ruleId: 'unknown-value',
      severity: 'warning',
      passed: false,
      object: { kind: 'Chart', name: 'webapp' },
      message: 'value `privileged` is not used by chart webapp',
    }),
    result({
      release: 'exporter',
      ruleId: 'host-path',
      passed: false,
      object: {
        kind: 'DaemonSet',
        name: 'node-exporter',
        namespace: 'tenant-shop',
      },
      message: 'volume "proc" mounts hostPath /proc',
      exempt: {
        reason: 'node metrics need /proc (platform team, ticket OPS-12)',
      },
    }),
    result({
      release: 'exporter',
      object: {
        kind: 'DaemonSet',
        name: 'node-exporter',
        namespace: 'tenant-shop',
      },
    }),
  ],
};

describe('PolicyReportTable', () => {
  it("groups a tenant run's report by release, each with its chart and digest", async () => {
    await renderInTestApp(<PolicyReportTable report={tenantReport} />);
    expect(screen.getByText('Policy report')).toBeInTheDocument();
    expect(
      screen.getByText(
        'mode enforce · passed · 0 errors, 1 warnings, 1 exempted, 4 objects',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('Release web')).toBeInTheDocument();
    expect(screen.getByText('Release exporter')).toBeInTheDocument();
    expect(
      screen.getByText(
        `chart webapp 0.1.0 · sha256:${'a'.repeat(64)} · webapp`,
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        `chart node-exporter 4.2.0 · sha256:${'b'.repeat(
          64,
        )} · node-exporter from https://charts.example.com/stable`,
      ),
    ).toBeInTheDocument();
    // Each release's table holds only its own objects.
    const tables = screen.getAllByRole('table');
    const webTable = tables.find(t =>
      within(t).queryByText('Deployment/tenant-shop/web'),
    )!;
    expect(within(webTable).queryByText(/DaemonSet/)).toBeNull();
    expect(
      within(webTable).getByText(
        'value `privileged` is not used by chart webapp',
      ),
    ).toBeInTheDocument();
  });

  it('shows an exempted result as exempt, with the reason of its exception, after the failures', async () => {
    await renderInTestApp(<PolicyReportTable report={tenantReport} />);
    const rows = screen
      .getAllByRole('row')
      .filter(r =>
        within(r).queryByText(/DaemonSet\/tenant-shop\/node-exporter/),
      );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('host-path');
    expect(rows[0]).toHaveTextContent('exempt');
    expect(rows[0]).toHaveTextContent(
      'Exempted: node metrics need /proc (platform team, ticket OPS-12)',
    );
    expect(rows[1]).toHaveTextContent('resources-limits');
    expect(rows[1]).not.toHaveTextContent('Exempted');
  });

  it('shows a report without releases (a manifests run) as one table', async () => {
    await renderInTestApp(
      <PolicyReportTable
        report={{
          ...tenantReport,
          charts: undefined,
          results: tenantReport.results.map(({ release, ...r }) => r),
        }}
      />,
    );
    expect(screen.queryByText(/^Release /)).toBeNull();
    expect(screen.getAllByRole('table')).toHaveLength(1);
    expect(
      screen.getByText(
        'Exempted: node metrics need /proc (platform team, ticket OPS-12)',
      ),
    ).toBeInTheDocument();
  });
});
