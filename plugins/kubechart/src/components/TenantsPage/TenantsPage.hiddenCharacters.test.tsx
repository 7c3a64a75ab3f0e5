import { screen } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { kubechartApiRef } from '../../api';
import { makeTenantHealth, mockKubechartApi } from '../../testUtils/fixtures';
import { TenantsPage } from './TenantsPage';

/**
 * A tenant's display name is free text from its tenant run. A U+202E at its end reversed what
 * follows in the label, the tenant code itself: tenant `lanretni-stnemyap` was listed as
 * "Payments (payments-internal)". Tenants stored before the backend refused such names still
 * hold them: the page shows the character as a marker.
 */
describe('tenant display names and hidden characters', () => {
  it('does not let a display name reorder the tenant code shown after it', async () => {
    const api = mockKubechartApi();
    api.listTenants.mockResolvedValue([
      {
        code: 'lanretni-stnemyap',
        displayName: 'Payments \u202E',
        cluster: 'dev',
        namespace: 'lanretni-stnemyap',
        status: 'active',
        entityRef: 'system:default/lanretni-stnemyap',
        owner: 'group:default/team-evil',
        releases: ['web'],
        createdAt: '2026-01-02T10:00:00Z',
      },
    ]);
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({ status: 'healthy' }),
    );
    await renderInTestApp(
      <TestApiProvider apis={[[kubechartApiRef, api]]}>
        <TenantsPage />
      </TestApiProvider>,
      {
        mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
        apis: [mockApis.permission()],
      },
    );
    const cell = await screen.findByText(content =>
      content.includes('(lanretni-stnemyap)'),
    );
    expect(cell.closest('tr')!.textContent).not.toContain('\u202E');
    expect(cell.closest('tr')!.textContent).toContain(
      'Payments ⟨U+202E⟩ (lanretni-stnemyap)',
    );
  });
});
