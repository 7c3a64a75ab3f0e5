import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  ClusterRegistry,
  normalizeServerUrl,
} from '@kubechart/plugin-kubechart-node';
import { ConfigReader } from '@backstage/config';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const cluster = (name: string, url: string) => ({
  name,
  url,
  authProvider: 'serviceAccount',
});

describe('approval rules and a cluster configured under two names', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it('refuses to start when a protected API server is configured a second time under another name', async () => {
    const config = testConfig(sim, {
      approvals: {
        rules: [
          {
            name: 'production',
            clusters: ['dev'],
            namespaces: ['tenant-prod-*'],
            approvers: ['owner'],
          },
        ],
      },
    });
    // The same API server under a second name (a region alias, a name kept from a migration): its
    // runs would escape the rule, the tenant records and the locks kept for `dev`.
    const [dev] = config.kubernetes.clusterLocatorMethods[0].clusters;
    config.kubernetes.clusterLocatorMethods[0].clusters.push({
      ...dev,
      name: 'dev-alias',
    });
    await expect(
      createTestEngine({ databases, databaseId: 'SQLITE_3', sim, config }),
    ).rejects.toThrow(
      `Clusters "dev" and "dev-alias" are the same API server (${normalizeServerUrl(
        sim.url,
      )})`,
    );
  });

  it('tells the same server apart from spelling: scheme and host case, default port, trailing slash', () => {
    const read = (clusters: object[]) =>
      ClusterRegistry.fromConfig(
        new ConfigReader({
          kubernetes: { clusterLocatorMethods: [{ type: 'config', clusters }] },
        }),
      );
    expect(() =>
      read([
        cluster('dev', 'https://api.example.com'),
        cluster('dev-alias', 'HTTPS://API.Example.com:443/'),
      ]),
    ).toThrow(
      'Clusters "dev" and "dev-alias" are the same API server (https://api.example.com:443)',
    );
    expect(() =>
      read([
        cluster('a', 'http://10.0.0.1'),
        cluster('b', 'http://10.0.0.1:80'),
      ]),
    ).toThrow(/same API server \(http:\/\/10\.0\.0\.1:80\)/);
    // Other ports, hosts or paths are other servers.
    expect(
      read([
        cluster('dev', 'https://api.example.com'),
        cluster('prod', 'https://api.example.com:6443'),
        cluster('eu', 'https://eu.example.com'),
        cluster('proxied', 'https://proxy.example.com/k8s/dev'),
        cluster('proxied2', 'https://proxy.example.com/k8s/prod/'),
      ]).list(),
    ).toHaveLength(5);
  });
});
