import { ConfigReader } from '@backstage/config';
import { ClusterRegistry } from './ClusterRegistry';

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
              url: 'https://dev.example.com',
              authProvider: 'serviceAccount',
              serviceAccountToken: 's3cret',
              skipTLSVerify: true,
            },
            {
              name: 'oidc',
              url: 'https://o.example.com',
              authProvider: 'oidc',
            },
          ],
        },
      ],
    },
  });
  const registry = ClusterRegistry.fromConfig(config);

  it('lists clusters without credentials', () => {
    expect(registry.list()).toEqual([
      { name: 'dev', url: 'https://dev.example.com' },
      { name: 'oidc', url: 'https://o.example.com' },
    ]);
    expect(JSON.stringify(registry.list())).not.toContain('s3cret');
  });

  it('builds a KubeConfig with the service account token', () => {
    const kc = registry.kubeConfig('dev');
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://dev.example.com',
      skipTLSVerify: true,
    });
    expect(kc.getCurrentUser()?.token).toBe('s3cret');
    expect(JSON.parse(registry.kubeconfigYaml('dev'))['current-context']).toBe(
      'dev',
    );
  });

  it('builds an impersonating KubeConfig that sends Impersonate-User', async () => {
    const kc = registry.kubeConfig('dev', {
      impersonate: 'system:serviceaccount:tenant-acme:kubechart-deployer',
    });
    expect(kc.getCurrentUser()?.token).toBe('s3cret');
    const opts: { headers?: Record<string, string> } = {};
    await kc.applyToHTTPSOptions(opts as any);
    expect(opts.headers?.['Impersonate-User']).toBe(
      'system:serviceaccount:tenant-acme:kubechart-deployer',
    );
    const plain: { headers?: Record<string, string> } = {};
    await registry.kubeConfig('dev').applyToHTTPSOptions(plain as any);
    expect(plain.headers?.['Impersonate-User']).toBeUndefined();
  });

  it('rejects unknown clusters and unsupported auth', () => {
    expect(() => registry.get('prod')).toThrow(
      'Unknown cluster "prod"; known clusters: dev, oidc',
    );
    expect(() => registry.kubeConfig('oidc')).toThrow(/needs serviceAccount/);
  });
});
