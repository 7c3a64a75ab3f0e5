import { act, screen, waitFor } from '@testing-library/react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { tenantHealthSignalChannel } from '@kubechart/plugin-kubechart-common';
import { FakeSignalApi } from '../../testUtils/fakeSignalApi';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { kubechartApiRef } from '../../api';
import {
  makeClusterHealth,
  makeEntity,
  makeTenantHealth,
  mockKubechartApi,
} from '../../testUtils/fixtures';
import { EntityClusterHealthCard } from './EntityClusterHealthCard';

function render(
  api: ReturnType<typeof mockKubechartApi>,
  annotations: Record<string, string>,
) {
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <EntityProvider entity={makeEntity(annotations)}>
        <EntityClusterHealthCard />
      </EntityProvider>
    </TestApiProvider>,
  );
}

describe('EntityClusterHealthCard', () => {
  it('shows only the clusters the entity points to', async () => {
    const api = mockKubechartApi();
    api.getClusterHealth.mockImplementation(async name =>
      makeClusterHealth({ cluster: name, status: 'ok' }),
    );
    render(api, { 'kubechart.io/cluster': 'dev, staging' });
    expect(
      await screen.findByTestId('kubechart-cluster-dev'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('kubechart-cluster-staging')).toBeInTheDocument();
    expect(api.listClusters).not.toHaveBeenCalled();
    expect(api.getClusterHealth.mock.calls.map(c => c[0])).toEqual([
      'dev',
      'staging',
    ]);
  });

  it('shows every cluster for an entity with only a kubernetes-id', async () => {
    const api = mockKubechartApi();
    api.listClusters.mockResolvedValue([
      { name: 'local', url: 'https://local', status: 'ok' },
    ]);
    api.getClusterHealth.mockResolvedValue(
      makeClusterHealth({ cluster: 'local', status: 'ok' }),
    );
    render(api, { 'backstage.io/kubernetes-id': 'shop' });
    expect(
      await screen.findByTestId('kubechart-cluster-local'),
    ).toBeInTheDocument();
  });

  it('shows a tenant per release with its quota use', async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(makeTenantHealth());
    render(api, {
      'kubechart.io/tenant': 'acme',
      'kubechart.io/cluster': 'dev',
    });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(screen.getByText('Tenant health')).toBeInTheDocument();
    expect(panel).toHaveTextContent('db: 1/1');
    expect(panel).toHaveTextContent('api: 0/2');
    expect(panel).toHaveTextContent('requests.cpu: 25% (1 / 4)');
    expect(panel).toHaveTextContent('requests.memory: 75% (6Gi / 8Gi)');
    expect(panel).toHaveTextContent('https://acme.example.test');
    expect(panel).toHaveTextContent(/Updated \d s ago/);
    expect(api.getTenantHealth).toHaveBeenCalledWith('acme', 'dev');
    expect(api.getClusterHealth).not.toHaveBeenCalled();
  });

  it("says a tenant's URLs are not known when the backend could not list them, rather than showing none", async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        urls: [],
        urlsError:
          'Ingresses: Kubernetes API of cluster "dev" answered 500: etcd timeout',
      }),
    );
    render(api, { 'kubechart.io/tenant': 'acme' });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(panel).toHaveTextContent(
      'URLs not known: Ingresses: Kubernetes API of cluster "dev" answered 500: etcd timeout',
    );
  });

  it('says why a release is not healthy, and shows releases scaled to zero or without workloads as they are', async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        status: 'degraded',
        releases: [
          {
            name: 'web',
            readyPods: 2,
            totalPods: 2,
            status: 'degraded',
            reason:
              'Deployment web: FailedCreate: pods "web-2-a" is forbidden: exceeded quota',
          },
          {
            name: 'idle',
            readyPods: 0,
            totalPods: 0,
            status: 'healthy',
            reason: 'scaled to zero',
          },
          {
            name: 'config',
            readyPods: 0,
            totalPods: 0,
            status: 'no-workloads',
            reason: 'no Deployment, StatefulSet or DaemonSet',
          },
        ],
      }),
    );
    render(api, { 'kubechart.io/tenant': 'acme' });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    const release = (name: string) =>
      screen.getByTestId(`kubechart-tenant-release-${name}`);
    expect(release('web')).toHaveTextContent('web: 2/2');
    expect(release('web')).toHaveTextContent('degraded');
    expect(release('web')).toHaveTextContent(
      'Deployment web: FailedCreate: pods "web-2-a" is forbidden: exceeded quota',
    );
    expect(release('idle')).toHaveTextContent('idle: 0/0');
    expect(release('idle')).toHaveTextContent('scaled to zero');
    expect(release('idle')).toHaveTextContent('healthy');
    expect(release('config')).toHaveTextContent('no workloads');
    expect(release('config')).not.toHaveTextContent('no-workloads');
    expect(release('config')).toHaveTextContent(
      'no Deployment, StatefulSet or DaemonSet',
    );
    expect(release('config')).not.toHaveTextContent('0/0');
    expect(panel).not.toHaveTextContent('unhealthy');
  });

  it("says a tenant's health is not known while the backend does not follow its cluster, and since when", async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        status: 'unknown',
        message:
          'The health cache of cluster dev does not follow the cluster: Kubernetes API of cluster "dev" answered 500: boom',
        releases: [],
        quota: { hard: {}, used: {} },
        urls: [],
        observedAt: new Date().toISOString(),
        lastSeenAt: new Date(Date.now() - 125_000).toISOString(),
      }),
    );
    render(api, { 'kubechart.io/tenant': 'acme' });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(panel).toHaveTextContent('Health not known');
    expect(panel).toHaveTextContent(
      'Kubernetes API of cluster "dev" answered 500: boom',
    );
    expect(panel).toHaveTextContent(/Last seen 12\d s ago/);
    expect(panel).not.toHaveTextContent(/Updated/);
    expect(panel).not.toHaveTextContent('healthy');
  });

  it('says why a tenant is unhealthy when its namespace is gone, though no release says so', async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        status: 'unhealthy',
        message: 'namespace acme does not exist',
        releases: [
          {
            name: 'web',
            readyPods: 0,
            totalPods: 0,
            status: 'no-workloads',
            reason: 'no Deployment, StatefulSet or DaemonSet',
          },
        ],
        quota: { hard: {}, used: {} },
        urls: [],
        observedAt: new Date().toISOString(),
      }),
    );
    render(api, { 'kubechart.io/tenant': 'acme' });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(panel).toHaveTextContent('namespace acme does not exist');
    expect(panel).not.toHaveTextContent('Health not known');
  });

  it('gives no last-seen time for a tenant whose cluster the backend never reached', async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockResolvedValue(
      makeTenantHealth({
        status: 'unknown',
        message:
          'The health cache of cluster dev does not follow the cluster: Kubernetes API of cluster "dev" is not reachable',
        releases: [],
        quota: { hard: {}, used: {} },
        urls: [],
        // When the answer holds, not when the cluster was last seen.
        observedAt: new Date(Date.now() - 300_000).toISOString(),
      }),
    );
    render(api, { 'kubechart.io/tenant': 'acme' });
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(panel).toHaveTextContent('Health not known');
    expect(panel).toHaveTextContent(
      'The backend has not followed this cluster since it started',
    );
    expect(panel).not.toHaveTextContent(/Last seen/);
  });

  it('reads the tenant health again when its channel says it changed', async () => {
    const api = mockKubechartApi();
    const signals = new FakeSignalApi();
    api.getTenantHealth
      .mockResolvedValueOnce(makeTenantHealth({ status: 'degraded' }))
      .mockResolvedValue(
        makeTenantHealth({
          status: 'healthy',
          releases: [
            { name: 'db', readyPods: 1, totalPods: 1, status: 'healthy' },
            { name: 'api', readyPods: 2, totalPods: 2, status: 'healthy' },
          ],
        }),
      );
    renderInTestApp(
      <TestApiProvider
        apis={[
          [kubechartApiRef, api],
          [signalApiRef, signals],
        ]}
      >
        <EntityProvider entity={makeEntity({ 'kubechart.io/tenant': 'acme' })}>
          <EntityClusterHealthCard />
        </EntityProvider>
      </TestApiProvider>,
    );
    const panel = await screen.findByTestId('kubechart-tenant-acme');
    expect(panel).toHaveTextContent('api: 0/2');
    await waitFor(() =>
      expect(signals.subscriberCount(tenantHealthSignalChannel('acme'))).toBe(
        1,
      ),
    );
    // The channel tells only that there is something to read again, through the API.
    act(() =>
      signals.publish(tenantHealthSignalChannel('acme'), { type: 'refetch' }),
    );
    await waitFor(() =>
      expect(screen.getByTestId('kubechart-tenant-acme')).toHaveTextContent(
        'api: 2/2',
      ),
    );
    expect(api.getTenantHealth).toHaveBeenCalledTimes(2);
  });

  it('shows the error when the tenant health cannot be read', async () => {
    const api = mockKubechartApi();
    api.getTenantHealth.mockRejectedValue(new Error('Tenant acme not found'));
    render(api, { 'kubechart.io/tenant': 'acme' });
    expect(
      await screen.findByText('Error: Tenant acme not found', {
        selector: 'h6',
      }),
    ).toBeInTheDocument();
  });
});
