import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { makeClusterHealth } from '../../testUtils/fixtures';
import { ClusterHealthPanel } from './ClusterHealthPanel';

/**
 * A health observed "in the future" (the backend's clock ahead of the browser's) is not
 * shown as "Updated 0 s ago": that reads as fresh for as long as the clocks differ, however stale
 * the health is. It says the time lies ahead and that its age is not known.
 */
describe('ClusterHealthPanel with the server clock ahead', () => {
  it('does not call a health observed 10 minutes ahead of the browser clock fresh', async () => {
    const observedAt = new Date(Date.now() + 10 * 60_000).toISOString();
    await renderInTestApp(
      <ClusterHealthPanel
        result={{
          cluster: 'prod',
          health: makeClusterHealth({ cluster: 'prod', observedAt }),
        }}
      />,
    );
    expect(screen.queryByText(/Updated 0 s ago/)).toBeNull();
    expect(
      screen.getByText(/^Updated in 600 s: the server clock is ahead/),
    ).toBeInTheDocument();
  });

  it('still says "N s ago" for a health observed in the past', async () => {
    const observedAt = new Date(Date.now() - 30_000).toISOString();
    await renderInTestApp(
      <ClusterHealthPanel
        result={{
          cluster: 'prod',
          health: makeClusterHealth({ cluster: 'prod', observedAt }),
        }}
      />,
    );
    expect(screen.getByText('Updated 30 s ago')).toBeInTheDocument();
  });
});
