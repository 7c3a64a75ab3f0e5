import { act, screen, waitFor } from '@testing-library/react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { KUBECHART_CLUSTER_HEALTH_CHANNEL } from '@kubechart/plugin-kubechart-common';
import { FakeSignalApi } from '../../testUtils/fakeSignalApi';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { ResponseError } from '@backstage/errors';
import { kubechartApiRef } from '../../api';
import { makeClusterHealth, mockKubechartApi } from '../../testUtils/fixtures';
import { lightTheme } from '@backstage/theme';
import { ClusterHealthCard } from './ClusterHealthCard';

function render(api: ReturnType<typeof mockKubechartApi>) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <ClusterHealthCard />
    </TestApiProvider>,
  );
}

describe('ClusterHealthCard', () => {
  it('shows a progress bar while loading', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockReturnValue(new Promise(() => {}));
    render(api);
    expect(await screen.findByTestId('progress')).toBeInTheDocument();
  });

  it('shows every cluster with nodes, workloads and utilisation', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'degraded' },
    ]);
    api.getClusterHealth.mockResolvedValue(
      makeClusterHealth({
        alerts: [
          {
            type: 'node-not-ready',
            object: 'node-3',
            reason: 'NodeNotReady',
            message: 'kubelet stopped posting status',
          },
        ],
      }),
    );
    render(api);
    const panel = await screen.findByTestId('kubechart-cluster-dev');
    expect(panel).toHaveTextContent('Kubernetes v1.31.0');
    expect(panel).toHaveTextContent('Nodes ready: 2/3');
    expect(panel).toHaveTextContent('7 healthy, 1 degraded, 1 failed');
    expect(panel).toHaveTextContent(
      'shop/api (Deployment, 1/2) — degraded: CrashLoopBackOff',
    );
    expect(panel).toHaveTextContent(
      'shop/db (StatefulSet, 0/1) — failed: ImagePullBackOff',
    );
    expect(panel).not.toHaveTextContent('shop/web');
    expect(panel).toHaveTextContent(
      'Alert: node-3 — NodeNotReady: kubelet stopped posting status',
    );
    expect(panel).toHaveTextContent('CPU: 42%');
    expect(panel).toHaveTextContent('Memory: 81%');
    expect(panel).toHaveTextContent(/Updated [5-9] s ago/);
  });

  it('says how many nodes the utilisation leaves out (not Ready or cordoned)', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'degraded' },
    ]);
    api.getClusterHealth.mockResolvedValue(
      makeClusterHealth({
        utilisation: {
          cpu: 0.42,
          memory: 0.81,
          source: 'requests',
          excludedNodes: 2,
        },
      }),
    );
    render(api);
    const panel = await screen.findByTestId('kubechart-cluster-dev');
    expect(panel).toHaveTextContent(
      'CPU: 42% (requests, 2 nodes not Ready or cordoned left out)',
    );
    expect(panel).toHaveTextContent(
      'Memory: 81% (requests, 2 nodes not Ready or cordoned left out)',
    );
  });

  it('draws low use in the ok colour and high use in the warning colour', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'ok' },
    ]);
    // CPU 42 %, memory 81 %
    api.getClusterHealth.mockResolvedValue(makeClusterHealth({ status: 'ok' }));
    render(api);
    const cpu = await screen.findByLabelText('CPU 42%');
    const memory = screen.getByLabelText('Memory 81%');
    const strokes = (el: HTMLElement) =>
      Array.from(el.querySelectorAll('path')).map(p =>
        p.getAttribute('stroke'),
      );
    expect(strokes(cpu)).toContain(lightTheme.palette.status.ok);
    expect(strokes(memory)).toContain(lightTheme.palette.status.warning);
    expect(strokes(memory)).not.toContain(lightTheme.palette.status.ok);
  });

  it('shows an unreachable cluster with its error', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'ok' },
      { name: 'prod', url: 'https://prod', status: 'error' },
    ]);
    api.getClusterHealth.mockImplementation(async name =>
      name === 'prod'
        ? makeClusterHealth({
            cluster: 'prod',
            status: 'error',
            message: 'connect ECONNREFUSED 10.0.0.1:6443',
            observedAt: new Date(Date.now() - 120_000).toISOString(),
          })
        : makeClusterHealth({ status: 'ok' }),
    );
    render(api);
    const prod = await screen.findByTestId('kubechart-cluster-prod');
    expect(prod).toHaveTextContent('Cluster unreachable');
    expect(prod).toHaveTextContent('connect ECONNREFUSED 10.0.0.1:6443');
    expect(prod).toHaveTextContent(
      'Not reachable since this page was opened · checked 120 s ago',
    );
    expect(screen.getByTestId('kubechart-cluster-dev')).toHaveTextContent(
      'Nodes ready: 2/3',
    );
  });

  it('shows a cluster whose health request failed instead of a blank card', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'edge', url: 'https://edge', status: 'unknown' },
    ]);
    api.getClusterHealth.mockRejectedValue(
      await ResponseError.fromResponse(
        new Response('gateway timeout', {
          status: 504,
          statusText: 'Gateway Timeout',
        }),
      ),
    );
    render(api);
    const edge = await screen.findByTestId('kubechart-cluster-edge');
    expect(edge).toHaveTextContent('Cluster unreachable');
    expect(edge).toHaveTextContent('504');
  });

  it('shows the error when the cluster list cannot be read', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockRejectedValue(new Error('permission denied'));
    render(api);
    expect(
      await screen.findByText('Error: permission denied', { selector: 'h6' }),
    ).toBeInTheDocument();
  });

  it('says so when no cluster is configured', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([]);
    render(api);
    expect(
      await screen.findByText('No clusters are configured.'),
    ).toBeInTheDocument();
  });

  it('says since when the backend has not followed a cluster, also on a page opened after that', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'error' },
    ]);
    api.getClusterHealth.mockResolvedValue(
      makeClusterHealth({
        status: 'error',
        message: 'Kubernetes API of cluster "dev" answered 500: boom',
        observedAt: new Date().toISOString(),
        lastSeenAt: new Date(Date.now() - 125_000).toISOString(),
      }),
    );
    render(api);
    const panel = await screen.findByTestId('kubechart-cluster-dev');
    expect(panel).toHaveTextContent('answered 500: boom');
    expect(panel).toHaveTextContent(/Last seen 12\d s ago/);
    expect(panel).not.toHaveTextContent('Not reachable since this page');
  });

  it('says when a cluster that became unreachable was last seen', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    const seenAt = new Date(Date.now() - 42_000).toISOString();
    api.listClusters.mockResolvedValue([
      { name: 'dev', url: 'https://dev', status: 'ok' },
    ]);
    api.getClusterHealth
      .mockResolvedValueOnce(
        makeClusterHealth({ status: 'ok', observedAt: seenAt }),
      )
      .mockResolvedValue(
        makeClusterHealth({
          status: 'error',
          message: 'watch failed: connection reset',
          observedAt: new Date().toISOString(),
        }),
      );
    renderInTestApp(
      <TestApiProvider
        apis={[
          [kubechartApiRef, api],
          [signalApiRef, signals],
        ]}
      >
        <ClusterHealthCard />
      </TestApiProvider>,
    );
    expect(
      await screen.findByTestId('kubechart-cluster-dev'),
    ).toHaveTextContent('Nodes ready: 2/3');
    act(() =>
      signals.publish(KUBECHART_CLUSTER_HEALTH_CHANNEL, { type: 'refetch' }),
    );
    await waitFor(() =>
      expect(screen.getByTestId('kubechart-cluster-dev')).toHaveTextContent(
        'watch failed: connection reset',
      ),
    );
    expect(screen.getByTestId('kubechart-cluster-dev')).toHaveTextContent(
      /Last seen 4\d s ago/,
    );
  });
});
