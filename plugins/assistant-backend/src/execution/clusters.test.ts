import { ConfigReader } from '@backstage/config';
import { ClusterRegistry } from './clusters';

describe('ClusterRegistry', () => {
  const config = new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        { type: 'catalog' },
        {
          type: 'config',
          clusters: [
            {
              name: 'dev',
              url: 'https://dev.example:6443',
              serviceAccountToken: 't',
              skipTLSVerify: true,
            },
            { name: 'prod', url: 'https://prod.example:6443' },
          ],
        },
      ],
    },
  });

  it('reads the clusters of the Kubernetes plugin config', () => {
    const registry = ClusterRegistry.fromConfig(config);
    expect(registry.names()).toEqual(['dev', 'prod']);
    expect(registry.defaultName()).toBe('dev');
    const kc = registry.kubeConfig('prod');
    expect(kc.getCurrentCluster()?.server).toBe('https://prod.example:6443');
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBe(false);
    expect(registry.kubeConfig(undefined).getCurrentUser()?.token).toBe('t');
  });

  it('refuses unknown clusters', () => {
    expect(() => ClusterRegistry.fromConfig(config).kubeConfig('nope')).toThrow(
      'No cluster named "nope" is configured',
    );
    expect(() => new ClusterRegistry([]).kubeConfig(undefined)).toThrow(
      /No Kubernetes cluster is configured/,
    );
  });
});
