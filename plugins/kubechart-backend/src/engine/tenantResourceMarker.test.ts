import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { KubeObject } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * The tenant resources KubeChart keeps (a chart may not write them) are marked for the other
 * plugins that must not change them: the assistant's guard reads `kubechart.io/tenant-resource`.
 * A platform team's provider objects were applied with the tenant's label only, so the assistant
 * scaled or deleted them.
 */
describe('tenant resources of a provider', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim?.stop());

  it('carry the marker the assistant reads, as kubechart-default-deny does', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      tenantResources: [
        {
          name: 'platform',
          resources: () => [
            {
              apiVersion: 'networking.k8s.io/v1',
              kind: 'NetworkPolicy',
              metadata: { name: 'platform-egress-deny' },
              spec: { podSelector: {}, policyTypes: ['Egress'] },
            } as KubeObject,
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'platform-agent' },
              spec: {
                replicas: 1,
                selector: { matchLabels: { app: 'platform-agent' } },
                template: {
                  metadata: { labels: { app: 'platform-agent' } },
                  spec: {
                    containers: [
                      {
                        name: 'agent',
                        image: 'registry.example.com/platform/agent:1.0.0',
                      },
                    ],
                  },
                },
              },
            } as KubeObject,
          ],
        },
      ],
    });
    const started = await engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: 'mrk', releases: [] } as any,
      'user:default/alice',
    );
    await engine.waitFor(started.id);
    const run = (await store.getRun(started.id))!;
    expect([run.status, run.failureReason]).toEqual(['succeeded', undefined]);
    const config = clusters.kubeConfig('dev');
    const net = config.makeApiClient(NetworkingV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    const namespace = 'tenant-mrk';
    const builtIn = await net.readNamespacedNetworkPolicy({
      namespace,
      name: 'kubechart-default-deny',
    });
    expect(builtIn.metadata?.annotations).toMatchObject({
      'kubechart.io/tenant-resource': 'true',
    });
    const policy = await net.readNamespacedNetworkPolicy({
      namespace,
      name: 'platform-egress-deny',
    });
    const agent = await apps.readNamespacedDeployment({
      namespace,
      name: 'platform-agent',
    });
    expect(policy.metadata?.annotations ?? {}).toMatchObject({
      'kubechart.io/tenant-resource': 'true',
    });
    expect(agent.metadata?.annotations ?? {}).toMatchObject({
      'kubechart.io/tenant-resource': 'true',
    });
  });
});
