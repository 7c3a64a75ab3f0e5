import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { makeClusterHealth } from '../../testUtils/fixtures';
import { ClusterProblems } from './ClusterProblems';

/**
 * a Warning Event a tenant writes in its namespace (reason and message are its own text)
 * is shown on the platform's cluster health card; its hidden characters show as markers.
 */
describe('ClusterProblems', () => {
  it('marks a direction override in a tenant-written warning event', async () => {
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: { healthy: 1, degraded: 0, failed: 0, items: [] },
          alerts: [
            {
              type: 'warning-event',
              namespace: 'tenant-shop',
              object: 'Pod/web-1',
              reason: 'BackOff',
              message: 'liveness ok \u202E0 :sedon ydaer-ton',
            },
          ],
          alertsTotal: 1,
        })}
      />,
    );
    expect(screen.getByText(/liveness ok/).textContent).toContain('⟨U+202E⟩');
  });
});
