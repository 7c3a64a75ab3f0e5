import { ConfigReader } from '@backstage/config';
import { ClusterRegistry } from './clusters';

const config = (rules: object[]) =>
  new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            { name: 'dev', url: 'https://api.example.com' },
            { name: 'dev-alias', url: 'HTTPS://API.example.com:443/' },
          ],
        },
      ],
    },
    kubechart: { approvals: { rules } },
  });

describe('a cluster configured under two names', () => {
  it('is refused at start-up while KubeChart approval rules name clusters', () => {
    expect(() =>
      ClusterRegistry.fromConfig(
        config([{ name: 'production', clusters: ['dev'], namespaces: ['p'] }]),
      ),
    ).toThrow(
      'Clusters "dev" and "dev-alias" are the same API server (https://api.example.com:443)',
    );
  });

  it('is accepted without approval rules', () => {
    expect(ClusterRegistry.fromConfig(config([])).names()).toEqual([
      'dev',
      'dev-alias',
    ]);
  });
});
