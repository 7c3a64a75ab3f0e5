import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type {
  HealthAlert,
  WorkloadHealth,
} from '@kubechart/plugin-kubechart-common';
import { makeClusterHealth } from '../../testUtils/fixtures';
import { ClusterProblems } from './ClusterProblems';

const workload = (
  name: string,
  status: WorkloadHealth['status'],
): WorkloadHealth => ({
  kind: 'Deployment',
  namespace: 'flood',
  name,
  ready: 0,
  desired: 1,
  status,
  reason: status === 'failed' ? 'CrashLoopBackOff' : '0/1 ready',
});

/**
 * The backend names at most the 50 worst workloads behind, and counts every one: the card says how
 * many it does not name.
 */
describe('ClusterProblems', () => {
  it('names the workloads it was given and says how many more are unhealthy', async () => {
    const items = [
      ...['a', 'b', 'c'].map(n => workload(`crash-${n}`, 'failed')),
      ...Array.from({ length: 47 }, (_, i) =>
        workload(`pending-${i}`, 'degraded'),
      ),
    ];
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: { healthy: 12, degraded: 2_000, failed: 3, items },
        })}
      />,
    );
    expect(screen.getAllByRole('listitem')).toHaveLength(51);
    expect(
      screen.getByText(
        'flood/crash-a (Deployment, 0/1) — failed: CrashLoopBackOff',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('… and 1953 more unhealthy workloads.'),
    ).toBeInTheDocument();
  });

  it('says nothing more when every unhealthy workload is named', async () => {
    await renderInTestApp(<ClusterProblems health={makeClusterHealth()} />);
    expect(screen.getAllByRole('listitem')).toHaveLength(2);
    expect(screen.queryByText(/more unhealthy workloads/)).toBeNull();
    expect(screen.queryByText(/more alerts?\./)).toBeNull();
  });

  it('shows the first alerts and says how many more there are', async () => {
    const alerts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        type: 'warning-event' as const,
        namespace: 'flood',
        object: `Pod/p-${i}`,
        reason: 'BackOff',
        message: 'restarting',
      }));
    const workloads = { healthy: 3, degraded: 0, failed: 0, items: [] };
    const { unmount } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({ workloads, alerts: alerts(12) })}
      />,
    );
    expect(screen.getAllByText(/^Alert: /)).toHaveLength(5);
    expect(screen.getByText('… and 7 more alerts.')).toBeInTheDocument();
    unmount();

    const { unmount: unmount2 } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({ workloads, alerts: alerts(6) })}
      />,
    );
    expect(screen.getByText('… and 1 more alert.')).toBeInTheDocument();
    unmount2();

    // The backend sends the first 50 and how many there are in all.
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads,
          alerts: alerts(50),
          alertsTotal: 1_234,
        })}
      />,
    );
    expect(screen.getAllByText(/^Alert: /)).toHaveLength(5);
    expect(screen.getByText('… and 1229 more alerts.')).toBeInTheDocument();
  });

  it('labels a failing pod by what fails: a missing ConfigMap is a config error, not an image pull', async () => {
    const podAlert = (
      name: string,
      type: HealthAlert['type'],
      reason: string,
    ): HealthAlert => ({
      type,
      namespace: 'shop',
      object: `Pod/${name}`,
      reason,
      message: `pod ${name} container app: ${reason}`,
    });
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: { healthy: 3, degraded: 0, failed: 0, items: [] },
          alerts: [
            podAlert('cfg', 'config-error', 'CreateContainerConfigError'),
            podAlert('pull', 'image-pull', 'ImagePullBackOff'),
            podAlert('loop', 'crash-loop', 'CrashLoopBackOff'),
            podAlert('run', 'container-failing', 'RunContainerError'),
            {
              type: 'warning-event',
              namespace: 'shop',
              object: 'Pod/cfg',
              reason: 'Failed',
              message: 'Error: configmap "app-config" not found',
            },
          ],
        })}
      />,
    );
    const texts = screen.getAllByText(/^Alert: /).map(e => e.textContent);
    expect(texts).toEqual([
      'Alert: shop/Pod/cfg — config error (CreateContainerConfigError): pod cfg container app: CreateContainerConfigError',
      'Alert: shop/Pod/pull — image pull failure (ImagePullBackOff): pod pull container app: ImagePullBackOff',
      'Alert: shop/Pod/loop — crash loop (CrashLoopBackOff): pod loop container app: CrashLoopBackOff',
      'Alert: shop/Pod/run — container failing (RunContainerError): pod run container app: RunContainerError',
      'Alert: shop/Pod/cfg — Failed: Error: configmap "app-config" not found',
    ]);
  });

  it('says how many of the workloads it does not name are in namespaces the user cannot read', async () => {
    const mine = [workload('crash-a', 'failed')];
    const { unmount } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: {
            healthy: 2,
            degraded: 1,
            failed: 3,
            items: mine,
            hidden: 3,
          },
          alerts: [],
        })}
      />,
    );
    expect(
      screen.getByText(
        'flood/crash-a (Deployment, 0/1) — failed: CrashLoopBackOff',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        '… and 3 more unhealthy workloads in namespaces you cannot read.',
      ),
    ).toBeInTheDocument();
    expect(screen.getAllByRole('listitem')).toHaveLength(2);
    unmount();

    const { unmount: unmount2 } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: {
            healthy: 2,
            degraded: 0,
            failed: 1,
            items: [],
            hidden: 1,
          },
          alerts: [],
        })}
      />,
    );
    expect(
      screen.getByText(
        '… and 1 more unhealthy workload in a namespace you cannot read.',
      ),
    ).toBeInTheDocument();
    unmount2();

    // Beyond the 50 worst the backend names, it cannot say whose the others are.
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads: {
            healthy: 2,
            degraded: 2_000,
            failed: 3,
            items: Array.from({ length: 40 }, (_, i) =>
              workload(`pending-${i}`, 'degraded'),
            ),
            hidden: 10,
          },
          alerts: [],
        })}
      />,
    );
    expect(
      screen.getByText(
        '… and 1963 more unhealthy workloads, at least 10 of them in namespaces you cannot read.',
      ),
    ).toBeInTheDocument();
  });

  it('says how many of the alerts it does not show are in namespaces the user cannot read', async () => {
    const alerts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        type: 'warning-event' as const,
        namespace: 'flood',
        object: `Pod/p-${i}`,
        reason: 'BackOff',
        message: 'restarting',
      }));
    const workloads = { healthy: 3, degraded: 0, failed: 0, items: [] };
    // Every alert in another team's namespace: the card still says there are some.
    const { unmount } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads,
          alerts: [],
          alertsHidden: 12,
          alertsTotal: 12,
        })}
      />,
    );
    expect(
      screen.getByText('… and 12 more alerts in namespaces you cannot read.'),
    ).toBeInTheDocument();
    expect(screen.queryAllByText(/^Alert: /)).toHaveLength(0);
    unmount();

    const { unmount: unmount2 } = await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads,
          alerts: alerts(8),
          alertsHidden: 4,
          alertsTotal: 12,
        })}
      />,
    );
    expect(screen.getAllByText(/^Alert: /)).toHaveLength(5);
    expect(
      screen.getByText(
        '… and 7 more alerts, 4 of them in namespaces you cannot read.',
      ),
    ).toBeInTheDocument();
    unmount2();

    // Beyond the first 50 the backend names, it cannot say whose the others are.
    await renderInTestApp(
      <ClusterProblems
        health={makeClusterHealth({
          workloads,
          alerts: alerts(30),
          alertsHidden: 20,
          alertsTotal: 500,
        })}
      />,
    );
    expect(
      screen.getByText(
        '… and 495 more alerts, at least 20 of them in namespaces you cannot read.',
      ),
    ).toBeInTheDocument();
  });
});
