import { screen } from '@testing-library/react';
import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { kubechartApiRef } from '../api';
import {
  makeApproval,
  makeClusterHealth,
  makeEntity,
  makeRun,
  mockKubechartApi,
} from '../testUtils/fixtures';
import { homePageWidgetDataRef } from '@backstage/plugin-home-react/alpha';
import plugin from './plugin';
import { entityClusterHealthCard, tenantsPage } from './extensions';

describe('kubechart extensions', () => {
  it('lazy-loads the tenants page', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([]);
    const tester = createExtensionTester(tenantsPage);
    renderInTestApp(tester.reactElement(), {
      apis: [[kubechartApiRef, api]],
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    });
    expect(await screen.findByText('No tenants yet')).toBeInTheDocument();
  });

  it('lazy-loads the entity health card', async () => {
    const api = mockKubechartApi();
    api.getClusterHealth.mockResolvedValue(makeClusterHealth({ status: 'ok' }));
    const tester = createExtensionTester(entityClusterHealthCard);
    renderInTestApp(
      <EntityProvider entity={makeEntity({ 'kubechart.io/cluster': 'dev' })}>
        {tester.reactElement()}
      </EntityProvider>,
      { apis: [[kubechartApiRef, api]] },
    );
    expect(
      await screen.findByTestId('kubechart-cluster-dev'),
    ).toHaveTextContent('Nodes ready: 2/3');
  });

  it('provides the home page widget', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'ok' },
    ]);
    api.getClusterHealth.mockResolvedValue(makeClusterHealth({ status: 'ok' }));
    // Tested as installed by the plugin, so the widget has the id the app gives it.
    const widget = createExtensionTester(
      plugin.getExtension('home-page-widget:kubechart/cluster-health'),
    ).get(homePageWidgetDataRef);
    // The name the home page's defaultConfig uses (app-config.yaml, README).
    expect(widget.name).toBe('home-page-widget:kubechart/cluster-health');
    expect(widget.title).toBe('Cluster health');
    renderInTestApp(widget.component, { apis: [[kubechartApiRef, api]] });
    expect(
      await screen.findByTestId('kubechart-cluster-dev'),
    ).toHaveTextContent('Kubernetes v1.31.0');
  });

  it('provides the approvals home page widget', async () => {
    const api = mockKubechartApi();
    api.listApprovals.mockResolvedValue({
      items: [
        makeRun({
          id: 'run-9',
          status: 'awaiting-approval',
          approval: makeApproval(),
        }),
      ],
      truncated: false,
    });
    const widget = createExtensionTester(
      plugin.getExtension('home-page-widget:kubechart/approvals'),
    ).get(homePageWidgetDataRef);
    expect(widget.name).toBe('home-page-widget:kubechart/approvals');
    expect(widget.title).toBe('Approvals');
    renderInTestApp(widget.component, {
      apis: [[kubechartApiRef, api]],
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    });
    expect(await screen.findByRole('link', { name: 'run-9' })).toHaveAttribute(
      'href',
      '/kubechart/runs?run=run-9',
    );
  });
});
