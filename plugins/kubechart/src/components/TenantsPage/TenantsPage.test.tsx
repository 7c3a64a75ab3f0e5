import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { kubechartApiRef } from '../../api';
import { makeTenantHealth, mockKubechartApi } from '../../testUtils/fixtures';
import { TenantsPage } from './TenantsPage';

function render(api: ReturnType<typeof mockKubechartApi>) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <TenantsPage />
    </TestApiProvider>,
    {
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      apis: [mockApis.permission()],
    },
  );
}

describe('TenantsPage', () => {
  it('lists tenants with status, health, owner and a link to the history tab', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([
      {
        code: 'acme',
        displayName: 'Acme Corp',
        cluster: 'dev',
        namespace: 'acme',
        status: 'active',
        entityRef: 'system:default/acme',
        owner: 'group:default/team-a',
        releases: ['db', 'api', 'web'],
        createdAt: '2026-01-02T10:00:00Z',
      },
    ]);
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({ status: 'healthy' }),
    );
    render(api);
    const link = await screen.findByRole('link', { name: 'Acme Corp (acme)' });
    expect(link).toHaveAttribute(
      'href',
      '/catalog/default/system/acme/deployment-history',
    );
    const row = link.closest('tr')!;
    expect(row).toHaveTextContent('active');
    expect(row).toHaveTextContent('dev/acme');
    expect(row).toHaveTextContent('db, api, web');
    expect(row).toHaveTextContent('team-a');
    expect(await screen.findByText('healthy')).toBeInTheDocument();
    expect(api.getTenantHealth).toHaveBeenCalledWith('acme', 'dev');
  });

  it('shows a release without workloads by a readable label in the health tooltip', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([
      {
        code: 'acme',
        cluster: 'dev',
        namespace: 'acme',
        status: 'active',
        releases: ['web', 'config', 'extras'],
      },
    ]);
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        status: 'healthy',
        releases: [
          { name: 'web', readyPods: 2, totalPods: 2, status: 'healthy' },
          // An older backend says no reason.
          {
            name: 'config',
            readyPods: 0,
            totalPods: 0,
            status: 'no-workloads',
          },
          {
            name: 'extras',
            readyPods: 0,
            totalPods: 0,
            status: 'no-workloads',
            reason: 'no Deployment, StatefulSet or DaemonSet',
          },
        ],
      }),
    );
    render(api);
    await userEvent.hover(await screen.findByText('healthy'));
    const tooltip = await screen.findByRole('tooltip');
    expect(tooltip).toHaveTextContent(
      'web 2/2, config: no workloads, extras: no workloads (no Deployment, StatefulSet or DaemonSet)',
    );
    expect(tooltip).not.toHaveTextContent('no-workloads');
  });

  it('has a page heading and a link to the provisioning template, even before any tenant exists', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([]);
    render(api);
    expect(
      await screen.findByRole('heading', { name: 'Tenants', level: 1 }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('heading', {
        name: 'Everything provisioned by kubechart',
      }),
    ).toBeInTheDocument();
    expect(screen.getByText('Provision a tenant').closest('a')).toHaveAttribute(
      'href',
      '/create/templates/default/kubechart-tenant',
    );
  });

  it('shows an empty state without tenants', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([]);
    render(api);
    expect(await screen.findByText('No tenants yet')).toBeInTheDocument();
  });

  it('shows the error when the tenants cannot be read', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockRejectedValue(new Error('not allowed'));
    render(api);
    expect(
      await screen.findByText('Error: not allowed', { selector: 'h6' }),
    ).toBeInTheDocument();
  });
});
