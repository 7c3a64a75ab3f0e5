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
  makeClusterHealth,
  makeEntity,
  mockKubechartApi,
} from '../testUtils/fixtures';
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
});
