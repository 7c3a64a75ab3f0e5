import {
  ConfigSchema,
  ConfigSources,
  loadConfigSchema,
  readEnvConfig,
} from '@backstage/config-loader';
import { ConfigReader, JsonValue } from '@backstage/config';
import { createConfigSecretEnumerator } from '@backstage/backend-defaults/rootConfig';
import { mockServices } from '@backstage/backend-test-utils';
import { resolve as resolvePath } from 'node:path';

const repoRoot = resolvePath(__dirname, '../../..');

async function readAppConfigs(files: string[]) {
  const source = ConfigSources.default({
    rootDir: repoRoot,
    argv: files.flatMap(f => ['--config', resolvePath(repoRoot, f)]),
    substitutionFunc: async name =>
      ({
        POSTGRES_HOST: '127.0.0.1',
        POSTGRES_PORT: '5432',
        POSTGRES_USER: 'postgres',
        POSTGRES_PASSWORD: 'example',
        GITHUB_TOKEN: 'example',
      }[name]),
  });
  const configs = [];
  for await (const { configs: loaded } of source.readConfigData()) {
    configs.push(...loaded);
    break;
  }
  return configs;
}

describe('example backend configuration', () => {
  // The schema comes from every package the example backend and app depend on, so this
  // catches a key that a plugin's config.d.ts does not know, or a value of the wrong type.
  let schema: Awaited<ReturnType<typeof loadConfigSchema>>;
  beforeAll(async () => {
    schema = await loadConfigSchema({
      dependencies: ['backend', 'app'],
      packagePaths: [resolvePath(repoRoot, 'package.json')],
    });
  }, 120_000);

  it.each([
    [['app-config.yaml']],
    [['app-config.yaml', 'app-config.production.yaml']],
  ])('%j validates against the plugins’ config schemas', async files => {
    const configs = await readAppConfigs(files);
    expect(() =>
      schema.process([...configs, ...readEnvConfig({})]),
    ).not.toThrow();
  });

  it('rejects a value of the wrong type', async () => {
    const configs = await readAppConfigs(['app-config.yaml']);
    const broken = {
      context: 'test',
      data: {
        kubernetes: {
          clusterLocatorMethods: [{ type: 'config', clusters: 'kube-sim' }],
        },
      },
    };
    expect(() => schema.process([...configs, broken])).toThrow(/clusters/);
  });

  it('points the Kubernetes plugin at the local kube-sim cluster by default', async () => {
    const config = ConfigReader.fromConfigs(
      await readAppConfigs(['app-config.yaml']),
    );
    const [locator] = config.getConfigArray('kubernetes.clusterLocatorMethods');
    expect(locator.getString('type')).toBe('config');
    const [cluster] = locator.getConfigArray('clusters');
    expect(cluster.getString('name')).toBe('kube-sim');
    expect(cluster.getString('url')).toBe('https://127.0.0.1:7443');
    expect(config.getString('backend.database.client')).toBe('better-sqlite3');
  });
});

describe('KubeChart config schemas without the Kubernetes backend plugin', () => {
  // What a Backstage that installs a KubeChart backend plugin but not
  // @backstage/plugin-kubernetes-backend knows of the config: only the
  // plugin's own config.d.ts declares `kubernetes.clusterLocatorMethods`.
  const schemaOf = (...packageJsonPaths: string[]) =>
    loadConfigSchema({
      dependencies: [],
      packagePaths: packageJsonPaths,
      excludePackageDependencies: true,
    });
  const pluginPackage = (dir: string) =>
    resolvePath(repoRoot, 'plugins', dir, 'package.json');
  const kubernetesBackendPackage = require.resolve(
    '@backstage/plugin-kubernetes-backend/package.json',
  );

  const clusterConfig = {
    kubernetes: {
      serviceLocatorMethod: { type: 'multiTenant' },
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            {
              name: 'prod',
              url: 'https://k8s.example.com',
              authProvider: 'serviceAccount',
              serviceAccountToken: 'sa-token-value',
              caData: 'ca-data-value',
              caFile: '/etc/kube/ca.pem',
            },
          ],
        },
      ],
    },
  };

  async function loggedSecrets(schema: ConfigSchema) {
    // The root logger redacts exactly what this enumerator finds.
    const enumerate = await createConfigSecretEnumerator({
      logger: mockServices.logger.mock(),
      schema,
    });
    return [...enumerate(new ConfigReader(clusterConfig))].sort();
  }

  it.each(['kubechart-backend', 'assistant-backend'])(
    'the %s plugin alone has cluster tokens and CA data redacted from logs',
    async dir => {
      const schema = await schemaOf(pluginPackage(dir));
      expect(await loggedSecrets(schema)).toEqual([
        '/etc/kube/ca.pem',
        'ca-data-value',
        'sa-token-value',
      ]);
    },
    120_000,
  );

  const kubechartSettings = (tenant: JsonValue, rules: JsonValue) => ({
    context: 'test',
    data: {
      kubechart: {
        tenant: { deployer: { serviceAccount: tenant } },
        approvals: { rules },
      },
    },
  });

  it('the assistant alone validates the KubeChart settings it reads', async () => {
    const schema = await schemaOf(pluginPackage('assistant-backend'));
    const validate = () =>
      schema.process([kubechartSettings({ name: 'deployer' }, 'production')]);
    expect(validate).toThrow(
      'must be string { type=string } at /kubechart/tenant/deployer/serviceAccount',
    );
    expect(validate).toThrow(
      'must be array { type=array } at /kubechart/approvals/rules',
    );
  }, 120_000);

  it('both plugins and the Kubernetes backend plugin declare the shared keys alike', async () => {
    const schema = await schemaOf(
      pluginPackage('kubechart-backend'),
      pluginPackage('assistant-backend'),
      kubernetesBackendPackage,
    );
    expect(() =>
      schema.process([
        { context: 'clusters', data: clusterConfig },
        kubechartSettings('deployer', [
          { name: 'production', clusters: ['prod'], tenants: ['shop'] },
        ]),
      ]),
    ).not.toThrow();
    expect(await loggedSecrets(schema)).toEqual([
      '/etc/kube/ca.pem',
      'ca-data-value',
      'sa-token-value',
    ]);
  }, 180_000);
});
