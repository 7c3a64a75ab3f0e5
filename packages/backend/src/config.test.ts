import {
  ConfigSources,
  loadConfigSchema,
  readEnvConfig,
} from '@backstage/config-loader';
import { ConfigReader } from '@backstage/config';
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
